/**
 * `resumeEngine(outDir, options, attach)`: continues a run from its
 * `events.jsonl` after the engine died (kill -9, power loss, out of memory).
 * The log is read and folded into the plan the run had; a last line cut off
 * by the crash is dropped (and reported); the engine then continues the same
 * run in the same log (`run.resumed`, `seq` without a gap). What runs again
 * and what does not is decided by `Engine.resume` (`resume-entry.ts`) and
 * the fold of `run.resumed` (docs/concepts.md, "Durability").
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import type { EventOf } from "../events/types.ts";
import { JsonlWriter } from "../events/writer.ts";
import type { LogLine } from "../events/read-log.ts";
import { visitLogLines } from "../events/read-log.ts";
import { applyEvent } from "../plan/fold.ts";
import type { Plan } from "../plan/plan.ts";
import { createPlan } from "../plan/plan.ts";
import type { AnyTask } from "../task/define.ts";
import type { AttachObserver, EngineRunOptions, RunResult } from "./run.ts";
import { checkRunOptions, definitionModules, driveEngine } from "./run.ts";
import { refuseInWorker } from "./worker-flag.ts";
import type { ExecutorKind } from "./executor.ts";
import { ExecutorKinds } from "./executor.ts";

/** Options of {@link resumeEngine}: those of `run()` but `out` (the folder is the log's) and `runId` (the log's). */
export interface EngineResumeOptions extends Omit<EngineRunOptions, "out" | "runId"> {
  /**
   * Give the instances that failed (and those skipped or cancelled because
   * of them) a new attempt. Without it a failed instance stays failed, and
   * a run that already finished is not resumed. Default `false`.
   */
  readonly retryFailed?: boolean;
}

/** What `resume()` resolves with: a run's result, and what was found in the log. */
export interface ResumeResult<O> extends RunResult<O> {
  /** `seq` of the log's last complete event before this resume. */
  readonly resumedAfter: number;
  /** Bytes of a cut-off last line that were dropped (0: none). */
  readonly droppedBytes: number;
  /** What the caller should know (a dropped line), one sentence each. */
  readonly warnings: readonly string[];
}

/** A log read for resuming: its plan, its first event, and where its last complete line ends. */
export interface ResumableLog {
  readonly path: string;
  readonly plan: Plan;
  readonly started: EventOf<"run.started">;
  /** The executor the run last used (`run.started`, or the latest `run.resumed`). */
  readonly executor: string;
  /** Bytes of complete lines: where the next event goes. */
  readonly validBytes: number;
  /** Bytes after the last newline: a line cut off by the crash. */
  readonly droppedBytes: number;
}

/** Offset just after the last newline of the file open at `fd` (0 when it has none). */
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.allocUnsafe(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/**
 * Reads and folds the log at `path` for {@link resumeEngine}.
 * @throws TrellisError `LOG_FORMAT` for a missing or unreadable log, a bad
 *   line (naming it), a log without `run.started`, or an event type this
 *   Trellis does not know.
 */
export function readResumableLog(path: string): ResumableLog {
  let size: number;
  let validBytes: number;
  try {
    const fd = openSync(path, "r");
    try {
      size = fstatSync(fd).size;
      validBytes = endOfLastLine(fd, size);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new TrellisError(
      ErrorCodes.LOG_FORMAT,
      `cannot read the event log ${path}: ${(error as Error).message}; name the output folder of a run (it holds events.jsonl)`,
      { path, line: 0 },
      { cause: error },
    );
  }
  const plan = createPlan();
  let started: EventOf<"run.started"> | null = null;
  let executor = "";
  // Only complete lines are read: what follows the last newline is the crash's cut, dropped whatever it holds.
  visitLogLines(path, validBytes, (line: LogLine): void => {
    if (line.kind === "cut") return;
    if (line.kind === "unknown")
      throw new TrellisError(
        ErrorCodes.LOG_FORMAT,
        `${path}:${line.line}: an event of type ${line.type}, which this Trellis does not know: the log was written by a newer Trellis; resume it with that one`,
        { path, line: line.line },
      );
    const e = line.event;
    if (e.type === "run.started") {
      started = e;
      executor = e.data.options.executor;
    } else if (e.type === "run.resumed") executor = e.data.options.executor;
    applyEvent(plan, e);
  });
  if (started === null)
    throw new TrellisError(
      ErrorCodes.LOG_FORMAT,
      `${path} holds no run.started event: there is no run to resume (the run died before its first event was written); start it again with trellis run`,
      {
        path,
        line: 1,
      },
    );
  return { path, plan, started, executor, validBytes, droppedBytes: size - validBytes };
}

/** The error of resuming a run that already ended. */
function finishedError(log: ResumableLog, retryFailed: boolean): TrellisError {
  const { plan } = log;
  const unsucceeded = plan.counts.failed + plan.counts.skipped + plan.counts.cancelled;
  const how = retryFailed
    ? `and no instance failed, was skipped or cancelled, so --retry-failed has nothing to run`
    : unsucceeded > 0
      ? `; pass retryFailed (--retry-failed) to give its ${unsucceeded} failed, skipped or cancelled instance${unsucceeded === 1 ? "" : "s"} a new attempt`
      : "";
  return new TrellisError(
    ErrorCodes.RUN_FINISHED,
    `the run ${plan.runId} in ${log.path} already finished (${plan.status}) at event ${plan.seq}: there is nothing to resume${how === "" ? "" : retryFailed ? ` ${how}` : how}`,
    { path: log.path, status: plan.status, seq: plan.seq, unsucceeded },
  );
}

/**
 * Continues the run whose log is `<outDir>/events.jsonl`, in the same log,
 * until it ends: `run()` without the snapshots, which the caller attaches
 * through `attach`. The root task's definition (and those it spawns) must
 * be registered: import the workflow module first (the CLI loads the
 * modules `run.started` records).
 *
 * @throws TrellisError `LOG_FORMAT` (see {@link readResumableLog});
 *   `RUN_FINISHED` when the run already ended (unless `retryFailed` and some
 *   instance did not succeed); `UNKNOWN_TASK` when the root's definition is
 *   not registered; `RUN_IN_WORKER`, `INVALID_OPTION`, `OUTPUT_DIR` as `run()`.
 */
export async function resumeEngine<O>(
  outDir: string,
  options: EngineResumeOptions,
  attach: AttachObserver | null,
): Promise<ResumeResult<O>> {
  refuseInWorker("resume");
  const retryFailed = options.retryFailed ?? false;
  const log = readResumableLog(join(resolve(outDir), "events.jsonl"));
  const { plan, started } = log;
  if (
    plan.status !== "running" &&
    (!retryFailed || plan.counts.failed + plan.counts.skipped + plan.counts.cancelled === 0)
  )
    throw finishedError(log, retryFailed);
  const recordedExecutor = (ExecutorKinds as readonly string[]).includes(log.executor)
    ? (log.executor as ExecutorKind)
    : "threads";
  const checked = checkRunOptions(options, started.data.options.onViolation, recordedExecutor);
  const root: AnyTask | undefined = checked.registry.get(started.data.root);
  if (!root) {
    const modules = started.data.modules ?? [];
    throw new TrellisError(
      ErrorCodes.UNKNOWN_TASK,
      `the run's root task "${started.data.root}" is not registered: import the workflow module that defines it before resuming${modules.length > 0 ? ` (the log names ${modules.join(", ")})` : ""}`,
      { task: started.data.root, modules },
    );
  }
  const attached = attach ? attach() : null;
  const file = new JsonlWriter(log.path, { append: log.validBytes });
  const modules = definitionModules(checked.registry);
  const inputs: Json = started.data.inputs;
  const resumedAfter = plan.seq;
  const result = await driveEngine<O>(plan.runId, checked, options, attached, file, plan, (engine, executor) =>
    engine.resume(root, inputs, executor.kind === "inline" ? [] : modules, {
      droppedBytes: log.droppedBytes,
      retryFailed,
    }),
  );
  const warnings =
    log.droppedBytes > 0
      ? [
          `the last line of ${log.path} was cut off by the crash (${log.droppedBytes} bytes after event ${resumedAfter}); it was dropped and the run resumed after event ${resumedAfter}`,
        ]
      : [];
  return { ...result, resumedAfter, droppedBytes: log.droppedBytes, warnings };
}
