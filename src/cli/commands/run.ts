/**
 * `trellis run <module>`: runs a workflow module's entry task with live
 * progress, then prints the summary. Exit code: 0 succeeded, 1 failed,
 * 2 halted by a promise.
 */
import { join } from "node:path";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import type { RunOptions } from "../../run.ts";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes } from "../../report/exit-codes.ts";
import { loadWorkflowModule, moduleOptions, pickEntry, pickInputs } from "../load-workflow.ts";
import type { ImageFormat } from "../parse-flags.ts";
import type { ProgressMode } from "../../report/progress.ts";
import { runAndReport } from "../../report/run-and-report.ts";

export interface RunFlags {
  readonly task?: string;
  readonly input?: string;
  readonly out?: string;
  readonly executor?: "inline" | "threads" | "processes";
  readonly workers?: number;
  readonly snapshots?: string;
  readonly formats?: ImageFormat[];
  readonly onViolation?: "halt" | "reject";
  readonly progress?: "auto" | ProgressMode;
  /** Hide the tasks' `ctx.log(...)` lines (they stay in events.jsonl). */
  readonly quiet?: boolean;
}

/** Run options from the module's `options` export, overridden by the flags. */
export function runOptionsFrom(flags: RunFlags, fromModule: Record<string, unknown>, defaultOut: string): RunOptions {
  const options: Record<string, unknown> = { ...fromModule };
  options["out"] = flags.out ?? (typeof fromModule["out"] === "string" ? fromModule["out"] : defaultOut);
  if (flags.executor !== undefined) options["executor"] = flags.executor;
  if (flags.workers !== undefined) options["workers"] = flags.workers;
  if (flags.onViolation !== undefined) options["onViolation"] = flags.onViolation;
  if (flags.snapshots !== undefined) options["snapshots"] = flags.snapshots;
  if (flags.formats !== undefined) options["formats"] = flags.formats;
  return options as RunOptions;
}

export async function runCommand(moduleSpec: string, flags: RunFlags): Promise<ExitCode> {
  const mod = await loadWorkflowModule(moduleSpec);
  const entry = pickEntry(mod, flags.task);
  const { inputs, note } = pickInputs(mod, flags.input, entry);
  if (note !== null) process.stderr.write(`trellis: note: ${note}\n`);
  const options = runOptionsFrom(flags, moduleOptions(mod), join("outputs", mod.name));
  const progress = flags.progress === undefined || flags.progress === "auto" ? undefined : flags.progress;
  try {
    const report = { label: mod.name, logs: flags.quiet !== true };
    const reported = await runAndReport(entry, inputs, options, progress === undefined ? report : { ...report, progress });
    return reported.exitCode;
  } catch (error) {
    // Bad options from the module's `options` export, or an --out that cannot be written.
    if (error instanceof TrellisError && error.code === ErrorCodes.INVALID_OPTION) throw new CliError(ExitCodes.USAGE, `${error.message}; fix the \`options\` export of "${moduleSpec}" or the flag`);
    if (error instanceof TrellisError && error.code === ErrorCodes.OUTPUT_DIR) throw new CliError(ExitCodes.CANT_CREATE, error.message);
    throw error;
  }
}
