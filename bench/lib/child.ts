/**
 * Runs one benchmark case in a fresh Node process, so peak memory and JIT
 * state never leak from one row into the next. The case prints one
 * `RESULT_MARK` line with its JSON result; everything else it prints is kept
 * for error messages.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { fileURLToPath } from "node:url";
import { RESULT_MARK } from "./cli.ts";

/** The repository root (bench/lib/../..). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface CaseRun<T> {
  readonly result: T;
  /** Wall time of the whole child process, ms. */
  readonly wallMs: number;
  /** Sum of the peak RSS (VmHWM) of the case's descendant processes (workers of the processes executor), MiB; 0 when none. */
  readonly descendantsPeakMiB: number;
}

export interface CaseOptions {
  /** Kill the case after this long. Default 10 minutes. */
  readonly timeoutMs?: number;
  /** Extra Node flags (e.g. `--expose-gc`, `--cpu-prof`). */
  readonly nodeFlags?: readonly string[];
}

function parentOf(pid: string): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: the ppid is the 2nd field after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[1] ?? null;
  } catch {
    return null;
  }
}

function vmHwmKiB(pid: string): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak RSS seen so far per descendant pid of `root` (Linux /proc; nothing elsewhere). */
function sampleDescendants(root: number, peaks: Map<string, number>): void {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return;
  }
  const parents = new Map(pids.map((p) => [p, parentOf(p)]));
  const inTree = new Set([String(root)]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents)
      if (ppid !== null && inTree.has(ppid) && !inTree.has(pid)) {
        inTree.add(pid);
        grew = true;
      }
  }
  inTree.delete(String(root));
  for (const pid of inTree) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, vmHwmKiB(pid)));
}

/**
 * Nice value for the case processes: `TRELLIS_BENCH_NICE`, else -10 when
 * running as root (the machine is shared: a higher priority keeps other work
 * from stretching the figures; on a quiet machine it changes nothing), else 0.
 */
export function benchNice(): number {
  const env = process.env["TRELLIS_BENCH_NICE"];
  if (env !== undefined && env !== "") return Number(env);
  return process.getuid?.() === 0 ? -10 : 0;
}

/** Raises the priority of a freshly spawned case (its threads and children inherit it); ignores refusals. */
export function prioritise(pid: number | undefined): void {
  const nice = benchNice();
  if (pid === undefined || nice === 0) return;
  try {
    setPriority(pid, nice);
  } catch {
    // Not permitted: measure at the default priority.
  }
}

/** The command a reader types to run `file` with `args` (for the tables). */
export function commandFor(file: string, args: readonly string[]): string {
  return ["npx tsx", file, ...args].join(" ");
}

/**
 * Runs `node --import tsx <file> <args>` from the repository root and returns
 * the parsed result line.
 *
 * @throws Error with the tail of the case's output when it exits without a result.
 */
export function runCase<T>(file: string, args: readonly string[], options: CaseOptions = {}): Promise<CaseRun<T>> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), "--import", "tsx", file, ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0" },
    });
    prioritise(child.pid);
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const peaks = new Map<string, number>();
    const sampler = setInterval(() => {
      if (child.pid !== undefined) sampleDescendants(child.pid, peaks);
    }, 100);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearInterval(sampler);
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      const line = out.split("\n").find((l) => l.startsWith(RESULT_MARK));
      if (!line) {
        const why =
          signal === "SIGKILL"
            ? `killed after ${timeoutMs} ms`
            : `exit code ${String(code)}${signal ? `, signal ${signal}` : ""}`;
        const tail = (err.trim() || out.trim()).split("\n").slice(-6).join(" | ");
        reject(new Error(`${commandFor(file, args)}: no result (${why}): ${tail.slice(0, 600)}`));
        return;
      }
      let descendants = 0;
      for (const v of peaks.values()) descendants += v;
      resolve({
        result: JSON.parse(line.slice(RESULT_MARK.length)) as T,
        wallMs,
        descendantsPeakMiB: descendants / 1024,
      });
    });
  });
}
