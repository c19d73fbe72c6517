/**
 * The run loop's steps that use the results cache (`results-cache.ts`): an
 * instance about to start is looked up first, and a hit succeeds without
 * running (`task.cached`); an unreadable entry is reported and the instance
 * runs as on a miss. The output of one that ran after a miss is stored when
 * it succeeded without spawning children. The run ends once every write
 * ended, so a failed write is reported before `run.finished`.
 */
import type { Json } from "../../events/codec.ts";
import type { PlanNode } from "../../plan/plan.ts";
import { outputOf } from "../../plan/outputs.ts";
import type { AnyTask } from "../../task/define.ts";
import type { Outcomes } from "../outcomes.ts";
import type { RunParts } from "../run-parts.ts";
import type { ResultsCache } from "./results-cache.ts";
import { CacheWarnings } from "./results-cache.ts";

export class CacheSteps {
  readonly #run: RunParts;
  readonly #outcomes: Outcomes;
  readonly #cache: ResultsCache;
  /** False once the run has its last event: a write that fails later goes unreported. */
  readonly #isActive: () => boolean;
  /** The run is over but for writes in progress. */
  #awaitingWrites = false;

  constructor(run: RunParts, outcomes: Outcomes, cache: ResultsCache, isActive: () => boolean) {
    this.#run = run;
    this.#outcomes = outcomes;
    this.#cache = cache;
    this.#isActive = isActive;
  }

  /** Looks `node` up before its attempt starts: true when it was found, and succeeded from the cache (its slot given back). */
  hit(node: PlanNode, def: AnyTask, inputs: Json): boolean {
    const cache = this.#cache;
    if (!cache.covers(def)) return false;
    const id = node.id;
    const found = cache.lookup(id, def, inputs);
    if (found.found) {
      this.#run.scheduler.release(id);
      this.#outcomes.settleCached(node, found.key, found.output);
      return true;
    }
    if (found.problem !== null)
      this.#run.log.commit("task.warning", {
        id,
        code: CacheWarnings.UNREADABLE,
        message: `${found.problem}; ${id} runs as on a miss`,
      });
    return false;
  }

  /** Stores the output of an instance that ran after a cache miss, unless it spawned children (see `results-cache.ts`). */
  store(node: PlanNode): void {
    const { log, options } = this.#run;
    const key = this.#cache.takeKey(node.id);
    if (key === undefined || node.status !== "succeeded") return;
    if (node.children.length > 0) {
      if (options.registry.get(node.task)?.cache === true) {
        const message = `${node.id} spawned children, so its output is not cached (its key does not cover their code); it runs again next time and its children use the cache on their own`;
        log.commit("task.warning", { id: node.id, code: CacheWarnings.NOT_STORED, message });
      }
      return;
    }
    this.#cache.save(key, node.task, outputOf(node), (message) => {
      // A run halted or cancelled meanwhile has its last event already: the failed write goes unreported.
      if (this.#isActive()) log.commit("task.warning", { id: node.id, code: CacheWarnings.WRITE, message });
    });
  }

  /** At the run's end: true while writes are in progress; `then` is called once they all ended. */
  holdsEnd(then: () => void): boolean {
    const cache = this.#cache;
    if (cache.writing === 0) return false;
    if (!this.#awaitingWrites) {
      this.#awaitingWrites = true;
      void cache.whenWritten().then(() => {
        this.#awaitingWrites = false;
        then();
      });
    }
    return true;
  }
}
