// Workers that die or hang: the task that broke the worker fails with
// WORKER_CRASH (or its timeout), the pool replaces the worker, the waiting
// parent it shared the worker with runs again there and the run goes on.
// test/executors/isolation.test.ts covers siblings, retries and the limit.
import { describe, expect, test, vi } from "vitest";
import { ErrorCodes, ProcessExecutor, ThreadExecutor, run } from "trellis";
import type { PoolOptions } from "trellis";
import { WorkerStderr } from "../../dist/runtime/processes/process-transport.js";
import { execCrashParent } from "../../.tmp/fixtures/exec-faults.js";
import { WORKER_EXECUTORS, eventFor, eventsOf } from "./helpers.ts";

const make = (kind: (typeof WORKER_EXECUTORS)[number], options: PoolOptions) =>
  kind === "threads" ? new ThreadExecutor(options) : new ProcessExecutor(options);

type Child = "exits" | "throwsLater" | "hog" | "spins" | "aborts";

/**
 * Runs a parent whose child breaks its worker. What the workers print on this
 * process's stderr is captured (kept out of the test output, and returned):
 * a dying worker's native trace must go to the log, never to the terminal.
 */
async function crash(kind: (typeof WORKER_EXECUTORS)[number], child: Child, options: PoolOptions = {}) {
  let printed = "";
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const executor = make(kind, { workers: 1, ...options });
    const result = await run(execCrashParent, { child }, { executor, keepEvents: true });
    const childId = eventsOf(result, "task.created")[1]?.data.id ?? "";
    return {
      result,
      child: eventFor(result, "task.failed", childId).data.error,
      retries: eventsOf(result, "task.retrying"),
      rehosted: eventsOf(result, "task.rehosted"),
      printed,
    };
  } finally {
    spy.mockRestore();
  }
}

function expectRecovered(r: Awaited<ReturnType<typeof crash>>, reason: string): void {
  // The worker's other attempt (the waiting parent) did not fail: it ran again on the replacement, same attempt.
  expect(r.retries).toEqual([]);
  expect(r.rehosted.map((e) => [e.data.id, e.data.attempt, e.data.reason])).toEqual([["exec_crash_parent", 1, reason]]);
  expect(r.result.status).toBe("succeeded");
  expect(r.result.output).toEqual({ attempt: 1, caught: ErrorCodes.TASK_FAILED, square: 25, taskFailed: true });
}

/** A native trace: V8's out-of-memory report or Node's abort report. */
const NATIVE_TRACE = /Native stack trace|FATAL ERROR|Last few GCs|\n\s*\d+: 0x[0-9a-f]+ /;

describe("a process worker's stderr", () => {
  test("passes through line by line until a crash report starts; all of it stays in the tail for the error", () => {
    let shown = "";
    const stderr = new WorkerStderr({ write: (t: string) => (shown += t) });
    stderr.push("user warn");
    stderr.push("ing\nsecond line\n");
    stderr.push("<--- Last few GCs --->\n[1:0x1] 2 ms: Mark-Compact\n");
    stderr.push("FATAL ERROR: Reached heap limit\n 1: 0xb78db3 node::OOMErrorHandler\n");
    stderr.end();
    expect(shown).toBe("user warning\nsecond line\n");
    expect(stderr.tail).toContain("FATAL ERROR: Reached heap limit");
    const last = new WorkerStderr({ write: (t: string) => (shown += t) });
    last.push("no newline at the end");
    last.end();
    expect(shown.endsWith("no newline at the end")).toBe(true);
  });
});

describe("worker faults: processes only", () => {
  test("an abort fails the task with WORKER_CRASH (signal) naming SIGABRT; the native trace goes to the log, not the terminal", async () => {
    const r = await crash("processes", "aborts");
    expect(r.child.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(r.child.details?.["reason"]).toBe("signal");
    expect(r.child.message).toContain("SIGABRT");
    expect(r.child.message).not.toContain("process.exit");
    expect(r.child.message).not.toMatch(NATIVE_TRACE);
    expect(String(r.child.details?.["stderr"])).toContain("Native stack trace");
    expect(r.printed).not.toMatch(NATIVE_TRACE);
    expectRecovered(r, "signal");
  });
});

describe.each(WORKER_EXECUTORS)("worker faults: %s", (kind) => {
  test("a task that calls process.exit fails with WORKER_CRASH, alone; the run goes on", async () => {
    const r = await crash(kind, "exits");
    expect(r.child.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(r.child.details?.["reason"]).toBe("exit");
    expectRecovered(r, "exit");
  });

  test("an error thrown from a timer crashes the worker, with the error as cause", async () => {
    const r = await crash(kind, "throwsLater");
    expect(r.child.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(r.child.details?.["reason"]).toBe("uncaught-error");
    expect(r.child.cause?.name).toBe("Error");
    expect(r.child.cause?.stack).toMatch(/exec-faults\.[jt]s/);
    expectRecovered(r, "uncaught-error");
  });

  test("out of memory fails the task with WORKER_CRASH (out-of-memory)", async () => {
    const r = await crash(kind, "hog", { maxOldGenerationSizeMb: 64 });
    expect(r.child.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(r.child.details?.["reason"]).toBe("out-of-memory");
    expect(r.child.message).not.toMatch(NATIVE_TRACE);
    expect(r.printed).not.toMatch(NATIVE_TRACE);
    if (kind === "processes") expect(String(r.child.details?.["stderr"])).toContain("heap out of memory");
    expectRecovered(r, "out-of-memory");
  });

  test("a synchronous loop past its timeout: TASK_TIMEOUT, the stuck worker is replaced", async () => {
    const r = await crash(kind, "spins", { abortGraceMs: 200 });
    expect(r.child.code).toBe(ErrorCodes.TASK_TIMEOUT);
    expectRecovered(r, "unresponsive");
  });
});
