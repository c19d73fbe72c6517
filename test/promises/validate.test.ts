import { describe, expect, it } from "vitest";
import type { PlanDiff } from "trellis";
import {
  LimitedSpawns,
  MaxParallelism,
  NoNewEdges,
  NoNewNodes,
  OnlySpecificEdgesAllowed,
  OnlySpecificNodesAllowed,
  applyEvent,
  foldEvents,
} from "trellis";
import { capsFor, promisesInScope, validateDiff } from "../../dist/promises/validate.js";
import { PlanBuilder } from "./helpers.ts";

type NodeIn = { id: string; task: string; parent?: string; placeholder?: string | null; labels?: string[] };
type EdgeIn = {
  from: string;
  to: string;
  fromTask: string;
  toTask: string;
  kind?: "data" | "lineage";
  declared?: boolean;
};

/** A diff by `by` adding `nodes` (each with its lineage edge from `by`) and extra data edges. */
function diff(by: string, byTask: string, nodes: NodeIn[], data: EdgeIn[] = []): PlanDiff {
  return {
    by,
    nodes: nodes.map((n) => ({
      id: n.id,
      task: n.task,
      parent: n.parent ?? by,
      labels: n.labels ?? [],
      placeholder: n.placeholder ?? null,
    })),
    edges: [
      ...nodes.map((n) => ({
        from: n.parent ?? by,
        to: n.id,
        kind: "lineage" as const,
        fromTask: byTask,
        toTask: n.task,
        declared: (n.placeholder ?? null) !== null,
      })),
      ...data.map((e) => ({ ...e, kind: e.kind ?? ("data" as const), declared: e.declared ?? false })),
    ],
  };
}

/** r (task root) ─┬─ a (task pa) ── g (task pg) ── gg (task pgg)
 *                 └─ b (task pb) */
function tree(): PlanBuilder {
  return new PlanBuilder()
    .root("r", "root")
    .node("a", "pa", "r")
    .node("b", "pb", "r")
    .node("g", "pg", "a")
    .node("gg", "pgg", "g");
}

describe("validateDiff: scope", () => {
  it("covers the declaring instance and every descendant, grandchildren included, by default", () => {
    const plan = foldEvents(tree().promise("a", NoNewNodes()).events);
    for (const [by, task] of [
      ["a", "pa"],
      ["g", "pg"],
      ["gg", "pgg"],
    ] as const)
      expect(validateDiff(plan, diff(by, task, [{ id: `${by}/x#1`, task: "x" }]))?.promise.spec.kind).toBe(
        "NoNewNodes",
      );
    // The parent and the sibling are outside the scope.
    expect(validateDiff(plan, diff("r", "root", [{ id: "r/x#1", task: "x" }]))).toBeNull();
    expect(validateDiff(plan, diff("b", "pb", [{ id: "b/x#1", task: "x" }]))).toBeNull();
  });

  it("covers every instance of the run with the global scope", () => {
    const plan = foldEvents(tree().promise("g", NoNewNodes({ scope: "global" })).events);
    for (const [by, task] of [
      ["r", "root"],
      ["b", "pb"],
      ["gg", "pgg"],
    ] as const)
      expect(validateDiff(plan, diff(by, task, [{ id: `${by}/x#1`, task: "x" }]))?.promise.owner).toBe("g");
  });

  it("sees promises declared after earlier diffs were checked (ancestor, own, global)", () => {
    const b = tree();
    const plan = foldEvents(b.events);
    const d = diff("gg", "pgg", [{ id: "gg/x#1", task: "x" }]);
    expect(validateDiff(plan, d)).toBeNull();
    // An unrelated subtree gains a promise: still allowed.
    b.promise("b", NoNewNodes());
    applyEvent(plan, b.events.at(-1)!);
    expect(validateDiff(plan, d)).toBeNull();
    // The root (an ancestor) gains one: refused.
    b.promise("r", OnlySpecificNodesAllowed(["y"]));
    applyEvent(plan, b.events.at(-1)!);
    expect(validateDiff(plan, d)?.promise.spec.kind).toBe("OnlySpecificNodesAllowed");
    expect(validateDiff(plan, diff("gg", "pgg", [{ id: "gg/y#1", task: "y" }]))).toBeNull();
    // A global promise declared in the sibling subtree applies too.
    b.promise("b", LimitedSpawns("y", 0, { scope: "global" }));
    applyEvent(plan, b.events.at(-1)!);
    expect(validateDiff(plan, diff("gg", "pgg", [{ id: "gg/y#1", task: "y" }]))?.promise.spec.kind).toBe(
      "LimitedSpawns",
    );
  });

  it("lists promises in scope in declaration order", () => {
    const plan = foldEvents(
      tree()
        .promise("g", NoNewEdges())
        .promise("b", NoNewNodes())
        .promise("r", LimitedSpawns("x", 1))
        .promise("b", NoNewNodes({ scope: "global" })).events,
    );
    expect(promisesInScope(plan, "gg").map((p) => p.pid)).toEqual([1, 3, 4]);
    expect(promisesInScope(plan, "b").map((p) => p.pid)).toEqual([2, 3, 4]);
    expect(promisesInScope(plan, "nobody").map((p) => p.pid)).toEqual([4]);
  });
});

describe("validateDiff: LimitedSpawns", () => {
  it("counts children per parent: each parent in scope has its own budget", () => {
    const plan = foldEvents(
      tree().promise("r", LimitedSpawns("x", 2)).node("a/x#1", "x", "a").node("a/x#2", "x", "a").node("b/x#1", "x", "b")
        .events,
    );
    const v = validateDiff(plan, diff("a", "pa", [{ id: "a/x#3", task: "x" }]));
    expect(v?.details).toEqual({ limit: 2, attempted: 3, task: "x", parent: "a" });
    expect(validateDiff(plan, diff("b", "pb", [{ id: "b/x#2", task: "x" }]))).toBeNull();
    // Other definitions are not limited.
    expect(validateDiff(plan, diff("a", "pa", [{ id: "a/y#1", task: "y" }]))).toBeNull();
  });

  it("counts the nodes of the diff itself: a batch that crosses the limit is refused with the total attempted", () => {
    const plan = foldEvents(tree().promise("b", LimitedSpawns("x", 2)).node("b/x#1", "x", "b").events);
    const v = validateDiff(
      plan,
      diff("b", "pb", [
        { id: "b/x#2", task: "x" },
        { id: "b/x#3", task: "x" },
        { id: "b/x#4", task: "x" },
      ]),
    );
    expect(v?.details).toMatchObject({ limit: 2, attempted: 4 });
  });

  it("takes the smallest of several limits, and k = 0 forbids the definition", () => {
    const plan = foldEvents(
      tree().promise("r", LimitedSpawns("x", 5)).promise("a", LimitedSpawns("x", 1)).node("a/x#1", "x", "a").events,
    );
    const v = validateDiff(plan, diff("a", "pa", [{ id: "a/x#2", task: "x" }]));
    expect(v?.promise.pid).toBe(2);
    expect(v?.details).toMatchObject({ limit: 1, attempted: 2 });
    const zero = foldEvents(tree().promise("r", LimitedSpawns("x", 0)).events);
    expect(validateDiff(zero, diff("r", "root", [{ id: "r/x#1", task: "x" }]))?.details).toMatchObject({
      limit: 0,
      attempted: 1,
    });
  });
});

describe("validateDiff: nodes and edges", () => {
  it("NoNewNodes and NoNewEdges let declared placeholders and preview edges through", () => {
    const plan = foldEvents(
      tree()
        .preview(
          "b",
          [
            { id: "b/p~1", task: "p" },
            { id: "b/q~1", task: "q" },
          ],
          [{ from: "b/p~1", to: "b/q~1" }],
        )
        .node("b/p#1", "p", "b", [], "b/p~1")
        .promise("b", NoNewNodes())
        .promise("b", NoNewEdges()).events,
    );
    const declared = diff(
      "b",
      "pb",
      [{ id: "b/q#1", task: "q", placeholder: "b/q~1" }],
      [{ from: "b/p#1", to: "b/q#1", fromTask: "p", toTask: "q", declared: true }],
    );
    expect(validateDiff(plan, declared)).toBeNull();
    const fresh = validateDiff(plan, diff("b", "pb", [{ id: "b/z#1", task: "z" }]));
    expect(fresh?.promise.spec.kind).toBe("NoNewNodes");
    expect(fresh?.details).toMatchObject({ tasks: ["z"], ids: ["b/z#1"] });
    const edge = validateDiff(
      plan,
      diff(
        "b",
        "pb",
        [{ id: "b/q#1", task: "q", placeholder: "b/q~1" }],
        [{ from: "b/p#1", to: "b/q#1", fromTask: "p", toTask: "q", declared: false }],
      ),
    );
    expect(edge?.promise.spec.kind).toBe("NoNewEdges");
    expect(edge?.details).toMatchObject({ edges: [["p", "q"]], kinds: ["data"] });
  });

  it("OnlySpecificNodesAllowed refuses other definitions and names them; several whitelists intersect", () => {
    const plan = foldEvents(
      tree()
        .promise("r", OnlySpecificNodesAllowed(["x", "y"]))
        .promise("a", OnlySpecificNodesAllowed(["y", "z"])).events,
    );
    expect(validateDiff(plan, diff("g", "pg", [{ id: "g/y#1", task: "y" }]))).toBeNull();
    const x = validateDiff(plan, diff("g", "pg", [{ id: "g/x#1", task: "x" }]));
    expect(x?.promise.pid).toBe(2);
    expect(x?.details).toMatchObject({ tasks: ["x"], allowed: ["y", "z"] });
    const z = validateDiff(plan, diff("g", "pg", [{ id: "g/z#1", task: "z" }]));
    expect(z?.promise.pid).toBe(1);
    expect(validateDiff(plan, diff("b", "pb", [{ id: "b/x#1", task: "x" }]))).toBeNull();
  });

  it("OnlySpecificEdgesAllowed matches lineage (parent → child) and data (producer → consumer) edges by definition", () => {
    const plan = foldEvents(
      tree()
        .node("a/p#1", "p", "a")
        .promise(
          "a",
          OnlySpecificEdgesAllowed([
            ["pa", "p"],
            ["pa", "q"],
            ["p", "q"],
          ]),
        ).events,
    );
    const ok = diff(
      "a",
      "pa",
      [{ id: "a/q#1", task: "q" }],
      [{ from: "a/p#1", to: "a/q#1", fromTask: "p", toTask: "q" }],
    );
    expect(validateDiff(plan, ok)).toBeNull();
    // Lineage edge pa → r2 is not listed.
    const lineage = validateDiff(plan, diff("a", "pa", [{ id: "a/r2#1", task: "r2" }]));
    expect(lineage?.details).toMatchObject({ edges: [["pa", "r2"]], kinds: ["lineage"] });
    // Lineage allowed, data edge q → p is not.
    const data = validateDiff(
      plan,
      diff("a", "pa", [{ id: "a/p#2", task: "p" }], [{ from: "a/q#1", to: "a/p#2", fromTask: "q", toTask: "p" }]),
    );
    expect(data?.details).toMatchObject({ edges: [["q", "p"]], kinds: ["data"], ids: [["a/q#1", "a/p#2"]] });
    // A grandchild's own lineage edge pg → p is in scope and not listed.
    expect(validateDiff(plan, diff("g", "pg", [{ id: "g/p#1", task: "p" }]))?.promise.spec.kind).toBe(
      "OnlySpecificEdgesAllowed",
    );
  });

  it("reports the first broken promise in declaration order, whoever declared it", () => {
    const plan = foldEvents(tree().promise("g", NoNewEdges()).promise("r", NoNewNodes()).events);
    expect(validateDiff(plan, diff("gg", "pgg", [{ id: "gg/x#1", task: "x" }]))?.promise.pid).toBe(1);
  });

  it("MaxParallelism never refuses a diff", () => {
    const plan = foldEvents(tree().promise("r", MaxParallelism("L", 1)).events);
    expect(validateDiff(plan, diff("r", "root", [{ id: "r/x#1", task: "x", labels: ["L"] }]))).toBeNull();
  });
});

describe("capsFor", () => {
  it("gives one cap per MaxParallelism in scope per label the instance carries, in declaration order", () => {
    const plan = foldEvents(
      new PlanBuilder()
        .root("r", "root")
        .promise("r", MaxParallelism("M", 3))
        .promise("r", MaxParallelism("L", 2))
        .node("a", "pa", "r")
        .promise("a", MaxParallelism("L", 1))
        .node("a/x#1", "x", "a", ["L", "M"])
        .node("a/y#1", "y", "a", ["L"])
        .node("b", "pb", "r")
        .node("b/x#1", "x", "b", ["L", "M", "N"]).events,
    );
    expect(capsFor(plan, "a/x#1")).toEqual([
      { key: "1", limit: 3 },
      { key: "2", limit: 2 },
      { key: "3", limit: 1 },
    ]);
    expect(capsFor(plan, "a/y#1")).toEqual([
      { key: "2", limit: 2 },
      { key: "3", limit: 1 },
    ]);
    // The sibling subtree only has the root's caps.
    expect(capsFor(plan, "b/x#1")).toEqual([
      { key: "1", limit: 3 },
      { key: "2", limit: 2 },
    ]);
    expect(capsFor(plan, "a")).toEqual([]);
  });

  it("applies a global cap everywhere and counts a repeated label once", () => {
    const plan = foldEvents(
      new PlanBuilder()
        .root("r", "root")
        .node("a", "pa", "r")
        .node("b", "pb", "r", ["L", "L"])
        .promise("a", MaxParallelism("L", 2, { scope: "global" })).events,
    );
    expect(capsFor(plan, "b")).toEqual([{ key: "1", limit: 2 }]);
  });

  it("includes caps the instance declared itself (it counts when it resumes)", () => {
    const plan = foldEvents(
      new PlanBuilder().root("r", "root").node("a", "pa", "r", ["L"]).promise("a", MaxParallelism("L", 1)).events,
    );
    expect(capsFor(plan, "a")).toEqual([{ key: "1", limit: 1 }]);
  });
});
