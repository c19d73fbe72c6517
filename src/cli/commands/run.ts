/**
 * `trellis run <module>`: runs a workflow module's entry task with live
 * progress, then prints the summary. Exit code: 0 succeeded, 1 failed,
 * 2 halted by a promise.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import type { RunOptions } from "../../run.ts";
import type { ExecutorKind } from "../../runtime/executor.ts";
import { discardPrestarted } from "../../runtime/threads/thread-transport.ts";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes } from "../../report/exit-codes.ts";
import { loadWorkflowModule, moduleOptions, pickEntry, pickInputs } from "../load-workflow.ts";
import type { ImageFormat } from "../parse-flags.ts";
import type { ProgressMode } from "../../report/progress.ts";
import { runAndReport } from "../../report/run-and-report.ts";
import type { Viewer } from "../../view/server.ts";

export interface RunFlags {
  readonly task?: string;
  readonly input?: string;
  readonly out?: string;
  readonly executor?: ExecutorKind;
  readonly workers?: number;
  readonly maxWorkerCrashes?: number;
  readonly redis?: string;
  readonly queue?: string;
  readonly snapshots?: string;
  readonly formats?: ImageFormat[];
  readonly onViolation?: "halt" | "reject";
  /** `--cache <dir>` (a folder) or `--no-cache` (false). */
  readonly cache?: string | boolean;
  readonly progress?: "auto" | ProgressMode;
  /** Hide the tasks' `ctx.log(...)` lines (they stay in events.jsonl). */
  readonly quiet?: boolean;
  /** Serve the viewer for this run (and after it, until Ctrl-C). */
  readonly view?: boolean;
  readonly port?: number;
  readonly host?: string;
  readonly open?: boolean;
}

/** Run options from the module's `options` export, overridden by the flags. */
export function runOptionsFrom(flags: RunFlags, fromModule: Record<string, unknown>, defaultOut: string): RunOptions {
  const options: Record<string, unknown> = { ...fromModule };
  options["out"] = flags.out ?? (typeof fromModule["out"] === "string" ? fromModule["out"] : defaultOut);
  if (flags.executor !== undefined) options["executor"] = flags.executor;
  if (flags.workers !== undefined) options["workers"] = flags.workers;
  if (flags.maxWorkerCrashes !== undefined) options["maxWorkerCrashes"] = flags.maxWorkerCrashes;
  if (flags.redis !== undefined) options["redis"] = flags.redis;
  if (flags.queue !== undefined) options["queue"] = flags.queue;
  if (flags.onViolation !== undefined) options["onViolation"] = flags.onViolation;
  if (flags.snapshots !== undefined) options["snapshots"] = flags.snapshots;
  if (flags.formats !== undefined) options["formats"] = flags.formats;
  if (typeof flags.cache === "string") options["cache"] = { dir: flags.cache };
  else if (flags.cache === false) options["cache"] = false;
  return options as RunOptions;
}

/** Runs the workflow; stops the threads started ahead of it (see run-threads.ts) that it did not take. */
export async function runCommand(moduleSpec: string, flags: RunFlags): Promise<ExitCode> {
  try {
    return await runModule(moduleSpec, flags);
  } finally {
    await discardPrestarted();
  }
}

async function runModule(moduleSpec: string, flags: RunFlags): Promise<ExitCode> {
  const mod = await loadWorkflowModule(moduleSpec);
  const entry = pickEntry(mod, flags.task);
  const { inputs, note } = pickInputs(mod, flags.input, entry);
  if (note !== null) process.stderr.write(`trellis: note: ${note}\n`);
  const options = runOptionsFrom(flags, moduleOptions(mod), join("outputs", mod.name));
  if ((options.executor ?? "threads") !== "threads") await discardPrestarted(); // the module's options chose another
  const progress = flags.progress === undefined || flags.progress === "auto" ? undefined : flags.progress;
  if (flags.view !== true && (flags.port !== undefined || flags.host !== undefined || flags.open === true))
    throw new CliError(
      ExitCodes.USAGE,
      "--port, --host and --open are options of the viewer; add --view (trellis run <module> --view --port 8080)",
    );
  const viewer = flags.view === true ? await startLiveViewer(String(options.out), flags) : null;
  try {
    const report = { label: mod.name, logs: flags.quiet !== true };
    const reported = await runAndReport(
      entry,
      inputs,
      options,
      progress === undefined ? report : { ...report, progress },
    );
    if (viewer) {
      // Ctrl-C is listened for before the message asks for it: a Ctrl-C with no listener would kill the process.
      const { untilInterrupted } = await import("./view.ts");
      const interrupted = untilInterrupted();
      process.stderr.write(`trellis: the viewer stays open at ${viewer.url}; Ctrl-C to stop it\n`);
      await interrupted;
    }
    return reported.exitCode;
  } catch (error) {
    // Bad options from the module's `options` export, or an --out that cannot be written.
    if (error instanceof TrellisError && error.code === ErrorCodes.INVALID_OPTION)
      throw new CliError(
        ExitCodes.USAGE,
        `${error.message}; fix the \`options\` export of "${moduleSpec}" or the flag`,
      );
    if (error instanceof TrellisError && error.code === ErrorCodes.OUTPUT_DIR)
      throw new CliError(ExitCodes.CANT_CREATE, error.message);
    throw error;
  } finally {
    await viewer?.close();
  }
}

/** The viewer of `run --view`: it shows the log this run writes, not the one an earlier run left in the folder. */
async function startLiveViewer(out: string, flags: RunFlags): Promise<Viewer> {
  try {
    mkdirSync(out, { recursive: true });
  } catch {
    // The run reports an --out it cannot write; the viewer polls until the log appears.
  }
  // Loaded only with --view: a plain run never pays for the server.
  const { announce, startViewerForCli } = await import("./view.ts");
  const viewFlags = {
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    open: flags.open === true,
  };
  const viewer = await startViewerForCli(resolve(out, "events.jsonl"), viewFlags, { skipExisting: true });
  announce(viewer, viewFlags, (line) => process.stderr.write(`trellis: ${line} (live)\n`));
  return viewer;
}
