/**
 * The end-of-run summary printed by `trellis run` and `runIfMain`: status,
 * output, time, counts, violations with their figures, and where the outputs
 * are. Pure formatting: takes data, returns text.
 */
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import type { SerializedError } from "../errors.ts";
import type { Counts, RunStatus } from "../events/types.ts";
import { TaskStatuses } from "../events/types.ts";

import type { ViolationNote } from "../promises/describe.ts";
import { describeViolation } from "../promises/describe.ts";

export type { ViolationNote } from "../promises/describe.ts";
export { describeFigures, describePromise, describeViolation } from "../promises/describe.ts";

/** The task a failed run went wrong in, from its `task.failed` event. */
export interface FailureNote {
  readonly id: string;
  /** The attempt that failed last (retries included). */
  readonly attempt: number;
  readonly error: SerializedError;
}

/** How long one task ran. */
export interface TaskTime {
  readonly id: string;
  readonly ms: number;
}

/** What the summary shows. */
export interface SummaryInput {
  /** What ran: the module or demo name. */
  readonly label: string;
  readonly status: RunStatus;
  readonly output: unknown;
  readonly error: SerializedError | null;
  readonly counts: Counts;
  /** Instances that succeeded from the results cache. Default 0. */
  readonly cached?: number;
  readonly durationMs: number;
  readonly violations: readonly ViolationNote[];
  /** The output folder, when there is one. */
  readonly out: string | null;
  /** The task that failed first with an error of its own; shown when the run did not succeed. */
  readonly failure?: FailureNote | null;
  /** The tasks that ran longest, longest first; shown when the run did not succeed. */
  readonly slowest?: readonly TaskTime[];
}

/** `5 succeeded, 1 cancelled` (statuses with a non-zero count, in status order); `5 succeeded (3 from the cache)` when some did not run. */
export function describeCounts(counts: Counts, cached = 0): string {
  const parts = TaskStatuses.filter((s) => counts[s] > 0).map(
    (s) => `${counts[s]} ${s}${s === "succeeded" && cached > 0 ? ` (${cached} from the cache)` : ""}`,
  );
  return parts.length > 0 ? parts.join(", ") : "none";
}

/** A value on one line, capped so a big output never floods the terminal. */
export function describeValue(value: unknown, max = 200): string {
  const text = inspect(value, {
    depth: 4,
    breakLength: Infinity,
    maxArrayLength: 20,
    maxStringLength: max,
    colors: false,
    compact: true,
  });
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Seconds with two decimals: `0.42 s`. */
export function describeDuration(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Files in `<out>/<folder>`, or 0 when the folder does not exist. */
export function countFiles(out: string, folder: string): number {
  const dir = join(out, folder);
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).filter((f) => !f.startsWith(".")).length;
}

/** `outputs/map_reduce/ (events.jsonl, 14 dots, 14 pngs)`. */
export function describeOutputs(out: string, cwd = process.cwd()): string {
  const rel = relative(cwd, out);
  const shown = rel === "" ? "." : rel.startsWith("..") ? out : rel;
  const parts: string[] = [];
  if (existsSync(join(out, "events.jsonl"))) parts.push("events.jsonl");
  for (const folder of ["dots", "pngs", "svgs"]) {
    const n = countFiles(out, folder);
    if (n > 0) parts.push(`${folder}/ (${n})`);
  }
  return `${shown}/${parts.length > 0 ? `  ${parts.join(", ")}` : ""}`;
}

/** `420 ms` under a second, `1.25 s` above. */
export function describeTaskTime(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : describeDuration(ms);
}

/** Trellis's own folders: frames in them are not the user's code. */
const OWN_DIRS = ["src", "bin", "dist"].map((d) => fileURLToPath(new URL(`../../${d}/`, import.meta.url)));

/**
 * The first frame of `stack` in the user's code, as `file:line:col` (relative
 * to `cwd` when inside it): not Node's internals, not a dependency, not
 * Trellis itself. `null` when there is none (a worker crash, a timeout).
 */
export function userFrame(
  stack: string | undefined,
  cwd = process.cwd(),
  ownDirs: readonly string[] = OWN_DIRS,
): string | null {
  if (stack === undefined) return null;
  for (const line of stack.split("\n")) {
    const m = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!m) continue;
    let file = m[1] as string;
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (!isAbsolute(file) || file.includes("/node_modules/") || ownDirs.some((d) => file.startsWith(d))) continue;
    const rel = relative(cwd, file);
    return `${rel.startsWith("..") ? file : rel}:${m[2]}:${m[3]}`;
  }
  return null;
}

/** `cli_boom (attempt 2): RangeError: boom` and, on the next line, where in the user's code. */
export function describeFailure(f: FailureNote, cwd = process.cwd()): string[] {
  const attempt = f.attempt > 1 ? `failed after ${f.attempt} attempts` : "attempt 1";
  const lines = [`${f.id} (${attempt}): ${f.error.name}: ${f.error.message.split("\n")[0] ?? ""}`];
  const at = userFrame(f.error.stack, cwd);
  if (at !== null) lines.push(`at ${at}`);
  return lines;
}

const HEADLINE: Record<RunStatus, string> = {
  succeeded: "succeeded",
  failed: "FAILED",
  halted: "HALTED by a broken promise",
  cancelled: "cancelled",
};

/** The whole summary, one fact a line. */
/**
 * `CODE: first line of the message`, without the message's own lower-case
 * repeat of the code (a deadlock's message starts with "deadlock:").
 */
export function codeAndMessage(code: string, message: string): string {
  const first = message.split("\n")[0] ?? "";
  const repeat = `${code.toLowerCase()}: `;
  return `${code}: ${first.toLowerCase().startsWith(repeat) ? first.slice(repeat.length) : first}`;
}

export function formatSummary(s: SummaryInput): string {
  const lines = [`${s.label}: ${HEADLINE[s.status]} in ${describeDuration(s.durationMs)}`];
  const row = (key: string, value: string) => lines.push(`  ${key.padEnd(11)} ${value}`);
  row("output", s.status === "succeeded" ? describeValue(s.output) : "(none)");
  row("tasks", describeCounts(s.counts, s.cached ?? 0));
  if (s.violations.length === 0) row("violations", "none");
  else s.violations.forEach((v, i) => row(i === 0 ? "violations" : "", describeViolation(v)));
  const failed = s.status !== "succeeded";
  const f = failed ? (s.failure ?? null) : null;
  if (f !== null) describeFailure(f).forEach((line, i) => row(i === 0 ? "failed" : "", line));
  // The run's own error, unless it is the failed task's error again.
  const same = f !== null && s.error !== null && f.error.code === s.error.code && f.error.message === s.error.message;
  if (s.error && failed && s.status !== "halted" && !same) row("error", codeAndMessage(s.error.code, s.error.message));
  if (failed && s.slowest && s.slowest.length > 0)
    row("slowest", s.slowest.map((t) => `${t.id} ${describeTaskTime(t.ms)}`).join(", "));
  if (s.out !== null) row("outputs", describeOutputs(s.out));
  return lines.join("\n");
}
