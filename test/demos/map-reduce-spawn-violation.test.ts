import { describe, expect, it } from "vitest";
import squareBatch, { inputs } from "../../dist/demos/map_reduce_spawn_violation.js";
import { EXECUTORS, eventsOf, sharedRun } from "./demo-run.ts";

describe.each(EXECUTORS)("demo map_reduce_spawn_violation (%s)", (executor) => {
  const demo = sharedRun(executor, squareBatch, inputs);

  it("halts on the 6th square: limit 5, attempted 6, and no 6th square in the plan", async () => {
    const { result, plan, events } = await demo();
    expect(result.status).toBe("halted");
    expect(result.error?.code).toBe("PROMISE_VIOLATION");
    const violations = eventsOf(events, "promise.violated");
    expect(violations).toHaveLength(1);
    const v = violations[0]!.data;
    expect(v.promise).toBe("LimitedSpawns");
    expect(v.owner).toBe("square_batch");
    expect(v.by).toBe("square_batch");
    expect(v.details).toMatchObject({ limit: 5, attempted: 6 });
    expect(v.diff.nodes.map((n) => n.id)).toEqual(["square_batch/square#6"]);
    expect([...plan.nodes.values()].filter((n) => n.task === "square")).toHaveLength(5);
    expect(plan.nodes.has("square_batch/square#6")).toBe(false);
    expect(plan.nodes.has("square_batch/sum_reduce#1")).toBe(false);
    expect(plan.counts.pending + plan.counts.running + plan.counts.waiting).toBe(0);
    expect(plan.counts.cancelled).toBeGreaterThan(0);
    expect(eventsOf(events, "run.finished")[0]?.data.status).toBe("halted");
  });
});
