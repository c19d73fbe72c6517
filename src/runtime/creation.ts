/**
 * How the plan grows: an instance is created (`task.created`, its lineage
 * and data edges, the preview of the children its definition declares) and
 * queued when ready, or skipped at once when a producer already died. A
 * spawn is checked first: `checkSpawn` (plan/diff.ts) refuses it or finds
 * the logged child a re-executed parent repeats, and when the run has
 * promises its diff is validated (promises/validate.ts). A broken promise is
 * logged; under `reject` or `warn` its error goes to the task, under `halt`
 * the engine stops the run.
 */
import { TrellisError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import { InputsHasher } from "../events/input-hash.ts";
import { checkSpawn, mergeLabels, spawnDiff } from "../plan/diff.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { nextOpenPlaceholder } from "../plan/plan.ts";
import { expandPreview } from "../preview/placeholders.ts";
import { validateDiff, violationError } from "../promises/validate.ts";
import { deadProducer } from "../scheduler/readiness.ts";
import type { AnyTask } from "../task/define.ts";
import type { LiveTask } from "./attempts.ts";
import { deferError } from "./attempts.ts";
import type { SpawnRequest } from "./executor.ts";
import type { Outcomes } from "./outcomes.ts";
import type { RunParts } from "./run-parts.ts";

/** A spawn broke a promise under the `halt` policy: the run stops. */
export interface Halt {
  readonly error: TrellisError;
  /** The reason every unfinished instance is cancelled with. */
  readonly reason: string;
}

/** What a spawn did: created the child; nothing (refused, its error kept for the task; or a repeat of a logged child); or halt the run. */
export type Spawned = "created" | "none" | Halt;

export class Creation {
  readonly #run: RunParts;
  readonly #plan: Plan;
  readonly #outcomes: Outcomes;
  readonly #hasher = new InputsHasher();

  constructor(run: RunParts, outcomes: Outcomes) {
    this.#run = run;
    this.#plan = run.plan;
    this.#outcomes = outcomes;
  }

  /** The spawn `req` of the attempt `live`: checked, validated against the run's promises, then created. */
  spawn(live: LiveTask, req: SpawnRequest): Spawned {
    const plan = this.#plan;
    const { options, log } = this.#run;
    const parent = live.node;
    const by = parent.id;
    const hash = this.#hasher.hash(req.inputs);
    const def = checkSpawn(
      plan,
      options.registry,
      by,
      live.attempt,
      { id: req.id, task: req.task, producers: req.producers, inputsHash: hash },
      live.replays > 0,
    );
    if (def === "repeat") return "none"; // a retried, replayed or resumed attempt spawns the same ids again: keep the earlier child
    if (def instanceof TrellisError) {
      deferError(live, def);
      return "none";
    }
    const labels = mergeLabels(def.labels, req.labels);
    const placeholder = nextOpenPlaceholder(plan, by, def.name)?.id ?? null;
    // No promise anywhere in the run: nothing to validate, skip building the diff.
    if (plan.promises.length > 0) {
      const diff = spawnDiff(plan, parent, {
        id: req.id,
        task: def.name,
        producers: req.producers,
        labels,
        placeholder,
      });
      const violation = validateDiff(plan, diff);
      if (violation) {
        const { promise: p, details } = violation;
        log.commit("promise.violated", {
          pid: p.pid,
          promise: p.spec.kind,
          spec: p.spec,
          owner: p.owner,
          by,
          diff,
          details,
          policy: options.onViolation,
        });
        const error = violationError(violation, by, req.task);
        if (options.onViolation === "halt")
          return { error, reason: `halted: ${p.spec.kind} of ${p.owner} was broken by ${by}` };
        deferError(live, error);
        return "none";
      }
    }
    this.create(parent, req.id, def, req.inputs, req.producers, labels, req.priority, placeholder, hash);
    return "created";
  }

  /** Adds an instance (already validated) with its edges and preview, and queues it when ready. */
  create(
    parent: PlanNode | null,
    id: string,
    def: AnyTask,
    inputs: Json,
    producers: readonly string[],
    labels: readonly string[],
    priority: number | null,
    placeholder: string | null,
    hash: string,
  ): void {
    const log = this.#run.log;
    const data = {
      id,
      task: def.name,
      parent: parent ? parent.id : null,
      labels: labels as string[],
      inputs,
      placeholder,
      priority: priority ?? def.priority,
      inputsHash: hash,
    };
    log.commit("task.created", data);
    if (parent) log.commit("edge.created", { from: parent.id, to: id, kind: "lineage" });
    for (let i = 0; i < producers.length; i++)
      log.commit("edge.created", { from: producers[i] as string, to: id, kind: "data" });
    if (def.calls.length > 0) {
      const preview = expandPreview(def, id);
      log.commit("preview.materialized", { owner: id, placeholders: preview.placeholders, edges: preview.edges });
    }
    const node = this.#plan.nodes.get(id) as PlanNode;
    if (producers.length > 0) {
      const dead = deadProducer(this.#plan, producers);
      if (dead) return this.#outcomes.settle(node, "skipped", `producer ${dead.id} ${dead.status}`);
      if (node.producersLeft > 0) return; // the fold counts them down; Outcomes.available queues it
    }
    this.#run.scheduler.push(node);
  }
}
