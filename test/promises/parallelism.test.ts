/**
 * MaxParallelism through the scheduler, observed from the event log: the most
 * instances carrying a label that were running at once (started or resumed,
 * not yet waiting or finished) never exceeds k. Run with every executor.
 */
import { describe, expect, it } from "vitest";
import type { ExecutorKind } from "trellis";
import { MaxParallelism } from "trellis";
import type { Program } from "../../.tmp/fixtures/prom-tasks.js";
import { promA, promLabelledRoot, promSelfCapped } from "../../.tmp/fixtures/prom-tasks.js";
import { Scheduler } from "../../dist/scheduler/scheduler.js";
import { eventsOf, maxRunningPerLabel, ofType, runKept } from "./helpers.ts";

const executors: readonly ExecutorKind[] = ["inline", "threads", "processes"];

describe.each(executors)("MaxParallelism with the %s executor", (executor) => {
  // Three slots: more than any cap here, so the caps (not the slots) are what bounds the labelled tasks.
  const opts = { executor, workers: 3 } as const;

  it("a labelled parent waiting on labelled children under k = 1 finishes (the seed deadlocked)", async () => {
    const result = await runKept<number>(promLabelledRoot, { parents: 2, n: 3, k: 1 }, opts);
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(2 * (1 + 2 + 3));
    const events = eventsOf(result);
    expect(ofType(events, "run.deadlock")).toEqual([]);
    expect(maxRunningPerLabel(events).get("prom_K")).toBe(1);
    // Parents really suspended and resumed around their children.
    expect(ofType(events, "task.resumed").length).toBeGreaterThanOrEqual(2);
  });

  it("counts the declaring instance itself when it carries the label (definition promise)", async () => {
    const result = await runKept<number>(promSelfCapped, { n: 3 }, opts);
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(1 + 2 + 3);
    expect(maxRunningPerLabel(eventsOf(result)).get("prom_K")).toBe(1);
  });

  it("counts each capped label against its own cap when an instance carries several", async () => {
    const leaf = (task: "prom_la" | "prom_lm" | "prom_m") => ({ task, program: { yields: 3 } });
    const program: Program = {
      declare: [MaxParallelism("prom_L", 1), MaxParallelism("prom_M", 2)],
      spawn: [
        leaf("prom_lm"),
        leaf("prom_m"),
        leaf("prom_m"),
        leaf("prom_la"),
        leaf("prom_lm"),
        leaf("prom_m"),
        leaf("prom_la"),
        leaf("prom_lm"),
      ],
    };
    const result = await runKept(promA, { program }, opts);
    expect(result.status).toBe("succeeded");
    const max = maxRunningPerLabel(eventsOf(result));
    expect(max.get("prom_L")).toBe(1);
    expect(max.get("prom_M")).toBeLessThanOrEqual(2);
    expect(result.counts.succeeded).toBe(9);
  });
});

describe("MaxParallelism (inline)", () => {
  it("never runs more than k labelled instances at once with k = 2", async () => {
    const result = await runKept<number>(promLabelledRoot, { parents: 3, n: 4, k: 2 }, { workers: 8 });
    expect(result.status).toBe("succeeded");
    expect(maxRunningPerLabel(eventsOf(result)).get("prom_K")).toBe(2);
  });

  it("counts labelled instances already running when the cap is declared, and starts none until the count is under k", () => {
    const cap = { key: "1", limit: 1 };
    let declared = false;
    const scheduler = new Scheduler(4, () => (declared ? [cap] : []));
    scheduler.push({ id: "a", priority: 0, order: 1 });
    scheduler.push({ id: "b", priority: 0, order: 2 });
    expect([scheduler.next()?.id, scheduler.next()?.id]).toEqual(["a", "b"]);
    // MaxParallelism(label, 1) is declared while both run: both count (2 > 1).
    declared = true;
    for (const id of ["a", "b", "b"]) scheduler.adopt(id, [cap]); // adopting twice counts once
    scheduler.push({ id: "c", priority: 0, order: 3 });
    expect(scheduler.next()).toBeUndefined();
    scheduler.release("a");
    expect(scheduler.next()).toBeUndefined(); // "b" still holds the only place
    scheduler.release("b");
    expect(scheduler.next()?.id).toBe("c");
  });
});

describe("MaxParallelism scope (inline)", () => {
  const three = { task: "prom_m" as const, program: { yields: 3 } };
  const subtree = (declare: Program["declare"]): Program => ({ declare: declare ?? [], spawn: [three, three, three] });

  it("caps only the declarer's subtree by default", async () => {
    const program: Program = {
      spawn: [
        { task: "prom_a", program: subtree([MaxParallelism("prom_M", 1)]) },
        { task: "prom_b", program: { ...subtree([]), yields: 1 } },
      ],
    };
    const result = await runKept(promA, { program }, { workers: 8 });
    expect(result.status).toBe("succeeded");
    const events = eventsOf(result);
    expect(maxRunningPerLabel(events, (id) => id.startsWith("prom_a/prom_a#1/")).get("prom_M")).toBe(1);
    // The sibling's instances are not capped: all three run together.
    expect(maxRunningPerLabel(events, (id) => id.startsWith("prom_a/prom_b#1/")).get("prom_M")).toBe(3);
  });

  it("caps every instance of the run with the global scope, grandchildren included", async () => {
    const program: Program = {
      spawn: [
        { task: "prom_a", program: subtree([MaxParallelism("prom_M", 1, { scope: "global" })]) },
        { task: "prom_b", program: { spawn: [{ task: "prom_c", program: subtree([]) }], yields: 1 } },
      ],
    };
    const result = await runKept(promA, { program }, { workers: 8 });
    expect(result.status).toBe("succeeded");
    expect(maxRunningPerLabel(eventsOf(result)).get("prom_M")).toBe(1);
  });
});
