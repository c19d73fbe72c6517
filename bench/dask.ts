/**
 * Peer, side by side in the same run: Dask distributed (Debian's
 * `python3-distributed`) against Trellis with the same worker count (2
 * processes for Dask; 2 threads and 2 processes for Trellis) on the same
 * shapes. This script installs nothing: without Dask it prints how to
 * install it and reports the rows as missing.
 *
 *   npx tsx bench/dask.ts [--quick]
 *
 * Dask runs under Debian's `/usr/bin/python3` (not a pyenv python first on
 * PATH); set `TRELLIS_BENCH_PYTHON` to use another interpreter that has
 * `distributed`.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { ExecutorKind } from "trellis";
import { REPO_ROOT, commandFor, prioritise, runCase } from "./lib/child.ts";
import { RESULT_MARK, isEntry, parseArgs } from "./lib/cli.ts";
import { executorMissing } from "./lib/engine-env.ts";
import type { BenchOptions, BenchRow, Cell } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import type { FanoutResult } from "./overhead.ts";
import { caseArgs } from "./overhead.ts";

export const GROUP = "Peer: Dask distributed, LocalCluster of 2 worker processes";
const FILE = "bench/dask.ts";
const SCRIPT = "bench/dask/dask_bench.py";
export const INSTALL_HINT = "apt-get update && apt-get install -y python3-distributed";

export interface DaskResult {
  readonly n: number;
  readonly mapSeconds: number;
  readonly spawnSeconds: number;
  readonly dask: string;
  readonly distributed: string;
}

/** The interpreter to use, and null when it cannot import `distributed` (with the reason). */
export function findDask(): { python: string; missing: string | null } {
  const python = process.env["TRELLIS_BENCH_PYTHON"] ?? "/usr/bin/python3";
  if (!existsSync(python)) return { python, missing: `${python} not found; install Dask with: ${INSTALL_HINT}` };
  const probe = spawnSync(python, ["-c", "import distributed"], { encoding: "utf8" });
  if (probe.status !== 0)
    return { python, missing: `${python} cannot import distributed; install it with: ${INSTALL_HINT}` };
  return { python, missing: null };
}

export function runDask(python: string, n: number): Promise<DaskResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [SCRIPT, String(n)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    prioritise(child.pid);
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith(RESULT_MARK));
      if (line) resolve(JSON.parse(line.slice(RESULT_MARK.length)) as DaskResult);
      else
        reject(
          new Error(
            `${python} ${SCRIPT} ${n}: exit ${String(code)}: ${err.trim().split("\n").slice(-4).join(" | ").slice(0, 500)}`,
          ),
        );
    });
  });
}

async function trellisRate(executor: ExecutorKind, n: number): Promise<{ rate: number | null; note: string | null }> {
  const missing = executorMissing(executor);
  if (missing) return { rate: null, note: missing };
  try {
    const { result } = await runCase<FanoutResult>("bench/overhead.ts", caseArgs(executor, n, 2));
    return { rate: n / (result.fanoutMs / 1000), note: null };
  } catch (error) {
    return { rate: null, note: (error as Error).message };
  }
}

function ratio(ours: number | null, theirs: number): Cell {
  return ours === null ? null : `${(ours / theirs).toFixed(1)}×`;
}

/** Every row of this group. */
export async function daskRows(options: BenchOptions): Promise<BenchRow[]> {
  const n = options.quick ? 1000 : 2000;
  const command = commandFor(FILE, options.quick ? ["--quick"] : []);
  const names = [
    `map of N = ${n.toLocaleString("en-US")} no-op tasks`,
    `a task spawns N = ${n.toLocaleString("en-US")} children and gathers them`,
  ];
  const { python, missing } = findDask();
  if (missing) {
    console.error(`bench/dask.ts: skipping the Dask rows: ${missing}`);
    return names.map((name) => missingRow(GROUP, name, command, missing));
  }
  let dask: DaskResult;
  try {
    dask = await runDask(python, n);
  } catch (error) {
    return names.map((name) => missingRow(GROUP, name, command, (error as Error).message));
  }
  const threads = await trellisRate("threads", n);
  const processes = await trellisRate("processes", n);
  const notes = [threads.note && `threads: ${threads.note}`, processes.note && `processes: ${processes.note}`]
    .filter(Boolean)
    .join("; ");
  const version = `Dask ${dask.distributed}`;
  const row = (name: string, seconds: number, what: string): BenchRow => {
    const theirs = n / seconds;
    return {
      group: GROUP,
      name,
      metrics: {
        "Dask tasks/s": theirs,
        "Trellis threads tasks/s": threads.rate,
        "threads / Dask": ratio(threads.rate, theirs),
        "Trellis processes tasks/s": processes.rate,
        "processes / Dask": ratio(processes.rate, theirs),
      },
      met: null,
      command,
      note: `${version}; ${what}${notes ? `; ${notes}` : ""}`,
    };
  };
  return [
    row(
      names[0] as string,
      dask.mapSeconds,
      "Dask: client.map + gather; Trellis has no client-side map, so its figure is the same parent-spawns-N run",
    ),
    row(
      names[1] as string,
      dask.spawnSeconds,
      "Dask: worker_client() inside a task; Trellis: ctx.spawn × N + waitForAll",
    ),
  ];
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  console.log(textTable(GROUP, await daskRows({ quick: args.has("quick") })));
}
