/**
 * The bullmq executor against its transport and a distributed peer, side by
 * side in one run on the same Redis (127.0.0.1:6379, or TRELLIS_BENCH_REDIS):
 *
 * - Trellis: one task spawns N no-op children and waits for them, run by 2
 *   `trellis worker` processes (concurrency 8 each) through the bullmq executor;
 * - BullMQ alone: N no-op jobs (one `addBulk`) through a bare Queue and 2
 *   worker processes with a bare BullMQ Worker, same concurrency: the
 *   transport's limit (target: Trellis ≥ 50 % of it);
 * - Dask distributed: a map of N no-op tasks on a LocalCluster of 2 worker
 *   processes (Debian's python3-distributed; target: Trellis ≥ 10× its rate);
 * - the makespan of the real workflow DAGs (../shared/workflows) on 2 remote
 *   workers with one slot each, against max(CP, W/P).
 *
 *   npx tsx bench/distributed.ts [--quick]
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { run } from "trellis";
import { findDask, runDask } from "./dask.ts";
import { REPO_ROOT, commandFor } from "./lib/child.ts";
import { isEntry, parseArgs } from "./lib/cli.ts";
import { dagFiles, loadDag } from "./lib/dag.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { dagCase } from "./makespan.ts";
import { benchFanout } from "./tasks/noop-tasks.ts";

export const GROUP = "Distributed: bullmq executor, 2 worker processes, local Redis";
const FILE = "bench/distributed.ts";
const REDIS = process.env["TRELLIS_BENCH_REDIS"] ?? "redis://127.0.0.1:6379";
const CONCURRENCY = 8;

/** A worker process; resolves once it says it serves. */
function startProcess(args: readonly string[], ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes(ready)) resolve(child);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`worker exited (${String(code)}): ${out.slice(-500)}`)));
  });
}

function trellisWorkers(queue: string, concurrency: number): Promise<ChildProcess[]> {
  const modules = [join(REPO_ROOT, "bench/tasks/noop-tasks.ts"), join(REPO_ROOT, "bench/tasks/dag-tasks.ts")];
  return Promise.all(
    [1, 2].map((i) =>
      startProcess(
        [
          join(REPO_ROOT, "bin/trellis.mjs"),
          "worker",
          ...modules,
          "--redis",
          REDIS,
          "--queue",
          queue,
          "--concurrency",
          String(concurrency),
          "--name",
          `bench-${i}`,
        ],
        "serves queue",
      ),
    ),
  );
}

/** A bare BullMQ worker process: a no-op processor. */
const BARE_WORKER = `
import { Worker } from "bullmq";
const w = new Worker(process.argv[1], async () => null, { connection: { url: process.argv[2], maxRetriesPerRequest: null }, concurrency: Number(process.argv[3]) });
await w.waitUntilReady();
console.log("bare ready");
process.on("SIGTERM", async () => { await w.close(); process.exit(0); });
`;

async function stop(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.on("exit", () => resolve());
          c.kill("SIGTERM");
          setTimeout(() => c.kill("SIGKILL"), 5000).unref();
        }),
    ),
  );
}

async function dropQueue(queue: string): Promise<void> {
  const q = new Queue(queue, { connection: { url: REDIS } });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  const conn = new Redis(REDIS);
  const keys = await conn.keys(`trellis:${queue}:*`);
  if (keys.length > 0) await conn.del(...keys);
  conn.disconnect();
}

/** Trellis: a fan-out of n no-ops on the bullmq executor; tasks/s over the fan-out. */
async function trellisRate(queue: string, n: number): Promise<number> {
  await run(benchFanout, { n: 100 }, { executor: "bullmq", redis: REDIS, queue }); // warm-up: connections, JIT
  const r = await run(benchFanout, { n }, { executor: "bullmq", redis: REDIS, queue });
  if (r.status !== "succeeded" || !r.output) throw new Error(`fan-out ${r.status}: ${r.error?.message ?? ""}`);
  return n / ((r.output.endMs - r.output.startMs) / 1000);
}

/** BullMQ alone: n no-op jobs added in one addBulk, until the queue is empty and nothing is active. */
async function bareRate(n: number): Promise<number> {
  const queue = `bench-bare-${randomUUID().slice(0, 8)}`;
  const workers = await Promise.all(
    [1, 2].map(() =>
      startProcess(["--input-type=module", "-e", BARE_WORKER, queue, REDIS, String(CONCURRENCY)], "bare ready"),
    ),
  );
  const q = new Queue(queue, { connection: { url: REDIS } });
  try {
    const jobs = (k: number): { name: string; data: { i: number }; opts: { removeOnComplete: true } }[] =>
      Array.from({ length: k }, (_, i) => ({ name: "noop", data: { i }, opts: { removeOnComplete: true } }));
    const drained = async (): Promise<void> => {
      for (;;) {
        const counts = await q.getJobCounts("waiting", "active", "prioritized");
        if ((counts["waiting"] ?? 0) + (counts["active"] ?? 0) + (counts["prioritized"] ?? 0) === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await q.addBulk(jobs(100));
    await drained();
    const t0 = performance.now();
    await q.addBulk(jobs(n));
    await drained();
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await stop(workers);
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
}

/** Every row of this group. */
export async function distributedRows(options: BenchOptions): Promise<BenchRow[]> {
  const n = options.quick ? 1000 : 2000;
  const count = n.toLocaleString("en-US");
  const command = commandFor(FILE, options.quick ? ["--quick"] : []);
  const probe = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    return [
      missingRow(
        GROUP,
        "(whole group)",
        command,
        `no Redis at ${REDIS} (${(error as Error).message}); start one: redis-server --daemonize yes`,
      ),
    ];
  } finally {
    probe.disconnect();
  }
  const rows: BenchRow[] = [];
  const queue = `bench-${randomUUID().slice(0, 8)}`;
  const workers = await trellisWorkers(queue, CONCURRENCY);
  let trellis: number | null = null;
  try {
    trellis = await trellisRate(queue, n);
    rows.push({
      group: GROUP,
      name: `Trellis: a task spawns N = ${count} no-op children (2 workers × ${CONCURRENCY})`,
      metrics: { "tasks/s": trellis },
      command,
      headline: "tasks/s",
    });
  } catch (error) {
    rows.push(
      missingRow(GROUP, `Trellis: a task spawns N = ${count} no-op children`, command, (error as Error).message),
    );
  } finally {
    await stop(workers);
    await dropQueue(queue);
  }
  try {
    const bare = await bareRate(n);
    const share = trellis === null ? null : trellis / bare;
    rows.push({
      group: GROUP,
      name: `BullMQ alone: N = ${count} no-op jobs (2 worker processes × ${CONCURRENCY})`,
      metrics: { "tasks/s": bare, "Trellis ÷ BullMQ": share === null ? null : `${(share * 100).toFixed(0)} %` },
      target: "Trellis ≥ 50 %",
      met: share === null ? null : share >= 0.5,
      command,
      headline: "Trellis ÷ BullMQ",
    });
  } catch (error) {
    rows.push(
      missingRow(GROUP, `BullMQ alone: N = ${count} no-op jobs`, command, (error as Error).message, "Trellis ≥ 50 %"),
    );
  }
  const { python, missing } = findDask();
  if (missing)
    rows.push(
      missingRow(
        GROUP,
        `Dask distributed: map of N = ${count} no-op tasks (LocalCluster, 2 worker processes)`,
        command,
        missing,
        "Trellis ≥ 10×",
      ),
    );
  else {
    try {
      const dask = await runDask(python, n);
      const rate = n / dask.mapSeconds;
      const times = trellis === null ? null : trellis / rate;
      rows.push({
        group: GROUP,
        name: `Dask distributed ${dask.distributed}: map of N = ${count} no-op tasks (LocalCluster, 2 worker processes)`,
        metrics: { "tasks/s": rate, "Trellis ÷ Dask": times === null ? null : `${times.toFixed(1)}×` },
        target: "Trellis ≥ 10×",
        met: times === null ? null : times >= 10,
        command,
        headline: "Trellis ÷ Dask",
      });
    } catch (error) {
      rows.push(
        missingRow(
          GROUP,
          `Dask distributed: map of N = ${count} no-op tasks`,
          command,
          (error as Error).message,
          "Trellis ≥ 10×",
        ),
      );
    }
  }
  // Makespan: 2 remote workers with one slot each (P = 2), the DAG's tasks sleeping their scaled runtimes.
  const dagQueue = `bench-dag-${randomUUID().slice(0, 8)}`;
  const dagWorkers = await trellisWorkers(dagQueue, 1);
  try {
    for (const file of dagFiles()) {
      const dag = loadDag(file);
      const name = `makespan of ${dag.name}, P = 2 remote workers`;
      try {
        const r = await dagCase(dag.name, "bullmq", 2, "default", { redis: REDIS, queue: dagQueue });
        rows.push({
          group: GROUP,
          name,
          metrics: {
            "CP ms": dag.criticalPath,
            "W/P ms": dag.work / 2,
            "makespan ms": r.makespanMs,
            "÷ bound": r.makespanMs / r.boundMs,
          },
          command,
          headline: "÷ bound",
          digits: { "÷ bound": 3 },
        });
      } catch (error) {
        rows.push(missingRow(GROUP, name, command, (error as Error).message));
      }
    }
  } finally {
    await stop(dagWorkers);
    await dropQueue(dagQueue);
  }
  return rows;
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  console.log(textTable(GROUP, await distributedRows({ quick: args.has("quick") })));
}
