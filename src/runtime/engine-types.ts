/**
 * The types at the edge of the engine: what it is built with and what it
 * resolves with, and the part of its options a run logs.
 */
import type { SerializedError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import type { EventDataMap, RunStatus, ViolationPolicy } from "../events/types.ts";
import type { EventSink } from "../events/writer.ts";
import type { RunObserver } from "../plan/observer.ts";
import type { Plan } from "../plan/plan.ts";
import type { TaskRegistry } from "../task/registry.ts";
import type { ResultsCache } from "./cache/results-cache.ts";
import type { Executor } from "./executor.ts";

export interface EngineOptions {
  readonly runId: string;
  readonly executor: Executor;
  readonly registry: TaskRegistry;
  readonly sink: EventSink;
  readonly onViolation: ViolationPolicy;
  readonly observers: readonly RunObserver[];
  readonly signal: AbortSignal | undefined;
  /** Epoch milliseconds for event timestamps. */
  readonly now: () => number;
  /** The results cache of this run, or null when the run uses none (`cache: false`). */
  readonly cache: ResultsCache | null;
  /** A resumed run: the plan folded from its log, which the engine continues. */
  readonly from?: Plan;
}

/** The options a run records in its log (`run.started`, and `run.resumed` for each resume). */
export function loggedOptions(o: EngineOptions): EventDataMap["run.started"]["options"] {
  return { executor: o.executor.kind, workers: o.executor.workers, onViolation: o.onViolation };
}

/** How a run is resumed (see `Engine.resume`). */
export interface ResumeFrom {
  /** Bytes of a cut-off last line removed from the log before resuming. */
  readonly droppedBytes: number;
  /** Failed, skipped and cancelled instances run again. */
  readonly retryFailed: boolean;
}

/** A queued resume of a suspended task (a start is queued as the plan node itself: no entry object per task). */
export interface ResumeEntry {
  readonly id: string;
  readonly priority: number;
  readonly order: number;
  readonly resume: true;
}

/** The summary of a finished run, as the engine sees it. */
export interface EngineResult {
  readonly status: RunStatus;
  readonly output: Json;
  readonly error: SerializedError | null;
  readonly plan: Plan;
  readonly durationMs: number;
}
