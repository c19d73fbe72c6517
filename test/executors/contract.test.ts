// One contract, four executors: whatever runs the task functions (this
// thread, worker threads, child processes, remote `trellis worker`s through
// BullMQ on Redis), a workflow behaves the same.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ErrorCodes, run } from "trellis";
import type { RunOptions } from "trellis";
import {
  execCatches,
  execCycle,
  execEmitParent,
  execFlaky,
  execForgetsAwait,
  execHaltParent,
  execHangs,
  execLimitedWait,
  execLogger,
  execMapReduce,
  execReturnsFunction,
  execTree,
} from "../../.tmp/fixtures/exec-basic.js";
import { ALL_EXECUTORS, eventFor, eventsOf, seqOf } from "./helpers.ts";
import type { WorkerProcess } from "../helpers/bullmq.ts";
import { REDIS_URL, dropQueue, startWorker, stopWorkers, uniqueQueue } from "../helpers/bullmq.ts";

describe.each([...ALL_EXECUTORS, "bullmq"] as const)("executor contract: %s", (executor) => {
  // bullmq: two `trellis worker` processes of the compiled CLI on a queue of this suite's own.
  const queue = uniqueQueue("contract");
  let workers: WorkerProcess[] = [];
  const opts = (): RunOptions => (executor === "bullmq" ? { executor, redis: REDIS_URL, queue } : { executor });
  beforeAll(async () => {
    if (executor !== "bullmq") return;
    workers = await Promise.all(
      [1, 2].map((n) => startWorker({ fixture: "exec-basic", queue, name: `contract-${n}`, concurrency: 2 })),
    );
  }, 120_000);
  afterAll(async () => {
    if (executor !== "bullmq") return;
    await stopWorkers(workers);
    await dropQueue(queue);
  }, 60_000);

  test("spawn, From and waitForAll return typed outputs in order; ids are deterministic", async () => {
    const result = await run(execMapReduce, { numbers: [1, 2, 3, 4] }, { ...opts(), workers: 2, keepEvents: true });
    expect(result.error).toBeNull();
    expect(result.status).toBe("succeeded");
    const output: { squares: number[]; sum: number } | undefined = result.output;
    expect(output).toEqual({ squares: [1, 4, 9, 16], sum: 30 });
    // Same program, same ids, whatever the executor.
    expect(eventsOf(result, "task.created").map((e) => e.data.id)).toEqual([
      "exec_map_reduce",
      "exec_map_reduce/exec_square#1",
      "exec_map_reduce/exec_square#2",
      "exec_map_reduce/exec_square#3",
      "exec_map_reduce/exec_square#4",
      "exec_map_reduce/exec_sum#1",
    ]);
    const dataEdges = eventsOf(result, "edge.created").filter((e) => e.data.kind === "data");
    expect(dataEdges.map((e) => e.data.from)).toEqual([1, 2, 3, 4].map((n) => `exec_map_reduce/exec_square#${n}`));
  });

  test("nested spawns with one worker: parents waiting on children hold no slot", async () => {
    const result = await run(execTree, { depth: 3, width: 3 }, { ...opts(), workers: 1, keepEvents: true });
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(27);
    expect(result.counts.succeeded).toBe(1 + 3 + 9 + 27);
    expect(eventsOf(result, "task.waiting").length).toBe(1 + 3 + 9);
  });

  test("a failing child: failed with name, message and stack; consumer skipped; parent catches TaskFailedError", async () => {
    const result = await run(execCatches, {}, { ...opts(), workers: 2, keepEvents: true });
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual({
      caught: ErrorCodes.TASK_FAILED,
      isTaskFailed: true,
      child: "exec_catches/exec_boom#1",
      consumer: "exec_catches/exec_square#1",
    });
    const failed = eventFor(result, "task.failed", "exec_catches/exec_boom#1");
    expect(failed.data.error.name).toBe("BoomError");
    expect(failed.data.error.message).toBe("child went boom");
    expect(failed.data.error.stack).toMatch(/exec-basic\.[jt]s/);
    expect(eventFor(result, "task.skipped", "exec_catches/exec_square#1").data.because).toContain("exec_boom#1");
  });

  test("emit lets consumers start early; a later return value is a warning; the log's output is the emitted value", async () => {
    // Written to disk too, so the suite's check of every log (test/setup) folds it.
    const out = mkdtempSync(join(tmpdir(), "trellis-exec-emit-"));
    const result = await run(execEmitParent, {}, { ...opts(), workers: 2, keepEvents: true, out, snapshots: "none" });
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual({ square: 9, emitted: 3 });
    const emitter = "exec_emit_parent/exec_emitter#1";
    const consumer = "exec_emit_parent/exec_square#1";
    expect(seqOf(result, "task.succeeded", consumer)).toBeLessThan(seqOf(result, "task.succeeded", emitter));
    expect(eventFor(result, "task.warning", emitter).data.code).toBe("RETURN_AFTER_EMIT");
    // The return value (4) is ignored everywhere, the log included.
    expect(eventFor(result, "task.succeeded", emitter).data.output).toBe(3);
    expect(result.plan.nodes.get(emitter)?.output).toBe(3);
  });

  test("log fields are kept inside data.fields", async () => {
    const result = await run(execLogger, {}, { ...opts(), workers: 1, keepEvents: true });
    const log = eventFor(result, "task.log", "exec_logger");
    expect(log.data.message).toBe("hello");
    expect(log.data.fields).toEqual({
      n: 1,
      nested: { list: [1, 2] },
      when: { $t: "date", v: "1970-01-01T00:00:00.000Z" },
    });
  });

  test("a task past its timeoutMs fails with TASK_TIMEOUT after its retries", async () => {
    const result = await run(execHangs, {}, { ...opts(), workers: 1, keepEvents: true });
    expect(result.status).toBe("failed");
    expect(eventFor(result, "task.failed", "exec_hangs").data.error.code).toBe(ErrorCodes.TASK_TIMEOUT);
    const retries = eventsOf(result, "task.retrying");
    expect(retries.map((e) => [e.data.attempt, e.data.error.code])).toEqual([[2, ErrorCodes.TASK_TIMEOUT]]);
  });

  test("a failed attempt is retried", async () => {
    const result = await run(execFlaky, {}, { ...opts(), workers: 1, keepEvents: true });
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(2);
    const retry = eventsOf(result, "task.retrying");
    expect(retry).toHaveLength(1);
    expect(retry[0]?.data.error.message).toBe("first attempt fails");
  });

  test("a cycle of waits is reported as a deadlock, not a hang", async () => {
    const result = await run(execCycle, {}, { ...opts(), workers: 2, keepEvents: true });
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.DEADLOCK);
    const [deadlock] = eventsOf(result, "run.deadlock");
    expect(deadlock?.data.instances.map((i) => i.id).sort()).toEqual(["exec_cycle", "exec_cycle/exec_cycle_child#1"]);
  });

  test("an output that cannot be encoded fails that task with UNENCODABLE_OUTPUT", async () => {
    const result = await run(execReturnsFunction, {}, { ...opts(), workers: 1, keepEvents: true });
    expect(result.status).toBe("failed");
    expect(eventFor(result, "task.failed", "exec_returns_function").data.error.code).toBe(
      ErrorCodes.UNENCODABLE_OUTPUT,
    );
  });

  test("an output holding a Promise (a forgotten await) fails that task with UNENCODABLE_OUTPUT, naming the path", async () => {
    const result = await run(execForgetsAwait, {}, { ...opts(), workers: 1, keepEvents: true });
    expect(result.status).toBe("failed");
    const error = eventFor(result, "task.failed", "exec_forgets_await").data.error;
    expect(error.code).toBe(ErrorCodes.UNENCODABLE_OUTPUT);
    expect(error.message).toContain("output of exec_forgets_await.parts[0] is a Promise");
  });

  test("a halt fires the AbortSignal of running tasks", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "trellis-exec-")), "aborted.txt");
    const result = await run(execHaltParent, { file }, { ...opts(), workers: 2, keepEvents: true });
    expect(result.status).toBe("halted");
    expect(eventsOf(result, "promise.violated")).toHaveLength(1);
    expect(eventFor(result, "task.cancelled", "exec_halt_parent/exec_signalled#1").data.reason).toContain("halted");
    expect(readFileSync(file, "utf8")).toBe(ErrorCodes.TASK_CANCELLED);
  });

  // The child waits for its parent's emit, so it cannot finish before the parent's wait ended:
  // the order below holds whatever the timing, and only the engine's timer or the abort can end the wait.
  test.each([
    ["timeout", { name: "WaitTimeoutError", code: ErrorCodes.WAIT_TIMEOUT, cause: null }],
    ["abort", { name: "WaitAbortedError", code: ErrorCodes.WAIT_ABORTED, cause: "enough waiting" }],
  ] as const)(
    "a wait ended by its %s resumes the task with an error naming the unfinished handles; the child keeps running and can be waited for again",
    async (mode, expected) => {
      const out = mkdtempSync(join(tmpdir(), `trellis-exec-wait-${mode}-`));
      const result = await run(
        execLimitedWait,
        { mode, timeoutMs: 30 },
        { ...opts(), workers: 1, keepEvents: true, out, snapshots: "none" },
      );
      expect(result.error).toBeNull();
      expect(result.status).toBe("succeeded");
      const child = "exec_limited_wait/exec_awaits_parent#1";
      expect(result.output).toEqual({ ...expected, isClass: true, pending: [child] });
      const parentFlow = (result.events ?? [])
        .filter(
          (e) =>
            ("id" in e.data ? e.data.id : null) === "exec_limited_wait" ||
            (e.type === "task.succeeded" && e.data.id === child),
        )
        .map((e) =>
          e.type === "task.resumed"
            ? `resumed:${e.data.reason}`
            : e.type === "task.succeeded"
              ? `succeeded:${e.data.id}`
              : e.type,
        )
        .filter((t) => t !== "task.created" && t !== "task.log" && t !== "task.warning" && t !== "task.placed");
      expect(parentFlow).toEqual([
        "task.started",
        "task.waiting",
        `resumed:${mode === "timeout" ? "timeout" : "aborted"}`,
        "task.emitted",
        "task.waiting",
        `succeeded:${child}`,
        "resumed:completed",
        "succeeded:exec_limited_wait",
      ]);
      // Waiting again after the wait ended gives the child's output: what it saw of the parent's emit.
      expect(eventFor(result, "task.log", "exec_limited_wait").data.fields).toEqual({ again: { saw: result.output } });
      expect(eventsOf(result, "run.deadlock")).toEqual([]);
    },
  );
});
