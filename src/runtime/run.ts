/**
 * `runEngine(task, inputs, options, attach)`: checks the options, opens the
 * log, starts the executor and the engine, and closes everything at the end.
 * The public `run()` (src/run.ts) calls it with the snapshot observer of
 * render/ as `attach`: this layer knows observers only by their interface.
 */
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { SerializedError } from "../errors.ts";
import { decode } from "../events/codec.ts";
import type { Counts, RunStatus, ViolationPolicy } from "../events/types.ts";
import { ViolationPolicies } from "../events/types.ts";
import type { EventSink } from "../events/writer.ts";
import { JsonlWriter, MemorySink } from "../events/writer.ts";
import type { Plan } from "../plan/plan.ts";
import type { TaskDefinition } from "../task/define.ts";
import type { EngineResult } from "./engine-types.ts";
import { isTaskDefinition } from "../task/define.ts";
import { registry as defaultRegistry } from "../task/registry.ts";
import type { TaskRegistry } from "../task/registry.ts";
import type { RunObserver } from "../plan/observer.ts";
import { DEFAULT_CACHE_DIR, ResultsCache } from "./cache/results-cache.ts";
import { Engine } from "./engine.ts";
import type { Executor, ExecutorKind } from "./executor.ts";
import { ExecutorKinds } from "./executor.ts";
import { createExecutor } from "./create-executor.ts";
import { invalidOption } from "./invalid-option.ts";
import { refuseInWorker } from "./worker-flag.ts";

/** Options of {@link runEngine}: those of `run()` but the snapshots. */
export interface EngineRunOptions {
  /** Folder for `events.jsonl` (and snapshots). Default: none; nothing is written. */
  readonly out?: string;
  /** Where task functions run. Default `threads`. */
  readonly executor?: ExecutorKind | Executor;
  /** Workers (slots) for `threads` and `processes`; for `inline`, how many task functions may be in progress at once. Default: available parallelism. Not used by `bullmq`, whose workers are the `trellis worker` processes serving its queue. */
  readonly workers?: number;
  /**
   * For `threads` and `processes` named by `executor`: a task that has been
   * on this many workers that died fails for good (see `PoolOptions.maxWorkerCrashes`). Default 3.
   */
  readonly maxWorkerCrashes?: number;
  /** Redis URL of the `bullmq` executor (`redis://[:password@]host:port`, `rediss://` for TLS). Default: the `TRELLIS_REDIS` environment variable. */
  readonly redis?: string;
  /** Queue of the `bullmq` executor; its workers must serve the same one. Default `trellis`. */
  readonly queue?: string;
  /** What a broken promise does: `halt` (default) cancels the run; `reject` raises in the offending task. */
  readonly onViolation?: ViolationPolicy;
  /** Run id in every event. Default `<root name>-<n>`, n counting runs in this process, so ids are reproducible. */
  readonly runId?: string;
  /** Cancels the run when aborted. */
  readonly signal?: AbortSignal;
  /** Extra observers (snapshots, progress). */
  readonly observers?: readonly RunObserver[];
  /** Keep every event in memory and return it in the result. Default `false`. */
  readonly keepEvents?: boolean;
  /** Definitions to use. Default: the global registry. */
  readonly registry?: TaskRegistry;
  /** Clock for event timestamps, in epoch milliseconds (tests). Default `Date.now`. */
  readonly now?: () => number;
  /**
   * The results cache (docs/concepts.md, "Results cache"). `{ dir }`: cache
   * every definition that does not say `cache: false`, in `dir` (what
   * `trellis run --cache <dir>` sets). `false`: cache nothing, not even
   * definitions with `cache: true`. Default: only definitions with
   * `cache: true`, in `.trellis-cache/` under the current directory.
   *
   * @example
   * await run(pipeline, inputs, { out: "outputs/p", cache: { dir: ".trellis-cache" } });
   */
  readonly cache?: CacheOption;
}

/** The `cache` option of a run: a folder whose cache covers every definition, or `false` for none. */
export type CacheOption = { readonly dir: string } | false;

/**
 * What the caller of {@link runEngine} adds to a run: called once, after the
 * options are checked and before the log is opened (so it may still throw
 * without leaving anything open). It returns an observer to attach, or null.
 */
export type AttachObserver = () => RunObserver | null;

/** What `run()` resolves with. */
export interface RunResult<O> {
  readonly runId: string;
  readonly status: RunStatus;
  /** The root's output when the run succeeded, else `undefined`. */
  readonly output: O | undefined;
  readonly error: SerializedError | null;
  readonly counts: Counts;
  /** Instances that succeeded from the results cache without running (counted in `counts.succeeded` too). */
  readonly cached: number;
  readonly violations: number;
  readonly durationMs: number;
  /** Path of `events.jsonl`, when `out` was given. */
  readonly eventsPath: string | null;
  /** The final plan. */
  readonly plan: Plan;
  /** Every event, when `keepEvents` was set. */
  readonly events: MemorySink["events"] | null;
}

const runCounters = new Map<string, number>();

/** The run's results cache from its `cache` option (see {@link EngineRunOptions.cache}). */
function resultsCacheFor(option: unknown): ResultsCache | null {
  if (option === undefined) return new ResultsCache(DEFAULT_CACHE_DIR, false);
  if (option === false) return null;
  const dir = typeof option === "object" && option !== null ? (option as { dir?: unknown }).dir : undefined;
  if (typeof dir !== "string" || dir === "") invalidOption("cache", "{ dir: <folder> } or false", option);
  return new ResultsCache(dir, true);
}

/**
 * Runs `root` with `inputs` until no instance can make progress: `run()`
 * without the snapshots, which its caller attaches through `attach`.
 *
 * @throws TrellisError `RUN_IN_WORKER`, `INVALID_OPTION`, `OUTPUT_DIR`: see `run()`.
 */
export async function runEngine<I, O>(
  root: TaskDefinition<I, O>,
  inputs: I,
  options: EngineRunOptions,
  attach: AttachObserver | null,
): Promise<RunResult<O>> {
  refuseInWorker("run");
  if (!isTaskDefinition(root)) invalidOption("root", "a task definition made with task()", typeof root);
  const checked = checkRunOptions(options, "halt", "threads");

  const n = (runCounters.get(root.name) ?? 0) + 1;
  runCounters.set(root.name, n);
  const runId = options.runId ?? `${root.name}-${n}`;

  // The caller's observer first: it holds nothing open yet if the event log then fails.
  const attached = attach ? attach() : null;
  const file = options.out !== undefined ? new JsonlWriter(join(resolve(options.out), "events.jsonl")) : null;
  const modules = definitionModules(checked.registry);
  return driveEngine<O>(runId, checked, options, attached, file, null, (engine, executor) =>
    engine.start(root, inputs, executor.kind === "inline" ? [] : modules, modules),
  );
}

/** Options of {@link runEngine} once checked, with their defaults. */
export interface CheckedOptions {
  readonly registry: TaskRegistry;
  readonly onViolation: ViolationPolicy;
  readonly executor: ExecutorKind | Executor;
  readonly workers: number;
  /** The run's results cache; null when it uses none. */
  readonly cache: ResultsCache | null;
  /** How many dying workers a task may be on before it fails (undefined: the executor's default). */
  readonly maxWorkerCrashes: number | undefined;
}

/** Checks the options shared by `run()` and `resume()`; the defaults of `onViolation` and `executor` are the caller's. */
export function checkRunOptions(
  options: EngineRunOptions,
  defaultPolicy: ViolationPolicy,
  defaultExecutor: ExecutorKind,
): CheckedOptions {
  const registry = options.registry ?? defaultRegistry;
  const onViolation = options.onViolation ?? defaultPolicy;
  if (!(ViolationPolicies as readonly string[]).includes(onViolation))
    invalidOption("onViolation", ViolationPolicies.map((p) => JSON.stringify(p)).join(" or "), onViolation);
  const executor = options.executor ?? defaultExecutor;
  if (typeof executor === "string" && !(ExecutorKinds as readonly string[]).includes(executor))
    invalidOption("executor", `one of ${ExecutorKinds.join(", ")}`, executor);
  const workers = options.workers ?? Math.max(1, availableParallelism());
  if (!Number.isInteger(workers) || workers < 1) invalidOption("workers", "a positive integer", workers);
  const cache = resultsCacheFor(options.cache);
  const maxWorkerCrashes = options.maxWorkerCrashes;
  if (maxWorkerCrashes !== undefined && (!Number.isInteger(maxWorkerCrashes) || maxWorkerCrashes < 1))
    invalidOption("maxWorkerCrashes", "a positive integer", maxWorkerCrashes);
  return { registry, onViolation, executor, workers, cache, maxWorkerCrashes };
}

/** File URLs of the modules that define the registered tasks: what workers import, and what `run.started` records. */
export function definitionModules(registry: TaskRegistry): string[] {
  const modules: string[] = [];
  for (const def of registry.all()) if (def.module && !modules.includes(def.module)) modules.push(def.module);
  return modules;
}

/**
 * Runs an engine to its end over the log `file` (null: none): creates the
 * executor and the sink, calls `begin` (the engine's `start` or `resume`),
 * closes everything, and builds the result.
 */
export async function driveEngine<O>(
  runId: string,
  checked: CheckedOptions,
  options: EngineRunOptions,
  attached: RunObserver | null,
  file: JsonlWriter | null,
  from: Plan | null,
  begin: (engine: Engine, executor: Executor) => Promise<EngineResult>,
): Promise<RunResult<O>> {
  const memory = options.keepEvents ? new MemorySink() : null;
  // The log file alone (the usual case) is the sink itself: no wrapper call per event.
  const sink: EventSink =
    file !== null && memory === null
      ? file
      : {
          write(e) {
            memory?.write(e);
            file?.write(e);
          },
          tick() {
            file?.tick();
          },
          flush() {
            file?.flush();
          },
          async close() {
            await file?.close();
          },
        };

  const { registry, onViolation } = checked;
  let executor: Executor;
  try {
    executor =
      typeof checked.executor === "string"
        ? await createExecutor(checked.executor, checked.workers, registry, {
            maxWorkerCrashes: checked.maxWorkerCrashes,
            redis: options.redis,
            queue: options.queue,
          })
        : checked.executor;
  } catch (error) {
    await sink.close();
    throw error;
  }
  const observers = attached ? [...(options.observers ?? []), attached] : (options.observers ?? []);
  const engine = new Engine({
    runId,
    executor,
    registry,
    sink,
    onViolation,
    observers,
    signal: options.signal,
    now: options.now ?? Date.now,
    cache: checked.cache,
    ...(from ? { from } : {}),
  });
  let result;
  try {
    try {
      result = await begin(engine, executor);
      await checked.cache?.whenWritten(); // a halted or cancelled run ends without waiting for them
    } finally {
      await executor.close();
      sink.flush();
    }
    for (const ob of observers) await ob.close?.(engine.plan);
  } finally {
    await sink.close(); // the log is complete on disk when run() returns
  }
  const plan = result.plan;
  return {
    runId,
    status: result.status,
    output: result.status === "succeeded" ? (decode(result.output) as O) : undefined,
    error: result.error,
    counts: { ...plan.counts },
    cached: plan.cached,
    violations: plan.violations,
    durationMs: result.durationMs,
    eventsPath: file ? file.path : null,
    plan,
    events: memory ? memory.events : null,
  };
}
