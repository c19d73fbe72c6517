/**
 * The types of the task layer: a definition (`TaskDefinition`, what `task()`
 * returns) and what a running task can do (`ExecutionContext`, the `ctx`
 * argument of every task function). One file because each refers to the
 * other; the functions that build them (define.ts, from.ts) import from here.
 */
import type { PromiseSpec } from "../events/types.ts";
import type { OutputsOf, TaskHandle, Wired } from "./from.ts";

declare const types: unique symbol;

/** The function of a task: gets its context and its (resolved) inputs. */
export type TaskFn<I, O> = (ctx: ExecutionContext, inputs: I) => O | Promise<O>;

/** Any definition, whatever its input and output types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: a definition of any I/O must be accepted here
export type AnyTask = TaskDefinition<any, any>;

/** Options of {@link task}. */
export interface TaskOptions {
  /** Unique name in the registry; used in ids (`parent/name#n`), the log and drawings. Must not contain `/`, `#` or control characters. */
  readonly name: string;
  /** Labels every instance carries (for `MaxParallelism`). Default none. */
  readonly labels?: readonly string[];
  /** The instance may not change the plan beyond its declared preview: attaches `NoNewNodes` and `NoNewEdges`. Default `false`. */
  readonly static?: boolean;
  /** Definitions this task is expected to spawn: drawn as placeholders before the children exist. */
  readonly calls?: readonly AnyTask[];
  /** Expected data edges between entries of `calls`, drawn with the placeholders. */
  readonly edges?: readonly (readonly [AnyTask, AnyTask])[];
  /** Promises applied when each instance starts (and shown in previews). */
  readonly promises?: readonly PromiseSpec[];
  /** Extra attempts after a failure. Default 0. */
  readonly retries?: number;
  /** Delay before the first retry, doubled for each further one (capped at 30 s). Default 100 ms. */
  readonly retryDelayMs?: number;
  /** Fail the attempt (and abort its signal) after this long. Default: no limit. */
  readonly timeoutMs?: number;
  /** Higher runs first among ready instances. Default 0 (then creation order). */
  readonly priority?: number;
  /** URL of the module that defines the task, for workers to import. Default: found from the call site. */
  readonly module?: string;
  /**
   * Results cache (docs/concepts.md, "Results cache"): `true` reuses the
   * output of an earlier run that had the same inputs and the same code
   * instead of running, in every run; `false` never, even under
   * `run(..., { cache: { dir } })` or `trellis run --cache <dir>`. Default:
   * cached only when the run caches every definition. Only an instance that
   * finished without spawning children is stored.
   *
   * @example
   * export const align = task({ name: "align", cache: true, version: 2 }, async (_ctx, { reads }: { reads: string }) => runAligner(reads));
   */
  readonly cache?: boolean;
  /**
   * What identifies the code in the cache key. Change it to invalidate the
   * cached outputs of this definition (e.g. after editing a helper its
   * function calls). Default: a hash of the function's source text, so
   * editing the function itself invalidates them.
   */
  readonly version?: string | number;
}

/** A registered task definition, typed by its inputs `I` and output `O`. */
export interface TaskDefinition<I, O> {
  readonly kind: "trellis.task";
  readonly name: string;
  readonly fn: TaskFn<I, O>;
  readonly labels: readonly string[];
  readonly static: boolean;
  readonly calls: readonly AnyTask[];
  readonly edges: readonly (readonly [AnyTask, AnyTask])[];
  readonly promises: readonly PromiseSpec[];
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly timeoutMs: number | undefined;
  readonly priority: number;
  /** File URL of the defining module, or null when unknown (then only the inline executor can run it). */
  readonly module: string | null;
  /** The `cache` option: `true`/`false`, or `undefined` to follow the run's `cache` option. */
  readonly cache: boolean | undefined;
  /** The `version` option, or `undefined` (the cache key then hashes the function's source). */
  readonly version: string | number | undefined;
  /** Phantom: input and output types, for the compiler only. */
  readonly [types]?: { inputs: I; output: O };
}

export type InputsOf<T> = T extends TaskDefinition<infer I, unknown> ? I : never;
export type OutputOf<T> = T extends TaskDefinition<never, infer O> ? Awaited<O> : never;

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
