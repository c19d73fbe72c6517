/**
 * What snapshots cost a run: wall time of a map-reduce of N tasks with
 * snapshots off, `steps`, `all` and `auto` (the default), and the time to
 * draw one PNG of a 100-node plan.
 *
 * Workload: `bench_snap_root` spawns N `bench_snap_work` tasks and one
 * `bench_snap_sum` that reads all their outputs (From), on the default
 * executor (worker threads, one per core). Each work task computes for about
 * 1 ms (a busy loop: CPU-bound work competes with the image worker for the
 * cores, the harder case). Every run writes its event log and snapshots
 * (PNG) into a fresh temp folder; the time is `run()` from call to resolve,
 * so it includes waiting for the last images. Off and auto are the median
 * of 5 interleaved runs; steps and all one run each. The image worker is
 * shared by the runs of a process: one row shows the first run that starts
 * it, the others reuse it.
 *
 *   npx tsx bench/snapshots.ts            # full: 100 and 1,000 tasks, every policy (minutes)
 *   npx tsx bench/snapshots.ts --quick    # off and auto only, one run each (under a minute)
 *
 * Target (issue 4): a 1,000-task run with the default snapshots (auto) takes
 * at most 1.25× the wall time of the same run with snapshots off.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { From, buildDot, foldEvents, isMain, run, task } from "trellis";
import type { SnapshotPolicy, TrellisEvent } from "trellis";
import { dotToSvg, svgToPng } from "../dist/render/images.js";
import type { BenchRow } from "./lib/row.ts";

const GROUP = "Snapshots";
const COMMAND = "npx tsx bench/snapshots.ts";
const TARGET_RATIO = 1.25;

/** One row of the table: the shape bench/all.ts reads. */
export type Row = BenchRow;

export const work = task({ name: "bench_snap_work" }, async (_ctx, { i }: { i: number }) => {
  const end = performance.now() + 1;
  let x = i;
  while (performance.now() < end) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  return x % 1000;
});

export const sum = task({ name: "bench_snap_sum" }, async (_ctx, { parts }: { parts: number[] }) =>
  parts.reduce((a, b) => a + b, 0),
);

export const root = task(
  { name: "bench_snap_root", calls: [work, sum], edges: [[work, sum]] },
  async (ctx, { n }: { n: number }) => {
    const parts = Array.from({ length: n }, (_, i) => ctx.spawn(work, { i }));
    const [total] = await ctx.waitForAll([ctx.spawn(sum, { parts: parts.map((p) => From(p)) })]);
    return total;
  },
);

type Mode = SnapshotPolicy | "off";

interface Measured {
  readonly ms: number;
  readonly frames: number;
}

async function once(n: number, mode: Mode): Promise<Measured> {
  const out = mkdtempSync(join(tmpdir(), "trellis-bench-snap-"));
  try {
    const t = performance.now();
    const r = await run(root, { n }, { out, snapshots: mode === "off" ? "none" : mode });
    const ms = performance.now() - t;
    if (r.status !== "succeeded")
      throw new Error(`bench run ${mode} N=${n} ended ${r.status}: ${r.error?.message ?? ""}`);
    const frames = mode === "off" ? 0 : readdirSync(join(out, "dots")).length;
    return { ms, frames };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A plan of `nodes` instances (a root, its children, a reducer), every one succeeded. */
export function plan100(nodes = 100): string {
  const events: TrellisEvent[] = [];
  const add = (type: string, data: object) =>
    events.push({
      v: 1,
      seq: events.length + 1,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "bench",
      type,
      data,
    } as unknown as TrellisEvent);
  add("run.started", {
    root: "r",
    task: "r",
    inputs: null,
    options: { executor: "inline", workers: 1, onViolation: "halt" },
  });
  add("task.created", { id: "r", task: "r", parent: null, labels: [], inputs: null, placeholder: null, priority: 0 });
  const ids: string[] = [];
  for (let i = 1; i <= nodes - 2; i++) ids.push(`r/square#${i}`);
  for (const id of [...ids, "r/sum#1"]) {
    add("task.created", {
      id,
      task: id.startsWith("r/sum") ? "sum" : "square",
      parent: "r",
      labels: [],
      inputs: null,
      placeholder: null,
      priority: 0,
    });
    add("edge.created", { from: "r", to: id, kind: "lineage" });
  }
  for (const id of ids) add("edge.created", { from: id, to: "r/sum#1", kind: "data" });
  for (const id of ["r", ...ids, "r/sum#1"]) {
    add("task.started", { id, attempt: 1 });
    add("task.succeeded", { id, output: 1 });
  }
  return buildDot(foldEvents(events));
}

async function pngTimes(reps: number): Promise<{ layoutMs: number; pngMs: number }> {
  const dot = plan100();
  await dotToSvg(dot); // load the wasm once
  const layout: number[] = [];
  const png: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t = performance.now();
    const svg = await dotToSvg(dot);
    layout.push(performance.now() - t);
    t = performance.now();
    svgToPng(svg);
    png.push(performance.now() - t);
  }
  return { layoutMs: median(layout), pngMs: median(png) };
}

/** The rows of the table. */
export async function snapshotRows(options: { quick: boolean } = { quick: false }): Promise<Row[]> {
  // off and auto: the median of a few interleaved runs. steps and all draw
  // hundreds to thousands of PNGs (minutes): one run each, full mode only.
  const reps = options.quick ? 1 : 5;
  const cases: [number, Mode[]][] = [
    [100, options.quick ? ["off", "auto"] : ["off", "auto", "steps", "all"]],
    [1000, options.quick ? ["off", "auto"] : ["off", "auto", "steps", "all"]],
  ];
  await once(100, "off"); // warm up the engine and the executor (JIT), not the image worker
  const rows: Row[] = [];
  // The image worker of the process starts with the first run that draws (~0.5 s of CPU, mostly
  // compiling Graphviz): the first auto run pays it, later runs in the process do not.
  const coldOff = await once(1000, "off");
  const cold = await once(1000, "auto");
  rows.push({
    group: GROUP,
    name: "1,000 tasks, snapshots auto, first run of the process",
    metrics: {
      "wall ms": Math.round(cold.ms),
      "× off": Math.round((cold.ms / coldOff.ms) * 100) / 100,
      frames: cold.frames,
    },
    met: null,
    command: COMMAND,
    note: "includes starting the image worker; one run",
  });
  for (const [n, modes] of cases) {
    const times = new Map<Mode, number[]>(modes.map((m) => [m, []]));
    const frames = new Map<Mode, number>();
    const repeated: Mode[] = modes.filter((m) => m === "off" || m === "auto");
    for (let r = 0; r < reps; r++)
      for (const mode of r % 2 === 0 ? repeated : [...repeated].reverse()) {
        const m = await once(n, mode);
        times.get(mode)?.push(m.ms);
        frames.set(mode, m.frames);
      }
    for (const mode of modes.filter((m) => !repeated.includes(m))) {
      const m = await once(n, mode);
      times.get(mode)?.push(m.ms);
      frames.set(mode, m.frames);
    }
    const off = median(times.get("off") ?? []);
    for (const mode of modes) {
      const ms = median(times.get(mode) ?? []);
      const ratio = ms / off;
      const isTarget = n === 1000 && mode === "auto";
      rows.push({
        group: GROUP,
        name: `${n.toLocaleString("en-US")} tasks, snapshots ${mode === "auto" ? "auto (default)" : mode}`,
        metrics: { "wall ms": Math.round(ms), "× off": Math.round(ratio * 100) / 100, frames: frames.get(mode) ?? 0 },
        met: isTarget ? ratio <= TARGET_RATIO : null,
        command: COMMAND,
        ...(isTarget ? { target: `≤ ${TARGET_RATIO}× snapshots off`, headline: "× off" } : {}),
        note: `threads executor, ~1 ms CPU per task, PNG${repeated.includes(mode) ? `, median of ${reps}` : ", one run"}`,
      });
    }
  }
  const png = await pngTimes(options.quick ? 3 : 7);
  rows.push({
    group: GROUP,
    name: "one PNG of a 100-node plan",
    metrics: {
      "wall ms": Math.round(png.layoutMs + png.pngMs),
      "layout ms": Math.round(png.layoutMs),
      "PNG ms": Math.round(png.pngMs),
    },
    met: null,
    command: COMMAND,
    note: "warm embedded Graphviz + resvg, fan-out of 98 into a reducer",
  });
  return rows;
}

if (isMain(import.meta.url)) {
  const rows = await snapshotRows({ quick: process.argv.includes("--quick") });
  const cols = ["wall ms", "× off", "frames", "layout ms", "PNG ms"];
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${"case".padEnd(width)}  ${cols.map((c) => c.padStart(9)).join(" ")}  target`);
  for (const r of rows)
    console.log(
      `${r.name.padEnd(width)}  ${cols.map((c) => String(r.metrics[c] ?? "").padStart(9)).join(" ")}  ${r.target ? `${r.target}: ${r.met ? "met" : "MISSED"}` : ""}`,
    );
}
