/**
 * Trellis: a workflow engine for DAGs that grow while they run.
 * Named exports only; see docs/ for the concepts.
 */
import type { renderLog as RenderLogFn } from "./render/render-log.ts";
import type { renderPreview as RenderPreviewFn } from "./render/render-preview.ts";

export { task } from "./task/define.ts";
export type { TaskDefinition, TaskOptions, TaskFn, AnyTask, InputsOf, OutputOf } from "./task/define.ts";
export { From } from "./task/from.ts";
export type { TaskHandle, FromRef, Wired, OutputsOf } from "./task/from.ts";
export type { ExecutionContext, SpawnOptions, WaitOptions } from "./task/types.ts";
export { registry, TaskRegistry } from "./task/registry.ts";
export {
  LimitedSpawns,
  MaxParallelism,
  NoNewNodes,
  NoNewEdges,
  OnlySpecificNodesAllowed,
  OnlySpecificEdgesAllowed,
} from "./promises/constructors.ts";
export type { PromiseOptions } from "./promises/constructors.ts";
export { resume } from "./resume.ts";
export type { ResumeOptions } from "./resume.ts";
export type { ResumeResult } from "./runtime/resume.ts";
export { isMain } from "./runtime/is-main.ts";
export { createExecutor, bullmqExecutor } from "./runtime/create-executor.ts";
export type { BullMQExecutorOptions } from "./runtime/bullmq/bullmq-executor.ts";
export { runIfMain } from "./report/run-if-main.ts";
export { run } from "./run.ts";
export type { RunOptions } from "./run.ts";
export type { CacheOption, RunResult } from "./runtime/run.ts";
export type { RunObserver } from "./plan/observer.ts";
export type { Executor, ExecutorKind, EngineLink } from "./runtime/executor.ts";
export { ThreadExecutor } from "./runtime/threads/thread-executor.ts";
export { ProcessExecutor } from "./runtime/processes/process-executor.ts";
export type { PoolOptions } from "./runtime/worker/pool.ts";
export {
  TrellisError,
  TaskDefinitionError,
  TaskFailedError,
  TaskTimeoutError,
  WaitTimeoutError,
  WaitAbortedError,
  WorkerCrashError,
  DeadlockError,
  PromiseViolationError,
  SerializationError,
  TaskCancelledError,
  ErrorCodes,
  serializeError,
  deserializeError,
  hasCode,
} from "./errors.ts";
export type { ErrorCode, SerializedError } from "./errors.ts";
export { encode, decode } from "./events/codec.ts";
export type { Json } from "./events/codec.ts";
export type {
  TrellisEvent,
  EventType,
  EventOf,
  TaskStatus,
  RunStatus,
  PromiseSpec,
  PlanDiff,
  ViolationPolicy,
} from "./events/types.ts";
export { applyEvent, foldEvents } from "./plan/fold.ts";
export { createPlan } from "./plan/plan.ts";
export type { Plan, PlanNode, PlanEdge, Placeholder } from "./plan/plan.ts";
export { buildDot } from "./render/dot.ts";
export type { DotOptions } from "./render/dot.ts";
export { previewPlan } from "./preview/preview-plan.ts";
export type { PlanPreview } from "./preview/preview-plan.ts";
export { createSnapshotObserver } from "./render/snapshots.ts";
export type { SnapshotOptions, SnapshotObserver } from "./render/snapshots.ts";
export type { SnapshotPolicy } from "./render/frames.ts";
export type { RenderLogOptions, RenderLogResult } from "./render/render-log.ts";
export type { RenderPreviewOptions, RenderPreviewResult } from "./render/render-preview.ts";
export { dotToSvg, svgToPng } from "./render/images.ts";
export type { ImageFormat, LayoutEngine } from "./render/images.ts";
export { readEventLog } from "./events/read-log.ts";
export type { LogLine } from "./events/read-log.ts";

// ------------------------------------------------- loaded on first call
// Every worker imports this module (a workflow's `import { task } from
// "trellis"`), and a worker never runs, resumes or draws: so the engine, the
// drawing code and the reporting code load when one of these is first
// called, not with the package (`run`, `resume` and `createExecutor` do the
// same in their own modules). A worker then loads under 60 modules instead
// of about 100 (~25 ms less per worker thread on Node 20). The types are the
// implementations' own.

/** Draws a run's snapshots again from its `events.jsonl`. */
export const renderLog: typeof RenderLogFn = async (eventsPath, options) =>
  (await import("./render/render-log.ts")).renderLog(eventsPath, options);
/** Draws a task's declared shape before it runs. */
export const renderPreview: typeof RenderPreviewFn = async (def, options) =>
  (await import("./render/render-preview.ts")).renderPreview(def, options);

// The CommonJS entry (index.cjs) hands `require("trellis")` this very module
// instance, so a CommonJS workflow compiled by a TypeScript loader (which
// would otherwise compile a second copy of Trellis, with its own task
// registry) shares the registry and classes of the engine that runs it.
import * as self from "./index.ts";

(globalThis as Record<symbol, unknown>)[Symbol.for(`trellis.esm ${import.meta.url}`)] ??= self;
