/**
 * The seam between the engine and the places task functions run. One
 * interface, four transports: `inline` (this thread), `threads`
 * (worker_threads), `processes` (child processes) and `bullmq` (remote
 * workers through BullMQ on Redis).
 *
 * The engine calls an {@link Executor}; running tasks call back through the
 * {@link EngineLink}. Values crossing the seam are JSON-safe (`Json`, see
 * `events/codec.ts`) and errors are {@link SerializedError}s, whatever the
 * transport, so all three behave the same.
 */
import type { SerializedError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import type { PromiseSpec } from "../events/types.ts";

export const ExecutorKinds = ["inline", "threads", "processes", "bullmq"] as const;
export type ExecutorKind = (typeof ExecutorKinds)[number];

/** Identifies one attempt of one instance; messages of stale attempts are ignored. */
export interface TaskRef {
  readonly id: string;
  readonly attempt: number;
}

/** What an executor needs to start an attempt. */
export interface StartTask extends TaskRef {
  readonly runId: string;
  readonly task: string;
  /** Inputs with every `From` already resolved. */
  readonly inputs: Json;
}

/** A child a running task asks for. */
export interface SpawnRequest {
  readonly id: string;
  readonly task: string;
  /** Encoded inputs; `From` references stay as `{"$t":"from",...}` tags. */
  readonly inputs: Json;
  /** Ids referenced by `From` inside `inputs`, in first-seen order. */
  readonly producers: readonly string[];
  readonly labels: readonly string[];
  readonly priority: number | null;
}

export type TaskOutcome =
  | { readonly ok: true; readonly output: Json }
  | { readonly ok: false; readonly error: SerializedError };
export type WaitOutcome =
  | { readonly ok: true; readonly outputs: readonly Json[] }
  | { readonly ok: false; readonly error: SerializedError };

/** Why an attempt runs again from the start: the worker that hosted it died, and it was not the culprit. */
export interface Rehosting {
  /** The worker that died, e.g. `thread 3`. */
  readonly worker: string;
  /** How it died: `exit`, `signal`, `out-of-memory`, `uncaught-error` or `unresponsive`; `lost` for a remote worker whose lease ran out. */
  readonly reason: string;
  /** True when the attempt is a suspect (the culprit could not be told apart): it runs alone on a worker. */
  readonly isolated: boolean;
  /** Dying workers its task has been a suspect of so far. */
  readonly crashes: number;
}

/**
 * An attempt of a resumed run that finished while no coordinator listened
 * (the engine was killed; a remote worker went on and left its result in
 * Redis), as {@link Executor.collect} finds it: its outcome, where it ran,
 * and the calls it made that the dead engine may not have logged.
 */
export interface CollectedResult extends TaskRef {
  /** The worker that ran it, when known (its `task.placed`). */
  readonly worker: string | null;
  readonly outcome: TaskOutcome;
  /** Ids of the children it spawned (all of them, logged or not). */
  readonly spawned: readonly string[];
  /** It called `emit`. */
  readonly emitted: boolean;
  /** The promises it declared with `ctx.promise`. */
  readonly promised: readonly PromiseSpec[];
}

/** Calls from running tasks (and from the executor about them) to the engine. */
export interface EngineLink {
  spawn(ref: TaskRef, child: SpawnRequest): void;
  /**
   * The attempt waits for `ids`; the engine answers with `Executor.resume`
   * under the same `waitId` (unique within the attempt). `timeoutMs` (null:
   * none) is enforced here, by the engine, whatever runs the task.
   */
  wait(ref: TaskRef, waitId: number, ids: readonly string[], timeoutMs: number | null): void;
  /** The wait's signal aborted: answer it with `WAIT_ABORTED` unless it was already answered. */
  abortWait(ref: TaskRef, waitId: number): void;
  promise(ref: TaskRef, promises: readonly PromiseSpec[]): void;
  log(ref: TaskRef, message: string, fields: Json): void;
  emit(ref: TaskRef, output: Json): void;
  /** A remote worker took the attempt (executors whose workers have names: `bullmq`). */
  placed?(ref: TaskRef, worker: string): void;
  /**
   * The executor could not give the attempt to a worker at once (its worker
   * is still starting, or every worker is busy or suspected stuck): the
   * attempt's `timeoutMs` stops counting until {@link EngineLink.hosted}.
   * Called from within {@link Executor.run}.
   */
  awaitingWorker?(ref: TaskRef): void;
  /** A worker has the attempt that was {@link EngineLink.awaitingWorker}: its whole `timeoutMs` counts from now. */
  hosted?(ref: TaskRef): void;
  /** The attempt ended (returned, threw, or its worker died because of it). */
  finished(ref: TaskRef, outcome: TaskOutcome): void;
  /**
   * The attempt's worker died and took the attempt's execution with it, but
   * the attempt did not cause it: the engine forgets what that execution had
   * going (its waits) and, when a slot is free, runs the same attempt again
   * from the start with {@link Executor.run}. Not a failed attempt.
   */
  rehosted(ref: TaskRef, why: Rehosting): void;
}

export interface Executor {
  readonly kind: ExecutorKind;
  /** How many tasks may run at once (the scheduler's slots); read before each scheduler step, so it may change during a run. */
  readonly concurrency: number;
  /** Workers tasks run on (the inline executor: its slots). */
  readonly workers: number;
  /**
   * Prepares workers: each imports `modules` (the files that define the
   * tasks). Rejects with a `WORKER_LOAD` error that names the module when one
   * cannot be imported.
   */
  start(link: EngineLink, modules: readonly string[]): Promise<void>;
  /** Starts an attempt. */
  run(task: StartTask): void;
  /** Answers a `wait` of a suspended task. */
  resume(ref: TaskRef, waitId: number, outcome: WaitOutcome): void;
  /** Fires the attempt's AbortSignal; the engine has already settled it. */
  abort(ref: TaskRef, reason: SerializedError): void;
  /** Stops every worker. */
  close(): Promise<void>;
  /**
   * For an executor whose workers outlive the engine (`bullmq`): called once
   * by a resumed run, after `start`, with the attempts the log shows running
   * or waiting (`id` → attempt). Resolves with those that finished while no
   * engine listened; the engine records the successes it can trust instead
   * of running them again. Attempts of the dead engine still in flight are
   * told to stop: they run again as new attempts.
   */
  collect?(runId: string, live: ReadonlyMap<string, number>): Promise<readonly CollectedResult[]>;
  /**
   * For an executor that runs tasks in this process (inline): the attempts
   * whose code may be running now (the process is exiting under them):
   * the one in its synchronous part if any, else those not suspended.
   */
  executing?(): readonly TaskRef[];
}
