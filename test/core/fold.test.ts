import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Plan, TrellisEvent } from "trellis";
import { From, applyEvent, createPlan, foldEvents, run, task } from "trellis";

/** A comparable view of a plan: everything a reader relies on. */
function view(plan: Plan) {
  return {
    root: plan.root,
    status: plan.status,
    counts: plan.counts,
    violations: plan.violations,
    nodes: [...plan.nodes.values()].map((n) => ({
      id: n.id,
      task: n.task,
      parent: n.parent,
      status: n.status,
      attempt: n.attempt,
      output: n.output,
      error: n.error?.message,
      children: [...n.children],
      placeholder: n.placeholder,
    })),
    edges: plan.edges,
    placeholders: [...plan.placeholders.values()].map((p) => ({ id: p.id, state: p.state, takenBy: p.takenBy })),
    promises: plan.promises,
  };
}

const leaf = task({ name: "fold_leaf" }, async (_ctx, { i }: { i: number }) => {
  if (i % 7 === 3) throw new Error(`leaf ${i} fails`);
  return i;
});
const join2 = task({ name: "fold_join" }, async (_ctx, { a, b }: { a: number; b: number }) => a + b);
const group = task(
  { name: "fold_group", calls: [leaf, leaf, join2], edges: [[leaf, join2]] },
  async (ctx, { base }: { base: number }) => {
    const hs = Array.from({ length: 10 }, (_, k) => ctx.spawn(leaf, { i: base + k }));
    const joins = [];
    for (let k = 0; k + 1 < hs.length; k += 2) joins.push(ctx.spawn(join2, { a: From(hs[k]!), b: From(hs[k + 1]!) }));
    try {
      return await ctx.waitForAll(joins);
    } catch {
      return "partial";
    }
  },
);
const big = task({ name: "fold_root" }, async (ctx, { groups }: { groups: number }) => {
  const hs = Array.from({ length: groups }, (_, g) => ctx.spawn(group, { base: g * 10 }));
  return (await ctx.waitForAll(hs)).length;
});

describe("the plan is a pure fold of the event log", () => {
  test("folding events.jsonl of a 1,000+ task run with failures gives exactly the engine's final plan", async () => {
    const out = mkdtempSync(join(tmpdir(), "fold-"));
    const result = await run(big, { groups: 70 }, { executor: "inline", out, workers: 4 });
    expect(result.plan.nodes.size).toBeGreaterThan(1000);
    expect(result.counts.failed).toBeGreaterThan(50);
    expect(result.counts.skipped).toBeGreaterThan(50);
    const lines = readFileSync(join(out, "events.jsonl"), "utf8").trimEnd().split("\n");
    const replayed = foldEvents(lines.map((l) => JSON.parse(l) as TrellisEvent));
    expect(view(replayed)).toEqual(view(result.plan));
  });

  test("at every step the live plan equals the fold of the events so far", async () => {
    const views: unknown[] = [];
    const result = await run(
      big,
      { groups: 3 },
      {
        executor: "inline",
        keepEvents: true,
        observers: [{ onEvent: (_e, plan) => void views.push(JSON.stringify(view(plan))) }],
      },
    );
    const replay = createPlan();
    (result.events ?? []).forEach((event, i) => {
      applyEvent(replay, JSON.parse(JSON.stringify(event)) as TrellisEvent);
      expect(JSON.stringify(view(replay))).toBe(views[i]);
    });
    expect(views.length).toBe(result.events?.length);
  });
});
