import { describe, expect, it } from "vitest";
import type { TrellisEvent } from "trellis";
import squareBatch, { inputs } from "../../dist/demos/map_reduce.js";
import { EXECUTORS, edgeCount, eventsOf, sharedRun } from "./demo-run.ts";

/** The most instances carrying `label` that were running at once, replaying the log. */
function maxRunning(events: readonly TrellisEvent[], label: string): number {
  const labelled = new Set(
    eventsOf(events, "task.created")
      .filter((e) => e.data.labels.includes(label))
      .map((e) => e.data.id),
  );
  const running = new Set<string>();
  let max = 0;
  for (const e of events) {
    switch (e.type) {
      case "task.started":
      case "task.resumed":
        if (labelled.has(e.data.id)) running.add(e.data.id);
        break;
      case "task.waiting":
      case "task.retrying":
      case "task.succeeded":
      case "task.failed":
      case "task.cancelled":
        running.delete(e.data.id);
        break;
      default:
        break;
    }
    max = Math.max(max, running.size);
  }
  return max;
}

describe.each(EXECUTORS)("demo map_reduce (%s)", (executor) => {
  const demo = sharedRun(executor, squareBatch, inputs, { workers: 4 });

  it("reduces the squares of 1..6 to 91 with a data edge from every square", async () => {
    const { result, plan, events } = await demo();
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(91);
    const squares = [...plan.nodes.values()].filter((n) => n.task === "square");
    expect(squares.map((n) => n.output)).toEqual([1, 4, 9, 16, 25, 36]);
    expect(plan.counts.succeeded).toBe(8);
    expect(edgeCount(plan, "data")).toBe(6);
    expect(plan.producers.get("square_batch/sum_reduce#1")).toEqual(squares.map((n) => n.id));
    const declared = eventsOf(events, "promise.declared").map((e) => e.data.promise);
    expect(declared).toEqual([
      { kind: "LimitedSpawns", task: "square", limit: 6, scope: "descendants" },
      { kind: "MaxParallelism", label: "squares", limit: 2, scope: "descendants" },
    ]);
  });

  it("never runs more than 2 squares at once, though 4 slots are free", async () => {
    const { events } = await demo();
    expect(maxRunning(events, "squares")).toBe(2);
  });
});
