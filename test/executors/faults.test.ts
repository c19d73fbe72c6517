// Workers that die or hang: the task fails with WORKER_CRASH (or its
// timeout), the pool replaces the worker and the run goes on.
import { describe, expect, test } from "vitest";
import { ErrorCodes, ProcessExecutor, ThreadExecutor, run } from "trellis";
import type { PoolOptions } from "trellis";
import { execCrashParent } from "../fixtures/exec-faults.ts";
import { WORKER_EXECUTORS, eventFor, eventsOf } from "./helpers.ts";

const make = (kind: (typeof WORKER_EXECUTORS)[number], options: PoolOptions) =>
  kind === "threads" ? new ThreadExecutor(options) : new ProcessExecutor(options);

describe.each(WORKER_EXECUTORS)("worker faults: %s", (kind) => {
  async function crash(child: "exits" | "throwsLater" | "hog" | "spins", options: PoolOptions = {}) {
    const executor = make(kind, { workers: 1, ...options });
    const result = await run(execCrashParent, { child }, { executor, keepEvents: true });
    const childId = eventsOf(result, "task.created")[1]?.data.id ?? "";
    return { result, child: eventFor(result, "task.failed", childId).data.error, parentRetry: eventsOf(result, "task.retrying") };
  }

  function expectRecovered(r: Awaited<ReturnType<typeof crash>>, reason: string): void {
    // The worker's other attempt (the waiting parent) failed with it and was retried on the replacement.
    expect(r.parentRetry.map((e) => [e.data.id, e.data.error.code, e.data.error.details?.["reason"]])).toEqual([
      ["exec_crash_parent", ErrorCodes.WORKER_CRASH, reason],
    ]);
    expect(r.result.status).toBe("succeeded");
    expect(r.result.output).toEqual({ attempt: 2, caught: ErrorCodes.TASK_FAILED, square: 25, taskFailed: true });
  }

  test("a task that calls process.exit fails with WORKER_CRASH; the run goes on", async () => {
    const r = await crash("exits");
    expect(r.child.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(r.child.details?.["reason"]).toBe("exit");
    expectRecovered(r, "exit");
  });

  test("an error thrown from a timer crashes the worker, with the error as cause", async () => {
    const r = await crash("throwsLater");
    expect(r.child.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(r.child.details?.["reason"]).toBe("uncaught-error");
    expect(r.child.cause?.name).toBe("Error");
    expect(r.child.cause?.stack).toContain("exec-faults.ts");
    expectRecovered(r, "uncaught-error");
  });

  test("out of memory fails the task with WORKER_CRASH (out-of-memory)", async () => {
    const r = await crash("hog", { maxOldGenerationSizeMb: 64 });
    expect(r.child.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(r.child.details?.["reason"]).toBe("out-of-memory");
    expectRecovered(r, "out-of-memory");
  });

  test("a synchronous loop past its timeout: TASK_TIMEOUT, the stuck worker is replaced", async () => {
    const r = await crash("spins", { abortGraceMs: 200 });
    expect(r.child.code).toBe(ErrorCodes.TASK_TIMEOUT);
    expectRecovered(r, "unresponsive");
  });
});
