/**
 * `runIfMain(import.meta.url, task, inputs)`: lets a workflow file run itself
 * with `npx tsx file.ts` while staying importable by `trellis run`, by tests
 * and by worker threads (where it does nothing).
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunOptions } from "../run.ts";
import type { RunResult } from "../runtime/run.ts";
import { isMain } from "../runtime/is-main.ts";
import type { TaskDefinition } from "../task/define.ts";

/**
 * Runs `root` over `inputs` when the module at `importMetaUrl` is the
 * program's entry, prints live progress and a summary, and sets
 * `process.exitCode` (0 succeeded, 1 failed, 2 halted by a promise, 130
 * cancelled). When the module is imported instead (by `trellis run`, a test,
 * or a worker loading its tasks) it does nothing and resolves with `null`.
 *
 * Default `out`: `outputs/<file name without extension>` under the current folder.
 *
 * @example
 * export default squareBatch;
 * export const inputs = { numbers: [1, 2, 3, 4, 5, 6] };
 * await runIfMain(import.meta.url, squareBatch, inputs);
 */
export async function runIfMain<I, O>(
  importMetaUrl: string,
  root: TaskDefinition<I, O>,
  inputs: I,
  options: RunOptions = {},
): Promise<RunResult<O> | null> {
  if (!isMain(importMetaUrl)) return null;
  const name = basename(fileURLToPath(importMetaUrl)).replace(/\.[cm]?[jt]sx?$/, "");
  // Loaded only here so that importing "trellis" (as every worker does) never loads the terminal code.
  const { runAndReport } = await import("./run-and-report.ts");
  const reported = await runAndReport(root, inputs, { out: join("outputs", name), ...options }, { label: name });
  process.exitCode = reported.exitCode;
  return reported.result;
}
