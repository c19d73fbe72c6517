// The promise index is kept by the plan it indexes (plan.derived), not in
// module scope: two plans in one process, with the same ids, never see each
// other's promises, however their calls interleave.
import { describe, expect, it } from "vitest";
import { applyEvent, createPlan } from "trellis";
import type { Plan, PlanDiff, TrellisEvent } from "trellis";
import { capsFor, validateDiff } from "../../dist/promises/validate.js";

function planWith(promises: readonly unknown[]): Plan {
  const plan = createPlan("iso");
  let seq = 0;
  const fold = (type: string, data: unknown): void =>
    applyEvent(plan, {
      v: 1,
      seq: ++seq,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "iso",
      type,
      data,
    } as unknown as TrellisEvent);
  fold("run.started", {
    root: "root",
    task: "root",
    inputs: null,
    options: { executor: "inline", workers: 1, onViolation: "halt" },
  });
  fold("task.created", {
    id: "root",
    task: "root",
    parent: null,
    labels: [],
    inputs: null,
    placeholder: null,
    priority: 0,
  });
  fold("task.created", {
    id: "root/w#1",
    task: "w",
    parent: "root",
    labels: ["cpu"],
    inputs: null,
    placeholder: null,
    priority: 0,
  });
  promises.forEach((promise, i) => fold("promise.declared", { pid: i + 1, owner: "root", source: "context", promise }));
  return plan;
}

const diff: PlanDiff = {
  by: "root",
  nodes: [{ id: "root/x#1", task: "x", parent: "root", labels: [], placeholder: null }],
  edges: [{ from: "root", to: "root/x#1", kind: "lineage", fromTask: "root", toTask: "x", declared: false }],
};

describe("promise state per plan", () => {
  it("two plans with the same ids answer from their own promises, interleaved", () => {
    const strict = planWith([
      { kind: "NoNewNodes", scope: "descendants" },
      { kind: "MaxParallelism", label: "cpu", limit: 1, scope: "descendants" },
    ]);
    const free = planWith([{ kind: "MaxParallelism", label: "gpu", limit: 2, scope: "descendants" }]);
    for (let i = 0; i < 3; i++) {
      expect(validateDiff(strict, diff)?.promise.spec.kind).toBe("NoNewNodes");
      expect(validateDiff(free, diff)).toBeNull();
      expect(capsFor(strict, "root/w#1").map((c) => c.limit)).toEqual([1]);
      expect(capsFor(free, "root/w#1")).toEqual([]);
    }
  });

  it("a plan carries what was derived from it, and two plans compare equal whatever was", () => {
    const a = planWith([{ kind: "NoNewNodes", scope: "descendants" }]);
    const b = planWith([{ kind: "NoNewNodes", scope: "descendants" }]);
    validateDiff(a, diff); // fills a's index only
    expect(a.derived).not.toBe(b.derived);
    expect(a).toEqual(b);
  });
});
