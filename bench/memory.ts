/**
 * Memory: resident memory with a plan of N finished no-op tasks (a parent
 * spawns N children and waits; inline executor; event log to a file in a temp
 * folder). Target: ≤ 1 GiB at N = 1,000,000. Also where the memory goes: a
 * heap snapshot of the finished run at 100,000 tasks, grouped by object kind.
 *
 *   npx tsx bench/memory.ts [--quick]
 *   npx tsx bench/memory.ts --case memory --n 1000000
 *   npx tsx bench/memory.ts --case breakdown --n 100000
 */
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { run } from "trellis";
import { runCase } from "./lib/child.ts";
import { epochMs, isEntry, parseArgs, peakRssMiB, printResult } from "./lib/cli.ts";
import { benchRunOptions } from "./lib/engine-env.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { benchFanout } from "./tasks/noop-tasks.ts";

export const GROUP = "Memory (plan of N finished no-op tasks, inline, log to a file)";
export const BREAKDOWN_GROUP = "Memory: where it goes (heap snapshot of a finished run, self size by object kind)";
const FILE = "bench/memory.ts";
const MiB = 2 ** 20;
const GIB_MIB = 1024;

export interface MemoryResult {
  readonly n: number;
  readonly runMs: number;
  readonly peakRssMiB: number;
  /** Highest heapUsed sampled every 50 ms during the run, MiB. */
  readonly peakHeapMiB: number;
  /** After the run and a full GC, with the plan still referenced. */
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
}

/** Runs the fan-out and measures memory in this process (run with `--expose-gc`). */
export async function memoryCase(n: number): Promise<MemoryResult> {
  const { options, cleanup } = benchRunOptions({ executor: "inline" });
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  try {
    const t0 = epochMs();
    const r = await run(benchFanout, { n }, options);
    const runMs = epochMs() - t0;
    clearInterval(sampler);
    if (r.status !== "succeeded") throw new Error(`run ${r.status}: ${r.error?.message ?? ""}`);
    collect();
    const m = process.memoryUsage();
    const result: MemoryResult = {
      n,
      runMs,
      peakRssMiB: peakRssMiB(),
      peakHeapMiB: Math.max(peakHeap, m.heapUsed) / MiB,
      rssMiB: m.rss / MiB,
      heapUsedMiB: m.heapUsed / MiB,
      heapTotalMiB: m.heapTotal / MiB,
      externalMiB: m.external / MiB,
    };
    if (r.plan.nodes.size !== n + 1) throw new Error(`plan has ${r.plan.nodes.size} nodes, expected ${n + 1}`);
    return result;
  } finally {
    clearInterval(sampler);
    cleanup();
  }
}

export interface BreakdownEntry {
  readonly kind: string;
  readonly count: number;
  readonly bytes: number;
}

/** Groups a V8 heap snapshot's nodes by `type:name` (constructor for objects) and sums their self sizes. */
function groupSnapshot(path: string): BreakdownEntry[] {
  const snap = JSON.parse(readFileSync(path, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = snap.snapshot.meta.node_types[0];
  const groups = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] as number] ?? "?";
    const name =
      type === "object" || type === "closure" || type === "native" || type === "hidden"
        ? (snap.strings[snap.nodes[i + nameAt] as number] ?? "?")
        : "";
    const kind = name ? `${type}: ${name.slice(0, 60)}` : type;
    const g = groups.get(kind) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += snap.nodes[i + sizeAt] as number;
    groups.set(kind, g);
  }
  return [...groups].map(([kind, g]) => ({ kind, ...g })).sort((a, b) => b.bytes - a.bytes);
}

/** Runs the fan-out, keeps the result, writes a heap snapshot and groups it. */
export async function breakdownCase(n: number): Promise<{ n: number; heapUsedMiB: number; top: BreakdownEntry[] }> {
  const { options, cleanup } = benchRunOptions({ executor: "inline" });
  try {
    const r = await run(benchFanout, { n }, options);
    if (r.status !== "succeeded") throw new Error(`run ${r.status}`);
    collect();
    const heapUsedMiB = process.memoryUsage().heapUsed / MiB;
    const path = join(tmpdir(), `trellis-bench-${process.pid}.heapsnapshot`);
    writeHeapSnapshot(path);
    // Keep the result alive until the snapshot is written.
    if (r.plan.nodes.size !== n + 1) throw new Error("plan size changed");
    try {
      return { n, heapUsedMiB, top: groupSnapshot(path).slice(0, 12) };
    } finally {
      rmSync(path, { force: true });
    }
  } finally {
    cleanup();
  }
}

const FLAGS = ["--expose-gc"];
/** A V8 old-space cap under 1 GiB: the run still fits (its live data peaks near 600 MiB at 1M tasks; 640 was seen to run out). */
export const HEAP_CAP = "--max-old-space-size=768";

/** Every row of this group (and the breakdown, in the full run). */
export async function memoryRows(options: BenchOptions): Promise<BenchRow[]> {
  // The capped row shows how much of the peak is garbage V8 lets pile up below its (large) default heap limit.
  const cases: { n: number; flags: string[] }[] = options.quick
    ? [{ n: 100_000, flags: [] }]
    : [
        { n: 100_000, flags: [] },
        { n: 500_000, flags: [] },
        { n: 1_000_000, flags: [] },
        { n: 1_000_000, flags: [HEAP_CAP] },
      ];
  const rows: BenchRow[] = [];
  for (const { n, flags } of cases) {
    const args = ["--case", "memory", "--n", String(n)];
    const nodeFlags = [...FLAGS, ...flags];
    const command = `node ${nodeFlags.join(" ")} --import tsx ${FILE} ${args.join(" ")}`;
    const name = `N = ${n.toLocaleString("en-US")}${flags.length > 0 ? `, ${flags.join(" ")}` : ""}`;
    const target = n === 1_000_000 ? "≤ 1 GiB peak RSS" : undefined;
    try {
      const { result: r } = await runCase<MemoryResult>(FILE, args, { nodeFlags, timeoutMs: 900_000 });
      rows.push({
        group: GROUP,
        name,
        metrics: {
          "peak RSS MiB": r.peakRssMiB,
          "peak heap MiB": r.peakHeapMiB,
          "RSS after GC MiB": r.rssMiB,
          "heap after GC MiB": r.heapUsedMiB,
          "retained heap B/task": (r.heapUsedMiB * MiB) / n,
          "peak RSS B/task": (r.peakRssMiB * MiB) / n,
          "run s": r.runMs / 1000,
        },
        ...(target !== undefined ? { target, met: r.peakRssMiB <= GIB_MIB } : { met: null }),
        headline: "peak RSS MiB",
        command,
        ...(options.quick ? { note: "quick run: 100k only; the 1M target row is in `npm run bench`" } : {}),
      });
    } catch (error) {
      rows.push(missingRow(GROUP, name, command, (error as Error).message, target));
    }
  }
  if (!options.quick) {
    const n = 100_000;
    const args = ["--case", "breakdown", "--n", String(n)];
    const command = `node --expose-gc --import tsx ${FILE} ${args.join(" ")}`;
    try {
      const { result } = await runCase<{ n: number; heapUsedMiB: number; top: BreakdownEntry[] }>(FILE, args, {
        nodeFlags: FLAGS,
      });
      for (const e of result.top)
        rows.push({
          group: BREAKDOWN_GROUP,
          name: e.kind,
          metrics: {
            "MiB at 100k": e.bytes / MiB,
            "% of heap": (100 * e.bytes) / (result.heapUsedMiB * MiB),
            "B/task": e.bytes / n,
            "objects/task": e.count / n,
          },
          met: null,
          command,
        });
    } catch (error) {
      rows.push(missingRow(BREAKDOWN_GROUP, "heap snapshot", command, (error as Error).message));
    }
  }
  return rows;
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  const n = Number(args.get("n") ?? 100_000);
  if (args.get("case") === "memory") printResult(await memoryCase(n));
  else if (args.get("case") === "breakdown") printResult(await breakdownCase(n));
  else {
    const rows = await memoryRows({ quick: args.has("quick") });
    const groups = [...new Set(rows.map((r) => r.group))];
    for (const g of groups)
      console.log(
        textTable(
          g,
          rows.filter((r) => r.group === g),
        ),
      );
  }
}
