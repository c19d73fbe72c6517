import { describe, expect, it } from "vitest";
import type { Plan, RunObserver, TrellisEvent } from "trellis";
import { LimitedSpawns, OnlySpecificEdgesAllowed, OnlySpecificNodesAllowed, foldEvents } from "trellis";
import { computeGhosts } from "../../dist/promises/ghosts.js";
import type { Program } from "../../.tmp/fixtures/prom-tasks.js";
import { promA, promClassify } from "../../.tmp/fixtures/prom-tasks.js";
import { PlanBuilder, eventsOf, runKept } from "./helpers.ts";

/** Records the ghost labels after every event, and keeps only the changes. */
function ghostWatcher() {
  const steps: { seq: number; type: string; labels: string[] }[] = [];
  const observer: RunObserver = {
    onEvent(event: TrellisEvent, plan: Plan) {
      const labels = computeGhosts(plan).map((g) => g.label);
      const last = steps.at(-1);
      if (!last || JSON.stringify(last.labels) !== JSON.stringify(labels))
        steps.push({ seq: event.seq, type: event.type, labels });
    },
  };
  return { steps, observer };
}

describe("computeGhosts in runs", () => {
  it("counts a budget ghost down as children appear, and drops it at 0 (dynamic_static_preview)", async () => {
    const c = { task: "prom_c" as const };
    const program: Program = { declare: [LimitedSpawns("prom_c", 2)], spawn: [c], then: { spawn: [c] } };
    const w = ghostWatcher();
    const result = await runKept(promA, { program }, { observers: [w.observer] });
    expect(result.status).toBe("succeeded");
    expect(w.steps.map((s) => s.labels)).toEqual([[], ["prom_c (2 left)"], ["prom_c (1 left)"], []]);
    expect(w.steps.map((s) => s.type)).toEqual(["run.started", "promise.declared", "task.created", "task.created"]);
  });

  it("removes the branch not taken when its owner finishes (multi_branching)", async () => {
    const w = ghostWatcher();
    const result = await runKept(promClassify, { x: 3 }, { observers: [w.observer] });
    expect(result.status).toBe("succeeded");
    expect(result.violations).toBe(0);
    expect(w.steps.map((s) => s.labels)).toEqual([
      [],
      ["prom_even", "prom_mult3", "prom_positive"],
      ["prom_even", "prom_positive"],
      ["prom_even"],
      [],
    ]);
    const last = w.steps.at(-1)!;
    expect(last.type).toBe("task.succeeded");
    expect(eventsOf(result).find((e) => e.seq === last.seq)?.data).toMatchObject({ id: "prom_classify" });
  });

  it("gives the same ghosts from a replayed log at every step", async () => {
    const seen: { seq: number; ghosts: unknown }[] = [];
    const observer: RunObserver = { onEvent: (e, plan) => void seen.push({ seq: e.seq, ghosts: computeGhosts(plan) }) };
    const result = await runKept(promClassify, { x: 6 }, { observers: [observer] });
    const events = eventsOf(result);
    for (const s of seen) expect(computeGhosts(foldEvents(events.filter((e) => e.seq <= s.seq)))).toEqual(s.ghosts);
  });
});

describe("computeGhosts on hand-built plans", () => {
  const base = () => new PlanBuilder().root("r", "root").status("r", "task.started");

  it("gives one branch ghost per allowed definition not spawned yet, with deterministic ids", () => {
    const plan = foldEvents(
      base()
        .promise("r", OnlySpecificNodesAllowed(["x", "y"]))
        .promise(
          "r",
          OnlySpecificEdgesAllowed([
            ["root", "y"],
            ["root", "z"],
            ["y", "w"],
          ]),
        )
        .node("r/y#1", "y", "r").events,
    );
    // x is refused by the edge whitelist, z by the node whitelist, w is not a child of r; y was taken.
    expect(computeGhosts(plan)).toEqual([]);
    const open = foldEvents(
      base().promise(
        "r",
        OnlySpecificEdgesAllowed([
          ["root", "y"],
          ["root", "z"],
          ["y", "w"],
        ]),
      ).events,
    );
    expect(computeGhosts(open)).toEqual([
      { id: "r/?y", kind: "branch", owner: "r", task: "y", left: null, label: "y", pid: 1 },
      { id: "r/?z", kind: "branch", owner: "r", task: "z", left: null, label: "z", pid: 1 },
    ]);
  });

  it("shows the smallest budget in the owner's scope, and no branch whose budget is 0", () => {
    const plan = foldEvents(
      base()
        .promise("r", LimitedSpawns("c", 1))
        .node("a", "pa", "r")
        .status("a", "task.started")
        .promise("a", LimitedSpawns("c", 3))
        .promise("a", OnlySpecificNodesAllowed(["c", "d"]))
        .promise("r", LimitedSpawns("d", 0, { scope: "global" })).events,
    );
    const ghosts = computeGhosts(plan);
    expect(ghosts.map((g) => [g.owner, g.label, g.left])).toEqual([
      ["r", "c (1 left)", 1],
      ["a", "c (1 left)", 1],
      ["a", "c", null],
    ]);
  });

  it("drops every ghost of an owner that finished", () => {
    const b = base()
      .promise("r", LimitedSpawns("c", 2))
      .node("a", "pa", "r")
      .promise("a", OnlySpecificNodesAllowed(["x"]));
    expect(computeGhosts(foldEvents(b.events)).map((g) => g.id)).toEqual(["r/?c$budget", "a/?x"]);
    b.status("a", "task.started").status("a", "task.succeeded");
    expect(computeGhosts(foldEvents(b.events)).map((g) => g.id)).toEqual(["r/?c$budget"]);
  });
});
