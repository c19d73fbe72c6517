/**
 * `trellis resume <out-dir>`: continues a run that died (kill -9, power
 * loss, out of memory) from its `events.jsonl`, in the same log. The
 * workflow modules come from the log (`run.started` records them) unless
 * `--module` names them. Exit code: the resumed run's (0 succeeded, 1 failed,
 * 2 halted); a run that already finished is not resumed: one line says so,
 * and the exit code is the one of how it ended.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import { parseLogLine } from "../../events/read-log.ts";
import type { RunStatus } from "../../events/types.ts";
import type { ResumeOptions } from "../../resume.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes, exitCodeFor } from "../../report/exit-codes.ts";
import type { ProgressMode } from "../../report/progress.ts";
import { resumeAndReport } from "../../report/run-and-report.ts";
import { importModule } from "../../runtime/loader/typescript.ts";
import { CliError } from "../cli-error.ts";
import { loadWorkflowModule } from "../load-workflow.ts";
import type { ImageFormat } from "../parse-flags.ts";
import type { ExecutorKind } from "../../runtime/executor.ts";

export interface ResumeFlags {
  /** Workflow modules to load instead of those the log records. */
  readonly module?: string[];
  readonly executor?: ExecutorKind;
  readonly workers?: number;
  readonly maxWorkerCrashes?: number;
  readonly redis?: string;
  readonly queue?: string;
  readonly snapshots?: ResumeOptions["snapshots"];
  readonly formats?: ImageFormat[];
  readonly progress?: "auto" | ProgressMode;
  readonly quiet?: boolean;
  readonly retryFailed?: boolean;
}

/** The modules `run.started` (the log's first line) records, or [] for a log written before they were. */
function recordedModules(path: string): string[] {
  // The first line, however long (the root's inputs are in it): read on until its end.
  const fd = openSync(path, "r");
  const chunks: Buffer[] = [];
  let end = -1;
  try {
    for (let at = 0; end < 0; ) {
      const chunk = Buffer.allocUnsafe(1024 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, at);
      if (n === 0) break;
      const newline = chunk.subarray(0, n).indexOf(10);
      chunks.push(chunk.subarray(0, newline < 0 ? n : newline));
      if (newline >= 0) end = at + newline;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  if (end < 0) return [];
  const first = parseLogLine(Buffer.concat(chunks).toString("utf8"), 1, 1, path);
  return first.kind === "event" && first.event.type === "run.started" ? [...(first.event.data.modules ?? [])] : [];
}

/** Loads the workflow: the `--module` files, else the modules the log records. */
async function loadModules(path: string, flags: ResumeFlags): Promise<void> {
  if (flags.module !== undefined && flags.module.length > 0) {
    for (const spec of flags.module) await loadWorkflowModule(spec);
    return;
  }
  const modules = recordedModules(path);
  if (modules.length === 0)
    throw new CliError(
      ExitCodes.USAGE,
      `${path} does not record the workflow's modules (it was written before trellis resume existed); name the workflow with --module <file>`,
    );
  for (const url of modules) {
    const file = url.startsWith("file:") ? fileURLToPath(url.replace(/\?.*$/, "")) : url;
    if (url.startsWith("file:") && !existsSync(file))
      throw new CliError(
        ExitCodes.NO_INPUT,
        `the workflow module ${file}, which the log records, no longer exists; name the workflow with --module <file>`,
      );
    try {
      await importModule(url, () => import("../../index.ts"));
    } catch (error) {
      throw new CliError(
        ExitCodes.DATA,
        `the workflow module ${file}, which the log records, could not be loaded: ${(error as Error).message.split("\n")[0] ?? ""}; fix it, or name the workflow with --module <file>`,
        {
          cause: error,
        },
      );
    }
  }
}

export async function resumeCommand(outDir: string, flags: ResumeFlags): Promise<ExitCode> {
  const dir = resolve(outDir);
  const path = outDir.endsWith(".jsonl") ? resolve(outDir) : join(dir, "events.jsonl");
  const out = outDir.endsWith(".jsonl") ? resolve(outDir, "..") : dir;
  if (!existsSync(path) || statSync(path).isDirectory())
    throw new CliError(
      ExitCodes.NO_INPUT,
      `cannot find ${path}; name the output folder of a run (the --out of trellis run, which holds events.jsonl)`,
    );
  await loadModules(path, flags);
  const options: ResumeOptions = {
    ...(flags.executor !== undefined ? { executor: flags.executor } : {}),
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    ...(flags.maxWorkerCrashes !== undefined ? { maxWorkerCrashes: flags.maxWorkerCrashes } : {}),
    ...(flags.redis !== undefined ? { redis: flags.redis } : {}),
    ...(flags.queue !== undefined ? { queue: flags.queue } : {}),
    ...(flags.snapshots !== undefined ? { snapshots: flags.snapshots } : {}),
    ...(flags.formats !== undefined ? { formats: flags.formats } : {}),
    retryFailed: flags.retryFailed === true,
  };
  const progress = flags.progress === undefined || flags.progress === "auto" ? undefined : flags.progress;
  const report = { label: basename(out), logs: flags.quiet !== true };
  try {
    const reported = await resumeAndReport(out, options, progress === undefined ? report : { ...report, progress });
    return reported.exitCode;
  } catch (error) {
    if (error instanceof TrellisError && error.code === ErrorCodes.RUN_FINISHED) {
      process.stderr.write(`trellis: ${error.message}\n`);
      return exitCodeFor(error.details["status"] as RunStatus);
    }
    if (error instanceof TrellisError && error.code === ErrorCodes.LOG_FORMAT)
      throw new CliError(ExitCodes.DATA, error.message);
    if (error instanceof TrellisError && error.code === ErrorCodes.UNKNOWN_TASK)
      throw new CliError(ExitCodes.USAGE, `${error.message}; name it with --module <file>`);
    if (error instanceof TrellisError && error.code === ErrorCodes.OUTPUT_DIR)
      throw new CliError(ExitCodes.CANT_CREATE, error.message);
    throw error;
  }
}
