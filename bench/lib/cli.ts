/**
 * Small helpers shared by the bench programs: argument parsing, "am I the
 * entry module", and the marker line a case prints its result on.
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Prefix of the single stdout line that carries a case's JSON result. */
export const RESULT_MARK = "@@bench-result ";

/** True when the module at `importMetaUrl` is the program being run (not imported by bench/all.ts). */
export function isEntry(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(fileURLToPath(importMetaUrl)) === realpathSync(resolve(entry));
  } catch {
    return false;
  }
}

/** `--key value` and bare `--flag` arguments; a flag maps to `"true"`. */
export function parseArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("--")) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      out.set(a.slice(2), next);
      i++;
    } else out.set(a.slice(2), "true");
  }
  return out;
}

/** Prints a case's result for the parent process to read. */
export function printResult(value: unknown): void {
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(value)}\n`);
}

/** Peak resident memory of this process so far, in MiB (getrusage maxrss). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Wall-clock time in ms since the epoch with sub-millisecond resolution, comparable across threads and processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
