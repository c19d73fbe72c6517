import { describe, expect, it } from "vitest";
import { computeGhosts } from "../../dist/promises/ghosts.js";
import classify, { inputs } from "../../dist/demos/multi_branching.js";
import { EXECUTORS, eventsOf, replay, sharedRun } from "./demo-run.ts";

describe.each(EXECUTORS)("demo multi_branching (%s)", (executor) => {
  const demo = sharedRun(executor, classify, inputs);

  it("takes the mult3 and positive branches of 3, with no violation", async () => {
    const { result, plan, events } = await demo();
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual(["3 = 3 × 1", "3 > 0"]);
    expect([...plan.nodes.keys()]).toEqual(["classify", "classify/mult3#1", "classify/positive#1"]);
    expect(plan.counts.succeeded).toBe(3);
    expect(eventsOf(events, "promise.violated")).toEqual([]);
    expect(eventsOf(events, "promise.declared").map((e) => [e.data.promise.kind, e.data.source])).toEqual([
      ["OnlySpecificNodesAllowed", "definition"],
      ["OnlySpecificEdgesAllowed", "definition"],
    ]);
  });

  it("shows the allowed branches as ghosts and removes the `even` ghost when classify finishes", async () => {
    const { events } = await demo();
    const ghosts = replay(events, (plan) => computeGhosts(plan).map((g) => g.task));
    expect(ghosts[0]).toEqual([]);
    expect(ghosts).toContainEqual(["even", "mult3", "positive"]);
    expect(ghosts.at(-1)).toEqual([]);
    const finished = events.findIndex((e) => e.type === "task.succeeded" && e.data.id === "classify");
    const before = replay(events.slice(0, finished), (plan) => computeGhosts(plan).map((g) => g.task)).at(-1);
    expect(before).toEqual(["even"]);
  });
});
