/**
 * Engine overhead: a parent spawns N no-op children and waits for them, on
 * each executor, with the event log on (a temp folder) and snapshots off.
 * Every case runs in a fresh Node process.
 *
 *   npx tsx bench/overhead.ts                 # all rows
 *   npx tsx bench/overhead.ts --quick         # N = 10,000 only
 *   npx tsx bench/overhead.ts --case fanout --executor inline --n 100000
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { run } from "trellis";
import type { Executor, ExecutorKind } from "trellis";
import { commandFor, runCase } from "./lib/child.ts";
import type { CaseRun } from "./lib/child.ts";
import { epochMs, isEntry, parseArgs, peakRssMiB, printResult } from "./lib/cli.ts";
import { benchRunOptions, executorMissing } from "./lib/engine-env.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { benchFanout } from "./tasks/noop-tasks.ts";

export const GROUP = "Engine overhead (parent spawns N no-op children and waits)";
const FILE = "bench/overhead.ts";

/** What one fan-out case measured. */
export interface FanoutResult {
  readonly executor: ExecutorKind;
  readonly workers: number;
  readonly slotsPerWorker: Slots;
  readonly n: number;
  readonly status: string;
  /** From the parent's first spawn to its waitForAll returning, ms. */
  readonly fanoutMs: number;
  /** The parent's spawn loop alone, ms. */
  readonly spawnMs: number;
  /** `run()` call to return, including worker start and stop, ms. */
  readonly runMs: number;
  /** Peak RSS of the engine process (with its worker threads), MiB. */
  readonly peakRssMiB: number;
  readonly eventsBytes: number;
}

/** A pool's `slotsPerWorker`: `"auto"` is the default executor. */
type Slots = number | "auto";

/** The executor option for `run()`: the kind (the default pool), or a pool with a fixed `slotsPerWorker`. */
async function executorOption(
  executor: ExecutorKind,
  workers: number,
  slotsPerWorker: Slots,
): Promise<ExecutorKind | Executor> {
  if (slotsPerWorker === "auto" || executor === "inline") return executor;
  if (executor === "threads") {
    const { ThreadExecutor } = await import("../dist/runtime/threads/thread-executor.js");
    return new ThreadExecutor({ workers, slotsPerWorker });
  }
  const { ProcessExecutor } = await import("../dist/runtime/processes/process-executor.js");
  return new ProcessExecutor({ workers, slotsPerWorker });
}

/** Runs one fan-out in this process. */
export async function fanoutCase(
  executor: ExecutorKind,
  n: number,
  workers: number,
  slotsPerWorker: Slots = "auto",
): Promise<FanoutResult> {
  const { options, outDir, cleanup } = benchRunOptions({
    executor: await executorOption(executor, workers, slotsPerWorker),
    workers,
  });
  try {
    const t0 = epochMs();
    const r = await run(benchFanout, { n }, options);
    const runMs = epochMs() - t0;
    if (r.status !== "succeeded" || !r.output)
      throw new Error(`fan-out ${executor} N=${n}: run ${r.status}: ${r.error?.message ?? ""}`);
    const o = r.output;
    return {
      executor,
      workers,
      slotsPerWorker,
      n,
      status: r.status,
      fanoutMs: o.endMs - o.startMs,
      spawnMs: o.spawnedMs - o.startMs,
      runMs,
      peakRssMiB: peakRssMiB(),
      eventsBytes: statSync(join(outDir, "events.jsonl")).size,
    };
  } finally {
    cleanup();
  }
}

/** The cases of this group: executor, workers, N, and the target that applies. */
export interface OverheadCase {
  readonly executor: ExecutorKind;
  readonly workers: number;
  /** The pool's `slotsPerWorker` (`"auto"` = the default executor). */
  readonly slots: Slots;
  readonly n: number;
  readonly target?: string;
  readonly check?: (r: FanoutResult) => boolean;
}

/** Cases with a target run this many times, each in a fresh process; the row shows the median (this VM's speed drifts). */
const REPEATS = 3;

export function overheadCases(quick: boolean): OverheadCase[] {
  const sizes = quick ? [10_000] : [10_000, 100_000];
  // Both targets are read at 100,000 children (the issue states N for inline; the same workload for threads):
  // a 10,000-task run lasts a few hundred milliseconds and measures the JIT warming up as much as the engine.
  const threadsTarget = {
    target: "≥ 30,000 tasks/s (2 workers, at 100k)",
    check: (r: FanoutResult) => r.n / (r.fanoutMs / 1000) >= 30_000,
  };
  const out: OverheadCase[] = [];
  for (const n of sizes) {
    out.push({
      executor: "inline",
      workers: 1,
      slots: "auto",
      n,
      ...(n === 100_000
        ? { target: "≤ 10 µs per task (at 100k)", check: (r: FanoutResult) => (r.fanoutMs * 1000) / r.n <= 10 }
        : {}),
    });
    out.push({ executor: "threads", workers: 2, slots: "auto", n, ...(n === 100_000 ? threadsTarget : {}) });
    out.push({ executor: "threads", workers: 2, slots: 1, n });
    out.push({ executor: "processes", workers: 2, slots: "auto", n });
    out.push({ executor: "processes", workers: 2, slots: 1, n });
  }
  return out;
}

export function caseArgs(executor: ExecutorKind, n: number, workers: number, slotsPerWorker: Slots = "auto"): string[] {
  const args = ["--case", "fanout", "--executor", executor, "--n", String(n), "--workers", String(workers)];
  return slotsPerWorker === "auto" || executor === "inline"
    ? args
    : [...args, "--slots-per-worker", String(slotsPerWorker)];
}

function caseName(c: OverheadCase): string {
  const where =
    c.executor === "inline"
      ? "1 slot"
      : c.slots === "auto"
        ? `${c.workers} workers`
        : `${c.workers} workers × ${c.slots} slot${c.slots === 1 ? "" : "s"} (slotsPerWorker)`;
  return `${c.executor}, ${where}, N = ${c.n.toLocaleString("en-US")}`;
}

function noteOf(c: OverheadCase, spread: string | null): { note: string } | Record<string, never> {
  const notes = [
    spread,
    typeof c.slots === "number"
      ? `not the default: ThreadExecutor/ProcessExecutor({ workers: ${c.workers}, slotsPerWorker: ${c.slots} })`
      : null,
  ];
  const text = notes.filter((n) => n !== null).join("; ");
  return text === "" ? {} : { note: text };
}

/** Every row of this group, each measured in a fresh process. */
export async function overheadRows(options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const c of overheadCases(options.quick)) {
    const name = caseName(c);
    const args = caseArgs(c.executor, c.n, c.workers, c.slots);
    const command = commandFor(FILE, args);
    const missing = executorMissing(c.executor);
    if (missing) {
      rows.push(missingRow(GROUP, name, command, missing, c.target));
      continue;
    }
    try {
      const runs: CaseRun<FanoutResult>[] = [];
      for (let i = 0; i < (c.target !== undefined ? REPEATS : 1); i++)
        runs.push(await runCase<FanoutResult>(FILE, args));
      runs.sort((a, b) => a.result.fanoutMs - b.result.fanoutMs);
      const { result: r, descendantsPeakMiB } = runs[Math.floor(runs.length / 2)] as (typeof runs)[number];
      const spread =
        runs.length > 1
          ? `median of ${runs.length} runs (fan-out ${runs.map((x) => Math.round(x.result.fanoutMs).toLocaleString("en-US")).join(" / ")} ms)`
          : null;
      const perTaskUs = (r.fanoutMs * 1000) / r.n;
      rows.push({
        group: GROUP,
        name,
        metrics: {
          "tasks/s": r.n / (r.fanoutMs / 1000),
          "µs/task": perTaskUs,
          "spawn loop µs/task": (r.spawnMs * 1000) / r.n,
          "run() wall ms": r.runMs,
          "peak RSS MiB": r.peakRssMiB,
          "worker procs peak RSS MiB": c.executor === "processes" ? descendantsPeakMiB : null,
          "log MiB": r.eventsBytes / 2 ** 20,
        },
        ...(c.target !== undefined ? { target: c.target } : {}),
        met: c.check ? c.check(r) : null,
        headline: c.executor === "inline" ? "µs/task" : "tasks/s",
        command,
        ...noteOf(c, spread),
      });
    } catch (error) {
      rows.push(missingRow(GROUP, name, command, (error as Error).message, c.target));
    }
  }
  return rows;
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  if (args.get("case") === "fanout") {
    const executor = (args.get("executor") ?? "inline") as ExecutorKind;
    const slots = args.get("slots-per-worker");
    printResult(
      await fanoutCase(
        executor,
        Number(args.get("n") ?? 10_000),
        Number(args.get("workers") ?? 1),
        slots === undefined ? "auto" : Number(slots),
      ),
    );
  } else {
    const rows = await overheadRows({ quick: args.has("quick") });
    console.log(textTable(GROUP, rows));
  }
}
