/**
 * Refused spawns: the nodes a broken promise kept out of the plan are drawn
 * as red ghosts under the task that tried, in the viewer and in the frames.
 */
import { describe, expect, it } from "vitest";
import { buildDot, foldEvents } from "trellis";
import type { TrellisEvent } from "trellis";
import { refusedSpawns } from "../../dist/render/refused.js";
import { LogBuilder } from "./render-helpers.ts";

function violationLog(diff: unknown): TrellisEvent[] {
  const b = new LogBuilder();
  b.add("run.started", {
    root: "p",
    task: "p",
    inputs: {},
    options: { executor: "inline", workers: 1, onViolation: "halt" },
  });
  b.add("task.created", { id: "p", task: "p", parent: null, labels: [], inputs: {}, placeholder: null, priority: 0 });
  b.add("promise.declared", {
    pid: 1,
    owner: "p",
    source: "context",
    promise: { kind: "LimitedSpawns", task: "c", limit: 0, scope: "descendants" },
  });
  b.add("promise.violated", {
    pid: 1,
    promise: "LimitedSpawns",
    spec: { kind: "LimitedSpawns", task: "c", limit: 0, scope: "descendants" },
    owner: "p",
    by: "p",
    diff: diff as never,
    details: { limit: 0, attempted: 1, task: "c", parent: "p" },
    policy: "halt",
  });
  return b.events;
}

describe("refused spawns", () => {
  it("are read from the violation's diff, with the broken promise as the reason", () => {
    const events = violationLog({
      by: "p",
      nodes: [{ id: "p/c#1", task: "c", parent: "p", labels: [], placeholder: null }],
      edges: [],
    });
    expect(refusedSpawns(events)).toEqual([
      {
        id: "p/c#1",
        task: "c",
        parent: "p",
        reason: "LimitedSpawns(c, 0): limit 0, attempted 1",
        promise: "LimitedSpawns(c, 0)",
        seq: 4,
      },
    ]);
    const dot = buildDot(foldEvents(events), { refused: refusedSpawns(events) });
    expect(dot).toContain(
      '"p/c#1/!refused" [label="c\\nrefused: LimitedSpawns(c, 0)", style="dotted,rounded,bold", color="#d62728"',
    );
    expect(dot).toContain('"p" -> "p/c#1/!refused" [style=dotted, color="#d62728"]');
  });

  it("skip a damaged diff instead of failing (the log reader does not check violation payloads)", () => {
    expect(refusedSpawns(violationLog(null))).toEqual([]);
    expect(refusedSpawns(violationLog({ nodes: [null, { id: 3 }] }))).toEqual([]);
  });
});
