/**
 * The task stream's lanes (`taskStreamIndex`, `taskStreamAt`): one lane per
 * slot of each worker when `task.started` names the worker, inferred slots
 * otherwise; no two bars of a lane overlap; a bar keeps its lane at every
 * step; bars too close to tell apart at the page's width are drawn as one.
 */
import type { TrellisEvent } from "trellis";
import { describe, expect, it } from "vitest";
import type { LaneBar, TaskStream } from "../../dist/view/inspect.js";
import { BAR_MIN_PX, taskStream, taskStreamAt, taskStreamIndex } from "../../dist/view/inspect.js";

/** A log from `[ms, type, data]` rows: seq from 1, times from 0 ms. */
function log(rows: readonly (readonly [number, string, Record<string, unknown>])[]): TrellisEvent[] {
  return rows.map(
    ([ms, type, data], i) =>
      ({
        v: 1,
        seq: i + 1,
        ts: new Date(Date.UTC(2026, 0, 1) + ms).toISOString(),
        runId: "r",
        type,
        data,
      }) as unknown as TrellisEvent,
  );
}

const created = (id: string, task = id.replace(/#\d+$/, "")) =>
  [0, "task.created", { id, task, parent: "root", labels: [], inputs: {}, placeholder: null, priority: 0 }] as const;
const started = (ms: number, id: string, worker?: string) =>
  [ms, "task.started", worker === undefined ? { id, attempt: 1 } : { id, attempt: 1, worker }] as const;
const succeeded = (ms: number, id: string) => [ms, "task.succeeded", { id, output: null }] as const;

/** Every lane's bars in time order, checked to not overlap. */
function expectNoOverlap(stream: TaskStream): void {
  for (let lane = 0; lane < stream.lanes; lane++) {
    const bars = stream.bars.filter((b) => b.lane === lane).sort((a, b) => a.start - b.start);
    for (let i = 1; i < bars.length; i++)
      expect((bars[i] as LaneBar).start).toBeGreaterThanOrEqual((bars[i - 1] as LaneBar).end);
  }
}

describe("the task stream", () => {
  it("gives each worker the log names its own lanes, one per slot it used at once, side by side", () => {
    const events = log([
      created("a#1"),
      created("b#1"),
      created("c#1"),
      created("d#1"),
      started(0, "a#1", "w1"),
      started(1, "b#1", "w2"),
      started(2, "c#1", "w1"), // w1 runs two at once: its second slot
      succeeded(5, "a#1"),
      started(6, "d#1", "w1"), // a's slot is free again
      succeeded(7, "b#1"),
      succeeded(8, "c#1"),
      succeeded(9, "d#1"),
    ]);
    const stream = taskStream(events);
    expect(stream.workers).toBe(true);
    expect(stream.names).toEqual(["worker w1", "worker w1 · 2", "worker w2"]);
    const laneOf = Object.fromEntries(stream.bars.map((b) => [b.id, stream.names[b.lane]]));
    expect(laneOf).toEqual({ "a#1": "worker w1", "b#1": "worker w2", "c#1": "worker w1 · 2", "d#1": "worker w1" });
    expectNoOverlap(stream);
  });

  it("infers slots when the log names no worker: as many lanes as tasks ran at once", () => {
    const events = log([
      created("a#1"),
      created("b#1"),
      created("c#1"),
      started(0, "a#1"),
      started(1, "b#1"),
      succeeded(2, "a#1"),
      started(3, "c#1"),
      succeeded(4, "b#1"),
      succeeded(5, "c#1"),
    ]);
    const stream = taskStream(events);
    expect(stream.workers).toBe(false);
    expect(stream.names).toEqual(["slot 1", "slot 2"]);
    expect(stream.bars.map((b) => [b.id, b.lane])).toEqual([
      ["a#1", 0],
      ["b#1", 1],
      ["c#1", 0],
    ]);
    expectNoOverlap(stream);
  });

  it("keeps each bar in its lane at every step, and draws a bar still running up to the step shown", () => {
    const events = log([
      created("a#1"),
      created("b#1"),
      created("c#1"),
      started(0, "a#1", "w2"),
      started(10, "b#1", "w1"),
      started(20, "c#1", "w1"),
      succeeded(30, "a#1"),
      succeeded(40, "b#1"),
      succeeded(50, "c#1"),
    ]);
    const index = taskStreamIndex(events);
    const full = taskStreamAt(index, events.length);
    const laneAtEnd = new Map(full.bars.map((b) => [b.id, b.lane]));
    for (let n = 0; n <= events.length; n++) {
      const at = taskStreamAt(index, n);
      expect(at).toEqual(taskStreamAt(taskStreamIndex(events), n));
      for (const b of at.bars) expect(b.lane).toBe(laneAtEnd.get(b.id));
      expectNoOverlap(at);
    }
    // Step 6: c#1 has just started, a#1 and b#1 still run; nothing has ended.
    const six = taskStreamAt(index, 6);
    expect(six.span).toBe(20);
    expect(six.bars.map((b) => [b.id, b.start, b.end, b.ended, b.how])).toEqual([
      ["a#1", 0, 20, false, "running"],
      ["b#1", 10, 20, false, "running"],
      ["c#1", 20, 20, false, "running"],
    ]);
    expect(taskStreamAt(index, 3).bars).toEqual([]);
  });

  it("draws a bar that would be drawn over the one before it in its lane as one bar with it, with their count and the worst way they ended", () => {
    const rows: (readonly [number, string, Record<string, unknown>])[] = [];
    for (let i = 1; i <= 1000; i++) rows.push(created(`t#${i}`));
    for (let i = 1; i <= 1000; i++) {
      rows.push(started(i, `t#${i}`));
      rows.push(
        i === 500
          ? [i + 0.5, "task.failed", { id: `t#${i}`, error: { name: "Error", message: "no", code: "TASK_FAILED" } }]
          : succeeded(i + 0.5, `t#${i}`),
      );
    }
    const events = log(rows);
    const index = taskStreamIndex(events);
    expect(taskStreamAt(index, events.length).bars).toHaveLength(1000);
    const drawn = taskStreamAt(index, events.length, 400);
    // At most one bar per BAR_MIN_PX (3) pixels, and none drawn over another.
    expect(drawn.bars.length).toBeLessThanOrEqual(400 / BAR_MIN_PX);
    const scale = 400 / drawn.span;
    for (let i = 1; i < drawn.bars.length; i++) {
      const [a, b] = [drawn.bars[i - 1] as LaneBar, drawn.bars[i] as LaneBar];
      expect(b.start * scale).toBeGreaterThanOrEqual(Math.max(a.end * scale, a.start * scale + BAR_MIN_PX));
    }
    expect(drawn.bars.reduce((sum, b) => sum + b.count, 0)).toBe(1000);
    expect(drawn.bars.filter((b) => b.how === "failed")).toHaveLength(1);
    expect(drawn.bars.find((b) => b.how === "failed")?.count).toBeGreaterThan(1);
    expectNoOverlap(drawn);
    // Bars wide enough to see stay apart, even touching.
    const wide = taskStreamAt(
      taskStreamIndex(
        log([
          created("a#1"),
          created("b#1"),
          started(0, "a#1"),
          succeeded(50, "a#1"),
          started(50, "b#1"),
          succeeded(100, "b#1"),
        ]),
      ),
      6,
      400,
    );
    expect(wide.bars.map((b) => [b.id, b.count])).toEqual([
      ["a#1", 1],
      ["b#1", 1],
    ]);
  });
});
