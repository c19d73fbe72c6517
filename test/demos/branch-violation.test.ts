import { describe, expect, it } from "vitest";
import branchOrBreak, { inputs } from "../../dist/demos/branch_violation.js";
import { EXECUTORS, eventsOf, sharedRun } from "./demo-run.ts";

describe.each(EXECUTORS)("demo branch_violation (%s)", (executor) => {
  const demo = sharedRun(executor, branchOrBreak, inputs);

  it("refuses the `rogue` branch and halts the run", async () => {
    const { result, plan, events } = await demo();
    expect(result.status).toBe("halted");
    const violations = eventsOf(events, "promise.violated");
    expect(violations).toHaveLength(1);
    const v = violations[0]!.data;
    expect(v.promise).toBe("OnlySpecificNodesAllowed");
    expect(v.by).toBe("branch_or_break");
    expect(v.details["tasks"]).toEqual(["rogue"]);
    expect(v.details["allowed"]).toEqual(["square", "cube"]);
    expect([...plan.nodes.values()].map((n) => n.task)).toEqual(["branch_or_break"]);
    expect(plan.nodes.get("branch_or_break")?.status).toBe("cancelled");
    expect(eventsOf(events, "run.finished")[0]?.data.status).toBe("halted");
  });
});
