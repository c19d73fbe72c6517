/**
 * The promises declared during a run: a definition's own (`promises`,
 * `static`) come into force with its first attempt, those a task declares
 * with `ctx.promise` when it calls it. Each is checked (`promiseProblem`)
 * before it is committed; a refused one becomes the task's error. An attempt
 * that runs again (a retry, a replay, a resumed run) declares again what an
 * earlier one did: those stay in force once. A declared `MaxParallelism`
 * counts the instances in its scope that are running already.
 */
import type { Json } from "../events/codec.ts";
import { canonicalJson } from "../events/input-hash.ts";
import type { PromiseSpec } from "../events/types.ts";
import type { Plan } from "../plan/plan.ts";
import { declaredPromises, ownsDefinitionPromises, promiseProblem } from "../promises/declared.ts";
import { capsFor } from "../promises/validate.ts";
import type { AnyTask } from "../task/define.ts";
import type { LiveTask } from "./attempts.ts";
import { deferError } from "./attempts.ts";
import type { RunParts } from "./run-parts.ts";

export class Declarations {
  readonly #run: RunParts;
  readonly #plan: Plan;
  /** The last promise id given. */
  #pid = 0;
  /** A resumed run, whose log may have lost a definition's promises (cut before they were written). */
  #resumed = false;

  constructor(run: RunParts) {
    this.#run = run;
    this.#plan = run.plan;
  }

  /** The run continues from its log (`resume`): ids continue after the log's promises. */
  continueFromLog(): void {
    this.#resumed = true;
    for (const p of this.#plan.promises) this.#pid = Math.max(this.#pid, p.pid);
  }

  /** The promises of `def` as attempt `live` starts: declared by its first attempt, or again by a resumed run whose log lost them. */
  atStart(live: LiveTask, def: AnyTask): void {
    if (def.promises.length === 0 && !def.static) return;
    if (live.attempt !== 1 && !(this.#resumed && !ownsDefinitionPromises(this.#plan, live.node.id))) return;
    for (const { spec, source } of declaredPromises(def)) this.#declareChecked(live, source, spec);
  }

  /** `ctx.promise(...)` of the attempt `live`. */
  declare(live: LiveTask, promises: readonly PromiseSpec[]): void {
    for (const spec of promises) {
      if (live.attempt > 1 && this.#declaredBefore(live.node.id, spec)) continue;
      this.#declareChecked(live, "context", spec);
    }
  }

  #declaredBefore(owner: string, spec: PromiseSpec): boolean {
    const own = this.#plan.promisesByOwner.get(owner);
    if (own === undefined) return false;
    const text = canonicalJson(spec as unknown as Json);
    return own.some((p) => p.source === "context" && canonicalJson(p.spec as unknown as Json) === text);
  }

  /** Commits a promise, or keeps its error for the task. A MaxParallelism also counts the instances in its scope running now. */
  #declareChecked(live: LiveTask, source: "definition" | "context" | "static", spec: PromiseSpec): void {
    const run = this.#run;
    const error = promiseProblem(spec, (name) => run.options.registry.has(name));
    if (error) return deferError(live, error);
    run.log.commit("promise.declared", { pid: ++this.#pid, owner: live.node.id, source, promise: spec });
    if (spec.kind !== "MaxParallelism") return;
    for (const [id] of run.attempts.holdingSlots()) run.scheduler.adopt(id, capsFor(this.#plan, id));
  }
}
