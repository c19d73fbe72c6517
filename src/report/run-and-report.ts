/**
 * Runs a task with live progress and prints the summary: the common part of
 * `trellis run` and {@link runIfMain}.
 */
import { resolve } from "node:path";
import type { RunOptions } from "../run.ts";
import { run } from "../run.ts";
import type { SerializedError } from "../errors.ts";
import type { Counts, RunStatus } from "../events/types.ts";
import type { ResumeOptions } from "../resume.ts";
import { resume } from "../resume.ts";
import type { RunResult } from "../runtime/run.ts";
import type { TaskDefinition } from "../task/define.ts";
import type { ExitCode } from "./exit-codes.ts";
import { exitCodeFor } from "./exit-codes.ts";
import { detectProgressMode, ProgressReporter } from "./progress.ts";
import type { ProgressMode } from "./progress.ts";
import { formatSummary } from "./summary.ts";
import type { ViolationNote } from "./summary.ts";

export interface ReportOptions {
  /** Shown on the progress line and the summary's first line. */
  readonly label: string;
  /** Default: a spinner on a terminal, plain lines otherwise. */
  readonly progress?: ProgressMode;
  /** Where the summary goes. Default stdout. */
  readonly stdout?: NodeJS.WritableStream;
  /** Where progress goes. Default stderr. */
  readonly stderr?: NodeJS.WriteStream;
  /** Show `ctx.log(...)` lines on stderr as they happen. Default `true` (`--quiet` sets `false`). */
  readonly logs?: boolean;
}

export interface ReportedRun<O> {
  readonly result: RunResult<O>;
  readonly exitCode: ExitCode;
  readonly violations: readonly ViolationNote[];
}

/**
 * Runs `root` and prints a summary. Ctrl-C cancels the run cleanly (exit 130);
 * a second Ctrl-C exits at once. If the process exits while the run is
 * active (a task calls `process.exit` on the inline executor), the engine
 * ends the run in the log and the summary is printed before the process goes.
 */
export function runAndReport<I, O>(
  root: TaskDefinition<I, O>,
  inputs: I,
  options: RunOptions,
  report: ReportOptions,
): Promise<ReportedRun<O>> {
  return reportRun(options, report, (o) => run(root, inputs, o));
}

/** {@link runAndReport} for `resume(outDir)`: the resumed run with live progress and a summary; the log's warnings go to stderr. */
export function resumeAndReport<O>(
  outDir: string,
  options: ResumeOptions,
  report: ReportOptions,
): Promise<ReportedRun<O>> {
  const stderr = report.stderr ?? process.stderr;
  return reportRun({ ...options, out: outDir }, report, async (o) => {
    const { out: _out, ...rest } = o;
    const result = await resume<O>(outDir, rest);
    for (const w of result.warnings) stderr.write(`trellis: warning: ${w}\n`);
    return result;
  });
}

/** Runs `go` with progress and Ctrl-C handling wired into its options, then prints the summary. */
async function reportRun<O, T extends RunOptions>(
  options: T,
  report: ReportOptions,
  go: (options: T) => Promise<RunResult<O>>,
): Promise<ReportedRun<O>> {
  const stderr = report.stderr ?? process.stderr;
  const reporter = new ProgressReporter({
    mode: report.progress ?? detectProgressMode(stderr),
    label: report.label,
    stream: stderr,
    logs: report.logs ?? true,
  });
  const controller = new AbortController();
  if (options.signal)
    options.signal.addEventListener("abort", () => controller.abort(options.signal?.reason), { once: true });
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    stderr.write("\ninterrupted: cancelling the run (Ctrl-C again to quit at once)\n");
    controller.abort(new Error("interrupted"));
  };
  const out = options.out !== undefined ? resolve(options.out) : null;
  const summary = (r: {
    status: RunStatus;
    output: unknown;
    error: SerializedError | null;
    counts: Counts;
    cached?: number;
    durationMs: number;
  }): void => {
    const text = formatSummary({
      label: report.label,
      ...r,
      violations: reporter.violations,
      out,
      failure: reporter.failure,
      slowest: reporter.slowest(),
    });
    (report.stdout ?? process.stdout).write(`${text}\n`);
  };
  // Registered before the run's own exit handlers, so it runs after the engine has ended the run in the log.
  const onExit = (): void => {
    reporter.stop();
    const end = reporter.finished;
    if (end)
      summary({
        status: end.status,
        output: undefined,
        error: end.error,
        counts: end.counts,
        durationMs: end.durationMs,
      });
  };
  process.on("SIGINT", onSigint);
  process.on("exit", onExit);
  await reporter.start();
  let result: RunResult<O>;
  try {
    result = await go({ ...options, signal: controller.signal, observers: [...(options.observers ?? []), reporter] });
  } finally {
    reporter.stop();
    // Interrupted once, the next Ctrl-C still quits at once, as the message said, after the run too (a task that
    // never finishes can keep the process alive). Taken off here, a Ctrl-C caught just before could be lost: Node
    // had caught the signal, and no listener was left to act on it.
    if (interrupts === 0) process.off("SIGINT", onSigint);
    process.off("exit", onExit);
  }
  summary(result);
  return { result, exitCode: exitCodeFor(result.status), violations: reporter.violations };
}
