/**
 * Runs every benchmark group and writes `docs/benchmarks.md`.
 *
 *   npm run bench          # everything (tens of minutes)
 *   npm run bench:quick    # the subset below, under two minutes
 *
 * Quick subset: overhead at N = 10,000 (inline, threads, processes); raw
 * round trips at N = 10,000; Dask and Trellis at N = 1,000; promise
 * validation in its own quick mode; no snapshots (full run only: they take
 * minutes); makespan for P = 2
 * (threads) and P = 8 (inline), both orders; memory at 100,000 tasks only
 * (the 1,000,000-task target row is full-run only); profile at N = 10,000;
 * no test suite (`npm test` takes minutes: full run only).
 *
 * Options: `--quick`; `--out <file>` (default docs/benchmarks.md);
 * `--only <group,...>` with group keys overhead, limit, dask, promises,
 * makespan, distributed, snapshots, memory, profile, startup, resume, viewer, suite (the note then holds those only);
 * `--save <file.json>` keeps the measured rows; `--from <file.json>` writes
 * the note again from saved rows without measuring (to revise its prose).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { daskRows } from "./dask.ts";
import { GROUP as DISTRIBUTED_GROUP, distributedRows } from "./distributed.ts";
import { REPO_ROOT } from "./lib/child.ts";
import { isEntry, parseArgs } from "./lib/cli.ts";
import { foreignRows } from "./lib/foreign.ts";
import type { Machine } from "./lib/machine.ts";
import { loadNow, machine, speedProbeMs } from "./lib/machine.ts";
import { renderReport } from "./lib/report.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { byGroup, textTable } from "./lib/table.ts";
import { makespanRows } from "./makespan.ts";
import { memoryRows } from "./memory.ts";
import { overheadRows } from "./overhead.ts";
import type { Transport } from "./physical-limit.ts";
import { physicalLimitRows } from "./physical-limit.ts";
import { profileRows } from "./profile.ts";
import { RESUME_GROUP, resumeRows } from "./resume.ts";
import { STARTUP_GROUP, startupRows } from "./startup.ts";
import { SUITE_GROUP, suiteRows } from "./suite.ts";
import { PROMISES_GROUP, SNAPSHOTS_GROUP, TEXTS } from "./texts.ts";
import { VIEWER_GROUP, viewerRows } from "./viewer.ts";

interface Step {
  readonly key: string;
  readonly group: string;
  readonly run: (options: BenchOptions, sofar: readonly BenchRow[]) => Promise<BenchRow[]>;
}

/** Trellis tasks/s for a transport and N, read from the overhead rows already measured. */
function trellisRateFrom(rows: readonly BenchRow[]) {
  return (transport: Transport, n: number): number | null => {
    // The default executor's row (slotsPerWorker "auto"), not the one-slot reference row.
    const row = rows.find(
      (r) => r.name === `${transport}, 2 workers, N = ${n.toLocaleString("en-US")}` && r.missing === undefined,
    );
    const v = row?.metrics["tasks/s"];
    return typeof v === "number" ? v : null;
  };
}

const STEPS: readonly Step[] = [
  { key: "overhead", group: "Engine overhead", run: (o) => overheadRows(o) },
  { key: "limit", group: "Physical limit", run: (o, sofar) => physicalLimitRows(o, trellisRateFrom(sofar)) },
  { key: "dask", group: "Dask", run: (o) => daskRows(o) },
  {
    key: "promises",
    group: PROMISES_GROUP,
    run: (o) => foreignRows("bench/promise-validation.ts", PROMISES_GROUP, o.quick, o.quick ? 60_000 : 600_000),
  },
  { key: "makespan", group: "Makespan", run: (o) => makespanRows(o) },
  { key: "distributed", group: DISTRIBUTED_GROUP, run: (o) => distributedRows(o) },
  {
    key: "snapshots",
    group: SNAPSHOTS_GROUP,
    // Its own quick mode takes minutes (images for every step), which alone would break the two-minute budget.
    run: async (o) =>
      o.quick
        ? [
            missingRow(
              SNAPSHOTS_GROUP,
              "snapshots off / steps / all, 100 and 1,000 tasks",
              "npx tsx bench/snapshots.ts",
              "full run only (`npm run bench`): bench/snapshots.ts takes minutes, more than the quick budget",
            ),
          ]
        : foreignRows("bench/snapshots.ts", SNAPSHOTS_GROUP, false, 1_800_000),
  },
  { key: "memory", group: "Memory", run: (o) => memoryRows(o) },
  { key: "profile", group: "Profile", run: (o) => profileRows(o) },
  { key: "startup", group: STARTUP_GROUP, run: (o) => startupRows(o) },
  { key: "resume", group: RESUME_GROUP, run: (o) => resumeRows(o) },
  { key: "viewer", group: VIEWER_GROUP, run: (o) => viewerRows(o) },
  { key: "suite", group: SUITE_GROUP, run: (o) => suiteRows(o) },
];

/** Runs the selected groups, prints each table as it completes, writes the note; returns every row. */
export async function runAll(
  options: BenchOptions & { out: string; only: readonly string[] | null; save: string | null },
): Promise<BenchRow[]> {
  const started = performance.now();
  const info = machine();
  console.log(
    `Trellis benchmarks (${options.quick ? "quick" : "full"}) on ${info.cpu}, ${info.nproc} cores, Node ${info.node}; load ${info.loadStart.map((l) => l.toFixed(2)).join(" ")}`,
  );
  const rows: BenchRow[] = [];
  for (const step of STEPS) {
    if (options.only && !options.only.includes(step.key)) continue;
    const t0 = performance.now();
    let got: BenchRow[];
    try {
      got = await step.run(options, rows);
    } catch (error) {
      // A bench function should not throw; if one does, the rest of the run still counts.
      got = [missingRow(step.group, "(whole group)", "npx tsx bench/all.ts", (error as Error).message)];
    }
    rows.push(...got);
    for (const [group, list] of byGroup(got)) console.log(`\n${textTable(group, list)}`);
    console.log(`(${step.key}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const seconds = (performance.now() - started) / 1000;
  const saved: SavedRun = {
    machine: info,
    loadEnd: loadNow(),
    speedEnd: speedProbeMs(),
    quick: options.quick,
    seconds,
    rows,
  };
  if (options.save) writeFileSync(options.save, JSON.stringify(saved, null, 1));
  writeNote(options.out, saved);
  console.log(`\nwrote ${options.out} in ${seconds.toFixed(0)} s`);
  return rows;
}

/** Everything the note is made from. */
interface SavedRun {
  readonly machine: Machine;
  readonly loadEnd: readonly number[];
  readonly speedEnd?: number;
  readonly quick: boolean;
  readonly seconds: number;
  readonly rows: BenchRow[];
}

function writeNote(out: string, run: SavedRun): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderReport({ ...run, texts: TEXTS }));
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  const only = args.get("only");
  const out = args.get("out") ?? join(REPO_ROOT, "docs", "benchmarks.md");
  const from = args.get("from");
  if (from) {
    writeNote(out, JSON.parse(readFileSync(from, "utf8")) as SavedRun);
    console.log(`wrote ${out} from ${from}`);
  } else
    await runAll({
      quick: args.has("quick"),
      out,
      only: only ? only.split(",") : null,
      save: args.get("save") ?? null,
    });
}
