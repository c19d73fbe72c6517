import { describe, expect, it } from "vitest";
import type { TrellisEvent } from "trellis";
import type { Frame, FrameSelectorOptions } from "../../dist/render/frames.js";
import {
  AUTO_FRAME_CAP,
  AUTO_SMALL_PLAN,
  AUTO_TIME_SLICES,
  FrameSelector,
  autoGapMs,
} from "../../dist/render/frames.js";
import { LogBuilder } from "./render-helpers.ts";

function frames(events: readonly TrellisEvent[], options: FrameSelectorOptions): Frame[] {
  const s = new FrameSelector(options);
  const out: Frame[] = [];
  for (const e of events) out.push(...s.push(e));
  out.push(...s.end());
  return out;
}

/** Root r with two children a#1, a#2 that run one after the other. */
function twoChildren(): LogBuilder {
  return new LogBuilder()
    .root("r")
    .status("r", "task.started")
    .created("r/a#1", "a", "r")
    .created("r/a#2", "a", "r")
    .status("r/a#1", "task.started")
    .status("r/a#1", "task.succeeded")
    .status("r/a#2", "task.started")
    .status("r/a#2", "task.succeeded")
    .status("r", "task.succeeded")
    .add("run.finished", {
      status: "succeeded",
      output: null,
      counts: { pending: 0, running: 0, waiting: 0, succeeded: 3, failed: 0, skipped: 0, cancelled: 0 },
      durationMs: 1,
      violations: 0,
      error: null,
    });
}

/** A root that spawns `n` children in one burst, then runs them all. */
function fanOut(n: number, stepMs = 1): LogBuilder {
  const log = new LogBuilder("fan", stepMs).root("r").status("r", "task.started");
  for (let i = 1; i <= n; i++) log.created(`r/a#${i}`, "a", "r");
  for (let i = 1; i <= n; i++) log.status(`r/a#${i}`, "task.started").status(`r/a#${i}`, "task.succeeded");
  return log.status("r", "task.succeeded");
}

describe("frame policies", () => {
  it("all: one frame per change; a new node's edges join its creation", () => {
    const log = twoChildren();
    const f = frames(log.events, { policy: "all" });
    expect(f.map((x) => x.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // seq 1 run.started and 2 task.created make frame 1; child a#1 is seq 4 (created) + 5 (lineage edge).
    expect(f.map((x) => x.seq)).toEqual([2, 3, 5, 7, 8, 9, 10, 11, 12, 13]);
    expect(f[2]?.dot).toContain('"r" -> "r/a#1"');
  });

  it("steps: one frame per scheduler wave (the starts after the changes that allowed them), and the end", () => {
    const f = frames(twoChildren().events, { policy: "steps" });
    expect(f.map((x) => x.seq)).toEqual([3, 8, 10, 13]);
  });

  it("final: the end state only; none: nothing", () => {
    const log = twoChildren();
    const f = frames(log.events, { policy: "final" });
    expect(f.map((x) => [x.n, x.seq])).toEqual([[1, 13]]);
    expect(f[0]?.dot).toContain("succeeded");
    expect(frames(log.events, { policy: "none" })).toEqual([]);
  });

  it("auto on a small plan is the same as all, DOT for DOT", () => {
    const log = fanOut(5);
    expect(frames(log.events, { policy: "auto" })).toEqual(frames(log.events, { policy: "all" }));
  });

  it(`auto: a burst of spawns that takes the plan past ${AUTO_SMALL_PLAN} instances is one frame`, () => {
    const log = fanOut(1000, 0); // no time passes: only the forced frames
    const f = frames(log.events, { policy: "auto" });
    const lastCreation = 3 + 2 * 1000; // run.started, root, started; then created + edge per child
    expect(f.map((x) => x.seq)).toEqual([2, 3, lastCreation, log.events.length]);
    expect(f[2]?.dot).toContain("a ×1000");
  });

  it("auto beyond the small plan: frames spaced by the run time in the events, in proportion to the drawing cost", () => {
    const log = fanOut(1000, 1); // 1 ms between events
    const f = frames(log.events, { policy: "auto", only: 0 });
    const spaced = f.slice(3, -1); // after the burst, before the end
    expect(spaced.length).toBeGreaterThan(3);
    expect(spaced.length).toBeLessThan(40);
    for (let i = 1; i < spaced.length; i++)
      expect((spaced[i] as Frame).seq - (spaced[i - 1] as Frame).seq).toBeGreaterThanOrEqual(100);
    expect(f[f.length - 1]?.seq).toBe(log.events.length);
  });

  it("auto: a long run gets a number of frames that grows with the log of its length", () => {
    // A burst of spawns at once, then one change a second for `n` seconds.
    const slow = (n: number) => {
      const log = new LogBuilder("slow", 0).root("r").status("r", "task.started");
      for (let i = 1; i <= n; i++) log.created(`r/a#${i}`, "a", "r");
      log.step(1000);
      for (let i = 1; i <= n; i++) log.status(`r/a#${i}`, "task.started").status(`r/a#${i}`, "task.succeeded");
      return frames(log.events, { policy: "auto", only: 0 }).length;
    };
    const short = slow(200); // 400 s
    const long = slow(2000); // 4,000 s: 10 times longer
    expect(short).toBeGreaterThan(AUTO_TIME_SLICES);
    expect(long - short).toBeGreaterThan(AUTO_TIME_SLICES); // about AUTO_TIME_SLICES × ln 10 more
    expect(long - short).toBeLessThan(3 * AUTO_TIME_SLICES);
  });

  it(`auto: past ${AUTO_FRAME_CAP} frames, the spacing doubles every 10 frames`, () => {
    const base = autoGapMs(1000, 0, 0);
    expect(autoGapMs(1000, 0, AUTO_FRAME_CAP - 1)).toBe(base);
    expect(autoGapMs(1000, 0, AUTO_FRAME_CAP)).toBe(2 * base);
    expect(autoGapMs(1000, 0, AUTO_FRAME_CAP + 10)).toBe(4 * base);
    expect(autoGapMs(1000, 60_000, 0)).toBe(60_000 / AUTO_TIME_SLICES);
  });

  it("builds DOT only for the frame asked for, numbering the others the same", () => {
    const log = twoChildren();
    const all = frames(log.events, { policy: "all" });
    const one = frames(log.events, { policy: "all", only: 4 });
    expect(one.map((x) => x.n)).toEqual(all.map((x) => x.n));
    expect(one.filter((x) => x.dot !== "").map((x) => x.n)).toEqual([4]);
    expect(one[3]?.dot).toBe(all[3]?.dot);
  });

  it("ignores event types it does not know", () => {
    const log = twoChildren();
    const withUnknown = [...log.events];
    withUnknown.splice(5, 0, {
      v: 1,
      seq: 0,
      ts: "",
      runId: "x",
      type: "task.teleported",
      data: {},
    } as unknown as TrellisEvent);
    expect(frames(withUnknown, { policy: "all" }).map((x) => x.dot)).toEqual(
      frames(log.events, { policy: "all" }).map((x) => x.dot),
    );
  });
});
