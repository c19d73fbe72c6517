// The bullmq executor at scale and its clear errors, with `trellis worker`
// processes of the compiled CLI on the real Redis (each file its own queue).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ErrorCodes, bullmqExecutor, run } from "trellis";
import type { EventOf } from "trellis";
import { distBig, distFlow, distOverlapFlow } from "../../.tmp/fixtures/dist-flow.js";
import { eventsOf } from "../executors/helpers.ts";
import type { WorkerProcess } from "../helpers/bullmq.ts";
import { REDIS_URL, dropQueue, startWorker, stopWorkers, uniqueQueue } from "../helpers/bullmq.ts";

const queue = uniqueQueue("dist");
const names = ["dist-a", "dist-b", "dist-c"];
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  workers = await Promise.all(names.map((name) => startWorker({ fixture: "dist-flow", queue, name, concurrency: 8 })));
}, 120_000);

afterAll(async () => {
  await stopWorkers(workers);
  await dropQueue(queue);
}, 60_000);

describe("bullmq executor with three worker processes", () => {
  test("5,000 leaves with data edges under MaxParallelism: the same plan and output as on threads; each attempt's worker is in the log", {
    timeout: 240_000,
  }, async () => {
    const inputs = { n: 5000, group: 50, cap: 16, ms: 0, journal: "" };
    const threads = await run(distFlow, inputs, { executor: "threads", workers: 2 });
    const remote = await run(distFlow, inputs, { executor: "bullmq", redis: REDIS_URL, queue, keepEvents: true });
    expect(remote.error).toBeNull();
    expect(remote.status).toBe("succeeded");
    expect(remote.output).toEqual(threads.output);
    expect(remote.output).toEqual({ sums: 100, total: 5000 * 4999 });
    expect(remote.counts).toEqual(threads.counts);
    expect(remote.counts.succeeded).toBe(1 + 5000 + 100);
    expect(remote.plan.edges.length).toBe(threads.plan.edges.length);
    expect(remote.violations).toBe(0);
    // Every attempt that started was placed on one of the three workers, and the work was shared.
    const started = eventsOf(remote, "task.started");
    const placed = eventsOf(remote, "task.placed");
    const key = (e: { data: { id: string; attempt: number } }): string => `${e.data.id}#${e.data.attempt}`;
    expect(new Set(placed.map(key))).toEqual(new Set(started.map(key)));
    const perWorker = new Map<string, number>();
    for (const e of placed as EventOf<"task.placed">[])
      perWorker.set(e.data.worker, (perWorker.get(e.data.worker) ?? 0) + 1);
    expect([...perWorker.keys()].sort()).toEqual(names);
  });

  test("a worker runs at most --concurrency attempts at once, also when short attempts travel batched", {
    timeout: 120_000,
  }, async () => {
    const own = uniqueQueue("dist-bound");
    const lone = await startWorker({ fixture: "dist-flow", queue: own, name: "bound", concurrency: 2 });
    try {
      // 400 leaves of one event-loop turn each: the coordinator batches them (up to 32 per job).
      const r = await run(distOverlapFlow, { n: 400 }, { executor: "bullmq", redis: REDIS_URL, queue: own });
      expect(r.error).toBeNull();
      expect(r.counts.succeeded).toBe(1 + 400 + 1);
      expect(r.output).toBe(2);
    } finally {
      await stopWorkers([lone]);
      await dropQueue(own);
    }
  });

  test("a definition no worker module registers fails with WORKER_UNKNOWN_TASK, naming the task and what to do", {
    timeout: 60_000,
  }, async () => {
    const other = uniqueQueue("unknown");
    // This worker imports only the contract fixtures: dist_flow is unknown to it.
    const stranger = await startWorker({ fixture: "exec-basic", queue: other, name: "stranger" });
    try {
      const result = await run(
        distFlow,
        { n: 1, group: 1, cap: 1, ms: 0, journal: "" },
        { executor: "bullmq", redis: REDIS_URL, queue: other, keepEvents: true },
      );
      expect(result.status).toBe("failed");
      const failed = eventsOf(result, "task.failed")[0];
      expect(failed?.data.error.code).toBe(ErrorCodes.WORKER_UNKNOWN_TASK);
      expect(failed?.data.error.message).toContain('has no task named "dist_flow"');
      expect(failed?.data.error.message).toContain("trellis worker <module>");
    } finally {
      await stopWorkers([stranger]);
      await dropQueue(other);
    }
  });

  test("an output over maxOutputBytes fails its task with OUTPUT_TOO_LARGE, saying what to do", async () => {
    const executor = await bullmqExecutor({ redis: REDIS_URL, queue, maxOutputBytes: 1024 });
    const result = await run(distBig, { bytes: 4096 }, { executor, keepEvents: true });
    expect(result.status).toBe("failed");
    const error = eventsOf(result, "task.failed")[0]?.data.error;
    expect(error?.code).toBe(ErrorCodes.OUTPUT_TOO_LARGE);
    expect(error?.message).toContain("maxOutputBytes");
    const small = await run(
      distBig,
      { bytes: 512 },
      { executor: await bullmqExecutor({ redis: REDIS_URL, queue, maxOutputBytes: 1024 }) },
    );
    expect(small.output).toBe("x".repeat(512));
  });

  test("without a redis URL the bullmq executor is refused with INVALID_OPTION", async () => {
    const saved = process.env["TRELLIS_REDIS"];
    delete process.env["TRELLIS_REDIS"];
    try {
      await expect(run(distBig, { bytes: 1 }, { executor: "bullmq" })).rejects.toMatchObject({
        code: ErrorCodes.INVALID_OPTION,
      });
    } finally {
      if (saved !== undefined) process.env["TRELLIS_REDIS"] = saved;
    }
  });
});
