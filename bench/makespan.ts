/**
 * Makespan against the bound on the real workflow DAGs
 * (`../shared/workflows/*.dag.json`): a root spawns one task per DAG node in
 * topological order, with `From` for each parent; each task sleeps its
 * recorded runtime scaled 1 s → 1 ms. Reported: measured makespan ÷
 * max(CP, W / P), for P = 2 (threads executor, tasks block their worker) and
 * P = 8 (inline executor with 8 slots, tasks sleep asynchronously: the
 * machine has 2 cores, so 8 blocking workers would measure the OS, not the
 * scheduler). Both the default ready order (creation order) and
 * longest-remaining-path-first priorities.
 *
 *   npx tsx bench/makespan.ts [--quick]
 *   npx tsx bench/makespan.ts --case dag --dag montage-chameleon-2mass-005d-001 --executor threads --workers 2 --order priority
 */
import { basename } from "node:path";
import { run } from "trellis";
import type { ExecutorKind, RunOptions } from "trellis";
import { commandFor, runCase } from "./lib/child.ts";
import { isEntry, parseArgs, printResult } from "./lib/cli.ts";
import type { Dag } from "./lib/dag.ts";
import { bound, dagFiles, loadDag, simulateListSchedule, workflowsDir } from "./lib/dag.ts";
import { executorMissing } from "./lib/engine-env.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { benchDagRoot } from "./tasks/dag-tasks.ts";
import type { DagRunSpec } from "./tasks/dag-tasks.ts";

export const GROUP = "Makespan against the bound (real workflow DAGs, 1 recorded s = 1 ms)";
const FILE = "bench/makespan.ts";
/** Recorded seconds → sleep milliseconds. */
const SCALE_MS = 1;
const TARGET = 1.05;

/** Ratios are compared with 1.05: three decimals so a miss never prints as "1.05". */
const RATIO_COLUMNS = [
  "÷ bound",
  "list schedule ÷ bound",
  "÷ list schedule",
  "÷ bound, with spawn loop",
  "÷ bound of slept times",
];

export const Orders = ["default", "priority"] as const;
export type Order = (typeof Orders)[number];

export interface DagCaseResult {
  readonly dag: string;
  readonly executor: ExecutorKind;
  readonly workers: number;
  readonly order: Order;
  /** max(CP, W / P) of the scaled runtimes, ms. */
  readonly boundMs: number;
  /** First node start → last node end, ms. */
  readonly makespanMs: number;
  /** Root start (its first spawn) → last node end, ms. */
  readonly withSpawnMs: number;
  /** The root's spawn loop, ms. */
  readonly spawnMs: number;
  /** Mean of (slept − asked) over nodes, µs. */
  readonly oversleepUs: number;
  /** max(CP, W / P) recomputed from the durations the nodes actually slept, ms. */
  readonly actualBoundMs: number;
}

function findDag(name: string): Dag {
  const path = dagFiles().find((f) => basename(f) === `${name}.dag.json`);
  if (!path) throw new Error(`no ${name}.dag.json in ${workflowsDir()}`);
  return loadDag(path);
}

/** max(CP, W / P) for per-task durations `d` (ms) over `dag`'s edges. */
function boundOf(dag: Dag, d: readonly number[], p: number): number {
  const finish: number[] = [];
  let work = 0;
  dag.tasks.forEach((t, i) => {
    let start = 0;
    for (const q of t.parents) start = Math.max(start, finish[q] as number);
    finish[i] = start + (d[i] as number);
    work += d[i] as number;
  });
  return Math.max(Math.max(0, ...finish), work / p);
}

/** Runs one DAG in this process. */
export async function dagCase(
  name: string,
  executor: ExecutorKind,
  workers: number,
  order: Order,
  extra: RunOptions = {},
): Promise<DagCaseResult> {
  const dag = findDag(name);
  const spec: DagRunSpec = {
    tasks: dag.tasks.map((t) => ({ ms: t.runtime * SCALE_MS, parents: t.parents, priority: t.bottomLevel })),
    // Remote workers sleep asynchronously too: a worker that blocks its event loop misses its heartbeats.
    mode: executor === "inline" || executor === "bullmq" ? "async" : "block",
    usePriority: order === "priority",
  };
  // No event log here: this row measures the schedule; the overhead row measures the log.
  const r = await run(benchDagRoot, spec, { executor, workers, snapshots: "none", ...extra });
  if (r.status !== "succeeded" || !r.output) throw new Error(`${name}: run ${r.status}: ${r.error?.message ?? ""}`);
  const { spans, rootStart, spawned } = r.output;
  const first = Math.min(...spans.map((s) => s.s));
  const last = Math.max(...spans.map((s) => s.e));
  const slept = spans.map((s) => s.e - s.s);
  const over = slept.reduce((sum, d, i) => sum + d - (spec.tasks[i]?.ms ?? 0), 0) / spans.length;
  return {
    dag: name,
    executor,
    workers,
    order,
    boundMs: bound(dag, workers) * SCALE_MS,
    makespanMs: last - first,
    withSpawnMs: last - rootStart,
    spawnMs: spawned - rootStart,
    oversleepUs: over * 1000,
    actualBoundMs: boundOf(dag, slept, workers),
  };
}

export function dagArgs(name: string, executor: ExecutorKind, workers: number, order: Order): string[] {
  return ["--case", "dag", "--dag", name, "--executor", executor, "--workers", String(workers), "--order", order];
}

/** Every row of this group. */
export async function makespanRows(options: BenchOptions): Promise<BenchRow[]> {
  const files = dagFiles();
  if (files.length === 0)
    return [
      missingRow(GROUP, "all DAGs", commandFor(FILE, []), `no *.dag.json in ${workflowsDir()} (set TRELLIS_WORKFLOWS)`),
    ];
  const setups: { executor: ExecutorKind; workers: number }[] = [
    { executor: "threads", workers: 2 },
    { executor: "inline", workers: 8 },
  ];
  if (!options.quick) setups.splice(1, 0, { executor: "inline", workers: 2 });
  const rows: BenchRow[] = [];
  for (const { executor, workers } of setups)
    for (const file of files) {
      const dag = loadDag(file);
      for (const order of Orders) {
        const name = `${dag.name}, P = ${workers} (${executor}), ${order === "default" ? "creation order" : "longest path first"}`;
        const args = dagArgs(dag.name, executor, workers, order);
        const command = commandFor(FILE, args);
        const target = `≤ ${TARGET}`;
        const missing = executorMissing(executor);
        if (missing) {
          rows.push(missingRow(GROUP, name, command, missing, target));
          continue;
        }
        try {
          const { result: r } = await runCase<DagCaseResult>(FILE, args);
          const ratio = r.makespanMs / r.boundMs;
          const listMs = simulateListSchedule(dag, workers, order === "priority") * SCALE_MS;
          rows.push({
            group: GROUP,
            name,
            metrics: {
              "CP ms": dag.criticalPath * SCALE_MS,
              "W/P ms": (dag.work / workers) * SCALE_MS,
              "makespan ms": r.makespanMs,
              "÷ bound": ratio,
              "list schedule ÷ bound": listMs / r.boundMs,
              "÷ list schedule": r.makespanMs / listMs,
              "÷ bound, with spawn loop": r.withSpawnMs / r.boundMs,
              "÷ bound of slept times": r.makespanMs / r.actualBoundMs,
              "oversleep µs/task": r.oversleepUs,
            },
            target,
            met: ratio <= TARGET,
            headline: "÷ bound",
            digits: Object.fromEntries(RATIO_COLUMNS.map((c) => [c, 3])),
            command,
          });
        } catch (error) {
          rows.push(missingRow(GROUP, name, command, (error as Error).message, target));
        }
      }
    }
  return rows;
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  if (args.get("case") === "dag") {
    printResult(
      await dagCase(
        args.get("dag") ?? "",
        (args.get("executor") ?? "inline") as ExecutorKind,
        Number(args.get("workers") ?? 2),
        (args.get("order") ?? "default") as Order,
      ),
    );
  } else {
    console.log(textTable(GROUP, await makespanRows({ quick: args.has("quick") })));
  }
}
