// Which results of a dead coordinator's attempts a resumed run records
// (runtime/collected.ts, pure): only successes of the attempts the log shows
// in flight, whose plan-changing calls the log already holds.
import { describe, expect, test } from "vitest";
import { foldEvents } from "trellis";
import type { TrellisEvent } from "trellis";
import { attemptsInFlight, trustedResult } from "../../dist/runtime/collected.js";
import type { CollectedResult } from "../../dist/runtime/executor.js";

let seq = 0;
function ev(type: string, data: Record<string, unknown>): TrellisEvent {
  return { v: 1, seq: ++seq, ts: "2026-01-01T00:00:00.000Z", runId: "r", type, data } as unknown as TrellisEvent;
}
function created(id: string, parent: string | null): TrellisEvent {
  return ev("task.created", {
    id,
    task: id.split("#")[0],
    parent,
    labels: [],
    inputs: null,
    placeholder: null,
    priority: 0,
  });
}

/** A root waiting on `a` (running, attempt 1), `b` (running, attempt 2) and `c` (succeeded); the engine died; the log was resumed. */
function log(): {
  before: ReturnType<typeof foldEvents>;
  inFlight: Map<string, number>;
  after: ReturnType<typeof foldEvents>;
} {
  seq = 0;
  const events = [
    ev("run.started", { root: "root", task: "root", inputs: null, options: {}, modules: [] }),
    created("root", null),
    ev("task.started", { id: "root", attempt: 1 }),
    created("a#1", "root"),
    created("b#1", "root"),
    created("c#1", "root"),
    created("a#1/kid#1", "a#1"),
    ev("promise.declared", {
      pid: 1,
      owner: "a#1",
      source: "context",
      promise: { kind: "MaxParallelism", label: "x", limit: 2 },
    }),
    ev("task.waiting", { id: "root", on: ["a#1", "b#1", "c#1"] }),
    ev("task.started", { id: "a#1", attempt: 1 }),
    ev("task.started", { id: "b#1", attempt: 1 }),
    ev("task.retrying", {
      id: "b#1",
      attempt: 2,
      delayMs: 0,
      error: { name: "Error", message: "x", code: "E" },
    }),
    ev("task.started", { id: "b#1", attempt: 2 }),
    ev("task.started", { id: "c#1", attempt: 1 }),
    ev("task.succeeded", { id: "c#1", output: 3 }),
  ];
  const before = foldEvents(events);
  const inFlight = attemptsInFlight(before);
  const after = foldEvents([
    ...events,
    ev("run.resumed", { fromSeq: seq, droppedBytes: 0, retryFailed: false, options: {} }),
  ]);
  return { before, inFlight, after };
}

function result(id: string, attempt: number, more: Partial<CollectedResult> = {}): CollectedResult {
  return {
    id,
    attempt,
    worker: "w",
    outcome: { ok: true, output: 1 },
    spawned: [],
    emitted: false,
    promised: [],
    ...more,
  };
}

describe("results a resumed run collects", () => {
  test("the attempts in flight are those the log shows running or waiting, by their attempt", () => {
    const { inFlight } = log();
    expect([...inFlight].sort()).toEqual([
      ["a#1", 1],
      ["b#1", 2],
      ["root", 1],
    ]);
  });

  test("a success of an attempt in flight is recorded; whose spawns, emit and promises are in the log", () => {
    const { after, inFlight } = log();
    expect(trustedResult(after, inFlight, result("b#1", 2))).toBe(true);
    expect(
      trustedResult(
        after,
        inFlight,
        result("a#1", 1, {
          spawned: ["a#1/kid#1"],
          promised: [{ kind: "MaxParallelism", label: "x", limit: 2 } as never],
        }),
      ),
    ).toBe(true);
  });

  test("anything else runs again: a failure, another attempt, a finished instance, an unlogged spawn, emit or promise", () => {
    const { after, inFlight } = log();
    const failed = result("b#1", 2, { outcome: { ok: false, error: { name: "Error", message: "no" } as never } });
    expect(trustedResult(after, inFlight, failed)).toBe(false);
    expect(trustedResult(after, inFlight, result("b#1", 1))).toBe(false); // the attempt the log had already failed
    expect(trustedResult(after, inFlight, result("b#1", 3))).toBe(false);
    expect(trustedResult(after, inFlight, result("c#1", 1))).toBe(false);
    expect(trustedResult(after, inFlight, result("a#1", 1, { spawned: ["a#1/kid#2"] }))).toBe(false);
    expect(trustedResult(after, inFlight, result("a#1", 1, { emitted: true }))).toBe(false);
    const other = { kind: "MaxParallelism", label: "y", limit: 2 } as never;
    expect(trustedResult(after, inFlight, result("a#1", 1, { promised: [other] }))).toBe(false);
  });
});
