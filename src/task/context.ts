/**
 * What a running task can do: the `ctx` argument of every task function.
 */
import type { PromiseSpec } from "../events/types.ts";
import type { TaskDefinition } from "./define.ts";
import type { OutputsOf, TaskHandle, Wired } from "./from.ts";

/** Per-spawn options. */
export interface SpawnOptions {
  /** Labels added to the definition's own. */
  readonly labels?: readonly string[];
  /** Overrides the definition's priority. */
  readonly priority?: number;
}

/**
 * Limits of one `ctx.waitForAll`. Without them a wait lasts until every
 * handle finished.
 *
 * @example
 * try {
 *   const [a, b] = await ctx.waitForAll([ha, hb], { timeoutMs: 5_000 });
 * } catch (error) {
 *   if (hasCode(error, ErrorCodes.WAIT_TIMEOUT)) ctx.log("slow children", { pending: error.details["pending"] });
 *   else throw error;
 * }
 */
export interface WaitOptions {
  /**
   * Milliseconds the wait may last, counted by the engine from when it
   * receives the wait: when they pass with handles still unfinished, the task
   * resumes with a `WaitTimeoutError` (code `WAIT_TIMEOUT`) naming them. A
   * non-negative number up to 2^31 - 1; `Infinity` means no limit. `0`
   * answers at once with the outputs when every handle already finished, else
   * times out. Default: no limit.
   */
  readonly timeoutMs?: number;
  /**
   * Ends the wait when it aborts: the task resumes with a `WaitAbortedError`
   * (code `WAIT_ABORTED`, the signal's reason as `cause`). A signal already
   * aborted rejects at once. Default: none.
   */
  readonly signal?: AbortSignal;
}

export interface ExecutionContext {
  /** This instance's id, e.g. `square_batch/square#3`. */
  readonly id: string;
  /** The run's id. */
  readonly runId: string;
  /** This instance's definition name. */
  readonly task: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /**
   * Fires when the task is cancelled (halt, run cancel) or times out. Its
   * `reason` is a `TaskCancelledError` (or a `TaskTimeoutError`), which
   * `signal.throwIfAborted()` throws.
   */
  readonly signal: AbortSignal;

  /**
   * Adds a child instance and returns its typed handle at once. Inputs may hold
   * `From(handle)` anywhere; the child starts when those producers succeed.
   * Ids are deterministic: `<this id>/<name>#<n>`.
   *
   * Inputs must be data: a Promise (a missing `await`), a function, a class
   * instance with methods throw `UNENCODABLE_INPUT`, and a handle passed
   * without `From` throws `INVALID_INPUT`, naming the path.
   *
   * A spawn that breaks a promise is not applied; under the `reject` policy
   * the next `waitForAll` (or the end of this task) raises the
   * `PromiseViolationError`.
   */
  spawn<I, O>(def: TaskDefinition<I, O>, inputs: Wired<I>, options?: SpawnOptions): TaskHandle<O>;

  /**
   * Suspends this task (it gives up its slot) until every handle finished;
   * returns their outputs in order. Rejects with `TaskFailedError` as soon as
   * one of them failed, was skipped or cancelled; with `WaitTimeoutError`
   * when `options.timeoutMs` passed first, or `WaitAbortedError` when
   * `options.signal` aborted first. A wait ends exactly one way; the handles
   * it waited on keep running either way, and may be waited for again.
   */
  waitForAll<const H extends readonly TaskHandle<unknown>[]>(handles: H, options?: WaitOptions): Promise<OutputsOf<H>>;

  /** Declares promises owned by this instance (scope: it and its descendants, unless global). */
  promise(...promises: PromiseSpec[]): void;

  /** Appends a `task.log` event; `fields` are kept inside `data.fields`. */
  log(message: string, fields?: Record<string, unknown>): void;

  /** Publishes this task's output now: consumers may start; a later return value is ignored. */
  emit(value: unknown): void;
}
