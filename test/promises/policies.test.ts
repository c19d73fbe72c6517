/**
 * Every promise that can refuse a diff, under both violation policies and
 * both scopes, through real runs (inline executor).
 */
import { describe, expect, it } from "vitest";
import type { PromiseSpec, RunResult, TrellisEvent, ViolationPolicy } from "trellis";
import {
  ErrorCodes,
  LimitedSpawns,
  NoNewEdges,
  NoNewNodes,
  OnlySpecificEdgesAllowed,
  OnlySpecificNodesAllowed,
  foldEvents,
} from "trellis";
import type { ChildSpec, Program, ProgramOutput } from "../../.tmp/fixtures/prom-tasks.js";
import { promA, promBatch, promDefGuard, promS1, promStatic } from "../../.tmp/fixtures/prom-tasks.js";
import { eventsOf, ofType, runKept } from "./helpers.ts";

type Scope = "descendants" | "global";

interface Case {
  readonly kind: PromiseSpec["kind"];
  readonly make: (scope: Scope) => PromiseSpec;
  /** Spawns that break it, from an instance under prom_s1 → prom_s2 → prom_s3 or from prom_s1 itself. */
  readonly breaking: ChildSpec[];
  readonly details: Record<string, unknown>;
}

const c: ChildSpec = { task: "prom_c" };
const cases: Case[] = [
  {
    kind: "LimitedSpawns",
    make: (scope) => LimitedSpawns("prom_c", 1, { scope }),
    breaking: [c, c],
    details: { limit: 1, attempted: 2, task: "prom_c" },
  },
  { kind: "NoNewNodes", make: (scope) => NoNewNodes({ scope }), breaking: [c], details: { tasks: ["prom_c"] } },
  { kind: "NoNewEdges", make: (scope) => NoNewEdges({ scope }), breaking: [c], details: { kinds: ["lineage"] } },
  {
    kind: "OnlySpecificNodesAllowed",
    make: (scope) => OnlySpecificNodesAllowed(["prom_s2", "prom_s3"], { scope }),
    breaking: [c],
    details: { tasks: ["prom_c"] },
  },
  {
    kind: "OnlySpecificEdgesAllowed",
    make: (scope) =>
      OnlySpecificEdgesAllowed(
        [
          ["prom_s1", "prom_s2"],
          ["prom_s2", "prom_s3"],
        ],
        { scope },
      ),
    breaking: [c],
    details: { kinds: ["lineage"] },
  },
];

/**
 * descendants: the root declares; its grandchild prom_s3 breaks it (the
 * children fill declared placeholders, so they break nothing).
 * global: the child prom_s2 declares and finishes; then the root, outside the
 * child's subtree, breaks it.
 */
function scenario(k: Case, scope: Scope): { program: Program; by: string; owner: string } {
  if (scope === "descendants")
    return {
      program: {
        declare: [k.make(scope)],
        spawn: [{ task: "prom_s2", program: { spawn: [{ task: "prom_s3", program: { spawn: k.breaking } }] } }],
      },
      by: "prom_s1/prom_s2#1/prom_s3#1",
      owner: "prom_s1",
    };
  return {
    program: { spawn: [{ task: "prom_s2", program: { declare: [k.make(scope)] } }], then: { spawn: k.breaking } },
    by: "prom_s1",
    owner: "prom_s1/prom_s2#1",
  };
}

function violation(events: TrellisEvent[]) {
  const v = ofType(events, "promise.violated");
  expect(v).toHaveLength(1);
  return v[0]!;
}

async function runCase(k: Case, scope: Scope, policy: ViolationPolicy) {
  const { program, by, owner } = scenario(k, scope);
  const result = await runKept<ProgramOutput>(promS1, { program }, { onViolation: policy });
  const events = eventsOf(result);
  const v = violation(events);
  expect(v.data).toMatchObject({ promise: k.kind, owner, by, policy });
  expect(v.data.details).toMatchObject(k.details);
  const refused = v.data.diff.nodes[0]!.id;
  expect(result.plan.nodes.has(refused)).toBe(false);
  return { result, events, v, by, refused };
}

describe.each(["descendants", "global"] as const)("scope %s", (scope) => {
  describe.each(cases.map((k) => [k.kind, k] as const))("%s", (_kind, k) => {
    it("halt: the diff is not applied, every unfinished instance is cancelled, the run ends halted", async () => {
      const { result, events, v } = await runCase(k, scope, "halt");
      expect(result.status).toBe("halted");
      expect(result.error?.code).toBe(ErrorCodes.PROMISE_VIOLATION);
      expect(result.violations).toBe(1);
      // Nothing was added after the violation.
      expect(events.filter((e) => e.seq > v.seq && (e.type === "task.created" || e.type === "edge.created"))).toEqual(
        [],
      );
      // What was unfinished when it happened is cancelled now, and nothing is left running.
      const before = foldEvents(events.filter((e) => e.seq < v.seq));
      const unfinished = [...before.nodes.values()]
        .filter((n) => ["pending", "running", "waiting"].includes(n.status))
        .map((n) => n.id);
      expect(unfinished.length).toBeGreaterThan(0);
      for (const id of unfinished) expect(result.plan.nodes.get(id)?.status).toBe("cancelled");
      expect(result.counts).toMatchObject({ pending: 0, running: 0, waiting: 0 });
      expect(ofType(events, "run.finished")[0]?.data).toMatchObject({ status: "halted", violations: 1 });
    });

    it("reject: the offending task gets a catchable PromiseViolationError and the run goes on", async () => {
      const { result, by } = await runCase(k, scope, "reject");
      expect(result.status).toBe("succeeded");
      expect(result.violations).toBe(1);
      const offender = result.plan.nodes.get(by);
      expect(offender?.status).toBe("succeeded");
      expect((offender?.output as unknown as ProgramOutput).caught).toContain(ErrorCodes.PROMISE_VIOLATION);
      // Spawns that kept the promise were applied and ran.
      if (k.kind === "LimitedSpawns") expect(result.plan.nodes.get(`${by}/prom_c#1`)?.status).toBe("succeeded");
      expect(result.counts.failed + result.counts.cancelled + result.counts.skipped).toBe(0);
    });
  });
});

describe("scope boundaries in a run", () => {
  it("a descendants-scoped promise does not reach the declarer's parent or siblings", async () => {
    const program: Program = {
      spawn: [
        { task: "prom_a", program: { declare: [NoNewNodes()], yields: 3 } },
        { task: "prom_b", program: { spawn: [{ task: "prom_c" }], yields: 1 } },
      ],
      then: { spawn: [{ task: "prom_c" }] },
    };
    const result = await runKept(promA, { program });
    expect(result.status).toBe("succeeded");
    expect(result.violations).toBe(0);
    expect(result.plan.nodes.has("prom_a/prom_b#1/prom_c#1")).toBe(true);
    expect(result.plan.nodes.has("prom_a/prom_c#1")).toBe(true);
  });

  it("a promise declared by a definition reaches its instance's grandchildren", async () => {
    const program: Program = {
      spawn: [{ task: "prom_a", program: { spawn: [{ task: "prom_b", program: { spawn: [c] } }] } }],
    };
    const result = await runKept(promDefGuard, { program }, { onViolation: "reject" });
    expect(result.status).toBe("succeeded");
    const [v] = ofType(eventsOf(result), "promise.violated");
    expect(v?.data).toMatchObject({
      promise: "LimitedSpawns",
      owner: "prom_def_guard",
      by: "prom_def_guard/prom_a#1/prom_b#1",
    });
    expect(result.plan.promises[0]).toMatchObject({ owner: "prom_def_guard", source: "definition" });
  });

  it("static: true lets a child fill its placeholder and refuses its grandchild's new node", async () => {
    const program: Program = { spawn: [{ task: "prom_s3", program: { spawn: [c] } }] };
    const result = await runKept(promStatic, { program });
    expect(result.status).toBe("halted");
    const [v] = ofType(eventsOf(result), "promise.violated");
    expect(v?.data).toMatchObject({ promise: "NoNewNodes", owner: "prom_static", by: "prom_static/prom_s3#1" });
    expect(result.plan.nodes.get("prom_static/prom_s3#1")?.placeholder).toBe("prom_static/prom_s3~1");
    expect(result.plan.promises.map((p) => [p.spec.kind, p.source])).toEqual([
      ["NoNewNodes", "static"],
      ["NoNewEdges", "static"],
    ]);
  });
});

describe("batch spawns that cross a budget", () => {
  function batch(result: RunResult<unknown>) {
    const events = eventsOf(result);
    return {
      events,
      squares: ofType(events, "task.created")
        .filter((e) => e.data.task === "prom_square")
        .map((e) => e.data.id),
      violations: ofType(events, "promise.violated"),
    };
  }

  it("halt: 6 spawns under LimitedSpawns(5) apply the first five, refuse the sixth, one violation", async () => {
    const result = await runKept(promBatch, { n: 6, limit: 5 });
    const { squares, violations } = batch(result);
    expect(result.status).toBe("halted");
    expect(squares).toEqual([1, 2, 3, 4, 5].map((i) => `prom_batch/prom_square#${i}`));
    expect(violations).toHaveLength(1);
    expect(violations[0]?.data.details).toMatchObject({ limit: 5, attempted: 6 });
    expect(violations[0]?.data.diff.nodes.map((n) => n.id)).toEqual(["prom_batch/prom_square#6"]);
  });

  it("halt: spawns after the first refusal are not applied and not reported again", async () => {
    const result = await runKept(promBatch, { n: 9, limit: 5 });
    const { squares, violations } = batch(result);
    expect(result.status).toBe("halted");
    expect(squares).toHaveLength(5);
    expect(violations).toHaveLength(1);
  });

  it("reject: each refused spawn has exactly one violation and the task keeps the five results", async () => {
    const result = await runKept<{ sum: number; caught: string[] }>(
      promBatch,
      { n: 8, limit: 5 },
      { onViolation: "reject" },
    );
    const { squares, violations } = batch(result);
    expect(result.status).toBe("succeeded");
    expect(squares).toHaveLength(5);
    // Refused spawns do not count: each later attempt would be the sixth child.
    expect(violations.map((v) => [v.data.details["attempted"], v.data.diff.nodes[0]?.id])).toEqual([
      [6, "prom_batch/prom_square#6"],
      [6, "prom_batch/prom_square#7"],
      [6, "prom_batch/prom_square#8"],
    ]);
    expect(result.output?.sum).toBe(1 + 4 + 9 + 16 + 25);
    const caught = result.output?.caught ?? [];
    expect(caught.filter((x) => x === ErrorCodes.PROMISE_VIOLATION)).toHaveLength(3);
    // Waiting on a refused child's handle says it does not exist.
    expect(caught.filter((x) => x === ErrorCodes.UNKNOWN_INSTANCE)).toHaveLength(3);
  });
});
