/**
 * What the engine benches need to know about the engine they run against:
 * which executors exist yet, and the run options for "event log on,
 * snapshots off".
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutorKind, RunOptions } from "trellis";
import { REPO_ROOT } from "./child.ts";

const EXECUTOR_FILES: Readonly<Record<ExecutorKind, string>> = {
  inline: "src/runtime/inline-executor.ts",
  threads: "src/runtime/threads/thread-executor.ts",
  processes: "src/runtime/processes/process-executor.ts",
  bullmq: "src/runtime/bullmq/bullmq-executor.ts",
};

/** Null when the executor's source is present, else why it cannot be measured. */
export function executorMissing(kind: ExecutorKind): string | null {
  const file = EXECUTOR_FILES[kind];
  return existsSync(join(REPO_ROOT, file)) ? null : `${file} does not exist yet`;
}

/** Run options with the event log written to a fresh temp folder and snapshots off (`snapshots: "none"`). */
export function benchRunOptions(extra: RunOptions): { options: RunOptions; outDir: string; cleanup: () => void } {
  const outDir = mkdtempSync(join(tmpdir(), "trellis-bench-"));
  const options: RunOptions = { snapshots: "none", ...extra, out: outDir };
  return { options, outDir, cleanup: () => rmSync(outDir, { recursive: true, force: true }) };
}
