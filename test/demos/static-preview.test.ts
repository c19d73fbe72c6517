import { describe, expect, it } from "vitest";
import A, { inputs } from "../../dist/demos/static_preview.js";
import { EXECUTORS, edgeCount, eventsOf, replay, sharedRun } from "./demo-run.ts";

describe.each(EXECUTORS)("demo static_preview (%s)", (executor) => {
  const demo = sharedRun(executor, A, inputs);

  it("computes b = 3, c = 6, d = 9, A = 9 over x = 2, y = 3 without breaking its static promises", async () => {
    const { result, plan, events } = await demo();
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(9);
    const outputs = Object.fromEntries([...plan.nodes.values()].map((n) => [n.task, n.output]));
    expect(outputs).toEqual({ A: 9, b: 3, c: 6, d: 9 });
    expect(edgeCount(plan, "data")).toBe(2);
    expect(plan.producers.get("A/d#1")).toEqual(["A/b#1", "A/c#1"]);
    expect(eventsOf(events, "promise.violated")).toEqual([]);
    // static: true attaches NoNewNodes and NoNewEdges to each of the four instances.
    const statics = eventsOf(events, "promise.declared").filter((e) => e.data.source === "static");
    expect(statics).toHaveLength(8);
  });

  it("replaces the three placeholders one by one", async () => {
    const { events } = await demo();
    const open = replay(events, (plan) =>
      [...plan.placeholders.values()].filter((p) => p.state === "open").map((p) => p.task),
    );
    expect(open).toEqual([[], ["b", "c", "d"], ["c", "d"], ["d"], []]);
    expect(eventsOf(events, "task.created").map((e) => e.data.placeholder)).toEqual([null, "A/b~1", "A/c~1", "A/d~1"]);
    expect(eventsOf(events, "preview.pruned")).toEqual([]);
  });
});
