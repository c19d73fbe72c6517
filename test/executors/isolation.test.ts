// Crash isolation by replay: when a worker dies, only its culprit fails. The
// attempts it hosted beside the culprit (a waiting parent, pipelined
// siblings) run again from the start on a healthy worker, not counted as
// failed attempts; the culprit's own retries apply to it alone.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { ErrorCodes, ProcessExecutor, ThreadExecutor, run } from "trellis";
import type { PoolOptions, RunResult } from "trellis";
import { isoParent } from "../../.tmp/fixtures/exec-isolation.js";
import type { Fault } from "../../.tmp/fixtures/exec-isolation.js";
import { WORKER_EXECUTORS, eventsOf } from "./helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Options that make each fault quick: a small heap to run out of, a short grace for a stuck worker. */
const FAULT_OPTIONS: Record<Fault, PoolOptions> = {
  exits: {},
  throwsLater: {},
  hog: { maxOldGenerationSizeMb: 64 },
  spins: { abortGraceMs: 200 },
};

/**
 * Runs a parent with `siblings` innocent children and one crashing child,
 * 8 slots per worker (ties go to the oldest worker, so they all share the
 * first one). The workers' stderr (a dying worker's reports) is kept out of
 * the test output.
 */
async function crashRun(
  kind: (typeof WORKER_EXECUTORS)[number],
  fault: Fault,
  retries: "none" | "retry" | "always",
  siblings: number,
  workers = 1,
) {
  const dir = mkdtempSync(join(tmpdir(), "trellis-iso-"));
  dirs.push(dir);
  const spy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    const options: PoolOptions = { workers, slotsPerWorker: 8, ...FAULT_OPTIONS[fault] };
    const executor = kind === "threads" ? new ThreadExecutor(options) : new ProcessExecutor(options);
    return await run(
      isoParent,
      { fault, retries, siblings, marker: join(dir, "crashed") },
      { executor, keepEvents: true },
    );
  } finally {
    spy.mockRestore();
  }
}

const started = (r: RunResult<unknown>, id: string) =>
  eventsOf(r, "task.started")
    .filter((e) => e.data.id === id)
    .map((e) => e.data.attempt);
const failedAttempts = (r: RunResult<unknown>, id: string) =>
  eventsOf(r, "task.retrying").filter((e) => e.data.id === id).length +
  eventsOf(r, "task.failed").filter((e) => e.data.id === id).length;
const rehosted = (r: RunResult<unknown>, id: string) => eventsOf(r, "task.rehosted").filter((e) => e.data.id === id);
const childId = (r: RunResult<unknown>) =>
  eventsOf(r, "task.created").find((e) => e.data.task.startsWith("iso_crash") || e.data.task.startsWith("iso_spin"))
    ?.data.id ?? "";
const siblingIds = (r: RunResult<unknown>) =>
  eventsOf(r, "task.created")
    .filter((e) => e.data.task === "iso_sibling")
    .map((e) => e.data.id);

const REASONS: Record<Fault, string> = {
  exits: "exit",
  throwsLater: "uncaught-error",
  hog: "out-of-memory",
  spins: "unresponsive",
};
const FAULTS: Fault[] = ["exits", "throwsLater", "hog", "spins"];

describe.each(WORKER_EXECUTORS)("crash isolation: %s", (kind) => {
  test.each(FAULTS)(
    "%s: the child alone fails; its waiting parent catches it and succeeds; pipelined siblings run again and succeed",
    async (fault) => {
      const r = await crashRun(kind, fault, "none", 3);
      expect(r.status).toBe("succeeded");
      expect(r.output).toEqual({ caught: ErrorCodes.TASK_FAILED, value: null, siblings: [0, 10, 20], attempt: 1 });
      const child = childId(r);
      const error = eventsOf(r, "task.failed").find((e) => e.data.id === child)?.data.error;
      if (fault === "spins") expect(error?.code).toBe(ErrorCodes.TASK_TIMEOUT);
      else {
        expect(error?.code).toBe(ErrorCodes.WORKER_CRASH);
        expect(error?.details?.["reason"]).toBe(REASONS[fault]);
      }
      // Nothing else failed, nothing else was retried: the parent and the siblings ran attempt 1 only.
      expect(eventsOf(r, "task.failed").map((e) => e.data.id)).toEqual([child]);
      expect(eventsOf(r, "task.retrying")).toEqual([]);
      for (const id of ["iso_parent", ...siblingIds(r)]) {
        expect(started(r, id)).toEqual([1]);
        expect(failedAttempts(r, id)).toBe(0);
        expect(rehosted(r, id).length).toBeGreaterThanOrEqual(1);
        expect(rehosted(r, id)[0]?.data.reason).toBe(REASONS[fault]);
      }
      // The worker named the culprit (its process.exit, its uncaught error): the others run again normally.
      // Out of memory and a stuck loop name no one: the attempts that were running run again, one per worker.
      const isolated = rehosted(r, siblingIds(r)[0] ?? "")[0]?.data.isolated;
      expect(isolated).toBe(fault === "hog" || fault === "spins");
      // The parent was suspended in its wait, so it could not have done it (after a timeout its wait was answered, and the stuck worker could not tell whether it ran).
      if (fault !== "spins") expect(rehosted(r, "iso_parent")[0]?.data.isolated).toBe(false);
    },
  );

  test.each(FAULTS)(
    "%s: a child that crashes once and succeeds on its retry leaves the run succeeded",
    async (fault) => {
      // The retry may wait for a replacement worker to start: its timeoutMs counts from when a worker has it.
      const r = await crashRun(kind, fault, "retry", 0, 2);
      expect(r.status).toBe("succeeded");
      expect(r.output).toEqual({ caught: null, value: "recovered", siblings: [], attempt: 1 });
      const child = childId(r);
      expect(started(r, child)).toEqual([1, 2]);
      expect(eventsOf(r, "task.retrying").map((e) => e.data.id)).toEqual([child]);
      expect(started(r, "iso_parent")).toEqual([1]);
      expect(failedAttempts(r, "iso_parent")).toBe(0);
    },
  );

  test("a task that crashes its worker every time fails after maxWorkerCrashes dying workers, whatever its retries", async () => {
    const r = await crashRun(kind, "exits", "always", 1);
    expect(r.status).toBe("succeeded");
    expect(r.output).toEqual({ caught: ErrorCodes.TASK_FAILED, value: null, siblings: [0], attempt: 1 });
    const child = childId(r);
    expect(started(r, child)).toEqual([1, 2, 3]);
    const error = eventsOf(r, "task.failed").find((e) => e.data.id === child)?.data.error;
    expect(error?.code).toBe(ErrorCodes.WORKER_CRASH);
    expect(error?.details?.["final"]).toBe(true);
    expect(error?.details?.["crashes"]).toBe(3);
    expect(error?.message).toContain("has been on 3 workers that died (maxWorkerCrashes: 3)");
    expect(failedAttempts(r, "iso_parent")).toBe(0);
  });

  test("run()'s maxWorkerCrashes sets the limit of the executor it names", async () => {
    const dir = mkdtempSync(join(tmpdir(), "trellis-iso-"));
    dirs.push(dir);
    const inputs = { fault: "exits" as const, retries: "always" as const, siblings: 0, marker: join(dir, "crashed") };
    const r = await run(isoParent, inputs, { executor: kind, workers: 1, maxWorkerCrashes: 1, keepEvents: true });
    const child = childId(r);
    expect(started(r, child)).toEqual([1]);
    expect(eventsOf(r, "task.failed").find((e) => e.data.id === child)?.data.error.details).toMatchObject({
      final: true,
      crashes: 1,
    });
    await expect(run(isoParent, inputs, { executor: kind, maxWorkerCrashes: 0 })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
  });
});
