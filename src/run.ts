/**
 * `run(task, inputs, options)`: the public entry point of the engine. It sits
 * above runtime/ and render/ and wires them: the engine (runtime/run.ts) runs
 * the workflow, and the snapshot observer (render/snapshots.ts) draws it.
 * Light to import: every worker imports the package entry that exports
 * `run`, so the engine loads when `run` is first called.
 */
import type { SnapshotPolicy } from "./render/frames.ts";
import type { ImageFormat } from "./render/images.ts";
import { checkSnapshotOptions, createSnapshotObserver } from "./render/snapshots.ts";
import type { EngineRunOptions, RunResult } from "./runtime/run.ts";
import { refuseInWorker } from "./runtime/worker-flag.ts";
import type { TaskDefinition } from "./task/define.ts";

/** Options of {@link run}. */
export interface RunOptions extends EngineRunOptions {
  /**
   * Snapshots under `out` (`dots/`, `pngs/`): `auto` (default when `out` is given), `all`, `steps`, `final` or `none`.
   * Nothing without `out`. The frames of an earlier run in `out` are removed first, also under `none`.
   */
  readonly snapshots?: SnapshotPolicy;
  /** Images drawn for each snapshot. Default `["png"]`. */
  readonly formats?: readonly ImageFormat[];
}

/**
 * Runs `root` with `inputs` until no instance can make progress.
 *
 * @example
 * const result = await run(squareBatch, { numbers: [1, 2, 3] }, { out: "outputs/map_reduce" });
 * if (result.status === "succeeded") console.log(result.output);
 *
 * @throws TrellisError `RUN_IN_WORKER` when called inside a Trellis worker
 *   (a workflow module that calls `run` at top level is being loaded by a
 *   worker: guard the call with `runIfMain(import.meta.url, ...)`);
 *   `INVALID_OPTION` for a bad option; `OUTPUT_DIR` when `out` cannot be written.
 */
export async function run<I, O>(
  root: TaskDefinition<I, O>,
  inputs: I,
  options: RunOptions = {},
): Promise<RunResult<O>> {
  refuseInWorker("run"); // before the engine loads: a worker's module that calls run() fails while it loads
  const { runEngine } = await import("./runtime/run.ts");
  return runEngine(root, inputs, options, () => {
    checkSnapshotOptions(options.snapshots, options.formats);
    if (options.out === undefined) return null;
    // Also under "none": the observer then only removes an earlier run's frames.
    const snapshots = createSnapshotObserver({
      out: options.out,
      policy: options.snapshots ?? "auto",
      formats: options.formats ?? ["png"],
    });
    return options.snapshots === "none" ? null : snapshots;
  });
}
