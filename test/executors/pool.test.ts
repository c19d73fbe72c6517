// The worker pool itself, through a transport that counts what crosses it:
// batching of the fire-and-forget traffic, close() that never hangs and
// leaves no worker behind, and a run that begins before every worker is ready.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { run } from "trellis";
import type { EngineLink } from "trellis";
import { processTransport } from "../../dist/runtime/processes/process-transport.js";
import { threadTransport } from "../../dist/runtime/threads/thread-transport.js";
import { PoolExecutor } from "../../dist/runtime/worker/pool.js";
import type { PoolOptions, Transport } from "../../dist/runtime/worker/pool.js";
import type { HostToWorker, WorkerToHost } from "../../dist/runtime/worker/protocol.js";
import { AUTO_SLOTS } from "../../dist/runtime/worker/pool.js";
import { execBusyFanout, execFanout } from "../../.tmp/fixtures/exec-bench.js";
import { execSpinsForever } from "../../.tmp/fixtures/exec-faults.js";
import { loadPair } from "../../.tmp/fixtures/exec-slow-load.js";
import { WORKER_EXECUTORS, eventsOf } from "./helpers.ts";
import type { RunResult } from "trellis";

/** Most instances marked running at once, from the log (a waiting parent holds no slot). */
function maxRunning(result: RunResult<unknown>): number {
  let running = 0;
  let max = 0;
  for (const e of result.events ?? []) {
    if (e.type === "task.started" || e.type === "task.resumed") running++;
    else if (e.type === "task.waiting" || e.type === "task.succeeded" || e.type === "task.failed") running--;
    max = Math.max(max, running);
  }
  return max;
}

interface Traffic {
  spawned: number;
  exited: number;
  toWorker: (readonly HostToWorker[])[];
  toHost: (readonly WorkerToHost[])[];
}

/** Wraps a real transport and records every batch and every worker start and exit. */
function counting(inner: Transport): { transport: Transport; traffic: Traffic } {
  const traffic: Traffic = { spawned: 0, exited: 0, toWorker: [], toHost: [] };
  const transport: Transport = {
    kind: inner.kind,
    spawn(boot, events) {
      traffic.spawned++;
      const handle = inner.spawn(boot, {
        message: (batch) => {
          traffic.toHost.push(batch);
          events.message(batch);
        },
        exit: (exit) => {
          traffic.exited++;
          events.exit(exit);
        },
      });
      return {
        label: handle.label,
        send: (batch) => {
          traffic.toWorker.push(batch);
          handle.send(batch);
        },
        terminate: () => handle.terminate(),
      };
    },
  };
  return { transport, traffic };
}

const pool = (kind: (typeof WORKER_EXECUTORS)[number], options: PoolOptions) => {
  const { transport, traffic } = counting(kind === "threads" ? threadTransport({}) : processTransport({}));
  return { executor: new PoolExecutor(transport, options), traffic };
};

describe.each(WORKER_EXECUTORS)("worker pool: %s", (kind) => {
  test("a parent's spawns cross as one batch, and runs go out batched", async () => {
    const { executor, traffic } = pool(kind, { workers: 2, slotsPerWorker: 64 });
    const result = await run(execFanout, { n: 500 }, { executor });
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(500);
    const spawnBatches = traffic.toHost.filter((b) => b.some((m) => m.type === "spawn"));
    expect(spawnBatches).toHaveLength(1);
    expect(spawnBatches[0]?.filter((m) => m.type === "spawn")).toHaveLength(500);
    const runs = traffic.toWorker.flat().filter((m) => m.type === "run").length;
    const runBatches = traffic.toWorker.filter((b) => b.some((m) => m.type === "run")).length;
    expect(runs).toBe(501);
    expect(runBatches).toBeLessThan(runs / 4);
    expect(traffic.exited).toBe(traffic.spawned);
  });

  test("close() stops a worker stuck in a synchronous loop, and every worker is gone", async () => {
    const { executor, traffic } = pool(kind, { workers: 2, closeGraceMs: 50 });
    let spinning!: () => void;
    const logged = new Promise<void>((resolve) => (spinning = resolve));
    const link: EngineLink = {
      spawn: () => undefined,
      wait: () => undefined,
      abortWait: () => undefined,
      promise: () => undefined,
      log: () => spinning(),
      emit: () => undefined,
      finished: () => undefined,
      rehosted: () => undefined,
    };
    await executor.start(link, [execSpinsForever.module as string]);
    executor.run({ id: "spin", attempt: 1, runId: "r", task: execSpinsForever.name, inputs: null });
    await logged;
    // A second attempt finds no free slot and waits for the other worker (still loading, or busy with it too).
    executor.run({ id: "spin2", attempt: 1, runId: "r", task: execSpinsForever.name, inputs: null });
    await executor.close();
    expect(traffic.spawned).toBe(2);
    expect(traffic.exited).toBe(2);
  });

  test("starts every worker at once, begins with the first one ready, and stops them all at the end", async () => {
    const { executor, traffic } = pool(kind, { workers: 4 });
    const result = await run(execFanout, { n: 1 }, { executor }); // a parent, then its child: never two running
    expect(result.output).toBe(1);
    expect(traffic.spawned).toBe(4);
    expect(traffic.exited).toBe(4); // some of them were still loading
  });

  test("an attempt waiting for a worker that is still starting: its timeoutMs counts from when a worker has it", async () => {
    // The run begins on the first worker ready; the second never finishes loading (the fixture). load_quick
    // (timeoutMs 500) finds the first worker busy with load_slow (1,500 ms) and waits for the second; it runs
    // when load_slow frees the first, after 1,500 ms: three times its limit, and a round trip has 500 ms.
    const dir = mkdtempSync(join(tmpdir(), "trellis-load-"));
    process.env["TRELLIS_TEST_LOAD_DIR"] = dir;
    try {
      const { executor, traffic } = pool(kind, { workers: 2, slotsPerWorker: 1 });
      const result = await run(loadPair, { ms: 1500 }, { executor, keepEvents: true });
      expect(result.status).toBe("succeeded");
      expect(result.output).toEqual(["slow", "quick"]);
      expect(eventsOf(result, "task.failed")).toEqual([]);
      expect(traffic.spawned).toBe(2);
    } finally {
      delete process.env["TRELLIS_TEST_LOAD_DIR"];
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("by default, attempts that finish in well under a millisecond are pipelined: workers get several at once", async () => {
    const { executor, traffic } = pool(kind, { workers: 2 });
    const result = await run(execFanout, { n: 400 }, { executor, keepEvents: true });
    expect(result.output).toBe(400);
    expect(maxRunning(result)).toBeGreaterThan(2);
    expect(maxRunning(result)).toBeLessThanOrEqual(2 * AUTO_SLOTS);
    const runBatches = traffic.toWorker.filter((b) => b.some((m) => m.type === "run")).length;
    expect(runBatches).toBeLessThan(400 / 4);
  });

  test("by default, attempts that take milliseconds get one slot per worker (a task marked running runs)", async () => {
    const { executor } = pool(kind, { workers: 2 });
    const result = await run(execBusyFanout, { n: 12, ms: 3 }, { executor, keepEvents: true });
    expect(result.output).toBe(12);
    expect(maxRunning(result)).toBe(2);
    expect(executor.concurrency).toBe(2);
    expect(eventsOf(result, "run.started")[0]?.data.options.workers).toBe(2);
  });

  test("a fixed slotsPerWorker is kept whatever the attempts take", async () => {
    const { executor } = pool(kind, { workers: 2, slotsPerWorker: 1 });
    const result = await run(execFanout, { n: 200 }, { executor, keepEvents: true });
    expect(result.output).toBe(200);
    expect(maxRunning(result)).toBe(2);
    expect(() => pool(kind, { workers: 2, slotsPerWorker: 0 })).toThrow(/slotsPerWorker/);
  });

  test("a batch of thousands of spawns is planned in chunks: children start before the last spawn is planned", async () => {
    const { executor, traffic } = pool(kind, { workers: 2 });
    const result = await run(execFanout, { n: 3000 }, { executor, keepEvents: true });
    expect(result.output).toBe(3000);
    expect(traffic.toHost.filter((b) => b.some((m) => m.type === "spawn"))).toHaveLength(1); // one batch from the worker
    const events = result.events ?? [];
    const lastCreated = events.findLastIndex((e) => e.type === "task.created");
    const firstChildStarted = events.findIndex((e) => e.type === "task.started" && e.data.id !== "exec_fanout");
    expect(firstChildStarted).toBeGreaterThan(0);
    expect(firstChildStarted).toBeLessThan(lastCreated);
  });
});
