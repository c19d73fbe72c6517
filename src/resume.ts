/**
 * `resume(outDir, options)`: continues a run that died (kill -9, power loss,
 * out of memory) from its event log, in the same log, with the snapshot
 * observer attached like `run()`. Light to import, as run.ts: the engine
 * loads when `resume` is first called.
 */
import type { RunOptions } from "./run.ts";
import { checkSnapshotOptions, createSnapshotObserver } from "./render/snapshots.ts";
import type { EngineResumeOptions, ResumeResult } from "./runtime/resume.ts";
import { refuseInWorker } from "./runtime/worker-flag.ts";

/** Options of {@link resume}: those of `run()` but `out` and `runId` (the log's), plus `retryFailed`. */
export interface ResumeOptions extends EngineResumeOptions, Pick<RunOptions, "snapshots" | "formats"> {}

/**
 * Continues the run whose log is `<outDir>/events.jsonl` until it ends, in
 * the same log: a `run.resumed` event, then `seq` goes on without a gap.
 * Succeeded tasks keep their recorded output and do not run again; tasks
 * that were running, waiting or pending run (a new attempt); the root runs
 * again when it did not finish, and each child it spawns again re-attaches
 * to the one the log holds. A failed task stays failed unless `retryFailed`.
 * A last line cut off by the crash is dropped and named in `warnings`.
 *
 * The definitions must be registered: import the workflow module first.
 * The executor defaults to the one the run used; snapshots start again from
 * frame 1 (`trellis render` draws the whole run from the log).
 *
 * @example
 * import "./flow.ts"; // registers the tasks
 * const result = await resume("outputs/flow");
 * if (result.warnings.length > 0) console.warn(result.warnings.join("\n"));
 *
 * @throws TrellisError `RUN_FINISHED` when the run already ended (unless
 *   `retryFailed` and some task did not succeed); `LOG_FORMAT` for a log that
 *   cannot be read (a bad line is named); `UNKNOWN_TASK` when the root's
 *   definition is not registered; `INVALID_OPTION`, `OUTPUT_DIR` as `run()`.
 */
export async function resume<O = unknown>(outDir: string, options: ResumeOptions = {}): Promise<ResumeResult<O>> {
  refuseInWorker("resume");
  const { resumeEngine } = await import("./runtime/resume.ts");
  return resumeEngine<O>(outDir, options, () => {
    checkSnapshotOptions(options.snapshots, options.formats);
    const snapshots = createSnapshotObserver({
      out: outDir,
      policy: options.snapshots ?? "auto",
      formats: options.formats ?? ["png"],
    });
    return options.snapshots === "none" ? null : snapshots;
  });
}
