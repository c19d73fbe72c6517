import { describe, expect, it } from "vitest";
import { run } from "trellis";
import type { TrellisEvent } from "trellis";
import { STATUS_FILL } from "../../dist/render/dot-text.js";
import { FrameSelector } from "../../dist/render/frames.js";
import { repRoot } from "../../.tmp/fixtures/render-shapes.js";
import { nodeKind, parseDot } from "./render-helpers.ts";

const ROOT = "render_rep_root";
const SQ = (n: number) => `${ROOT}/render_rep_square#${n}`;
const SQ_PH = (n: number) => `${ROOT}/render_rep_square~${n}`;
const SUM = `${ROOT}/render_rep_sum#1`;
const SUM_PH = `${ROOT}/render_rep_sum~1`;

async function framesOf(count: number): Promise<{ dots: string[]; events: TrellisEvent[] }> {
  const r = await run(repRoot, { count }, { executor: "inline", workers: 1, keepEvents: true, runId: `rep-${count}` });
  expect(r.status).toBe("succeeded");
  const events = r.events as TrellisEvent[];
  const selector = new FrameSelector({ policy: "all" });
  const dots: string[] = [];
  for (const e of events) for (const f of selector.push(e)) dots.push(f.dot);
  for (const f of selector.end()) dots.push(f.dot);
  return { dots, events };
}

/** The first frame in which `id` is drawn as an instance. */
function firstWith(dots: string[], id: string): number {
  return dots.findIndex((d) => nodeKind(parseDot(d).nodes.get(id)) === "instance");
}

describe("placeholders with a definition listed twice in calls", () => {
  it("draws one placeholder per calls entry, with one declared edge from each square placeholder to the sum", async () => {
    const { dots } = await framesOf(3);
    const first = parseDot(dots[0] as string);
    expect(nodeKind(first.nodes.get(SQ_PH(1)))).toBe("placeholder");
    expect(nodeKind(first.nodes.get(SQ_PH(2)))).toBe("placeholder");
    expect(nodeKind(first.nodes.get(SUM_PH))).toBe("placeholder");
    expect(first.nodes.get(SQ_PH(1))?.["label"]).toBe("render_rep_square");
    const declared = first.edges.filter((e) => e.to === SUM_PH && e.attrs["style"] === undefined).map((e) => e.from);
    expect(declared).toEqual([SQ_PH(1), SQ_PH(2)]);
  });

  it("gives the first square the first placeholder and the second square the second, with their edges", async () => {
    const { dots, events } = await framesOf(3);
    const created = events.filter(
      (e): e is Extract<TrellisEvent, { type: "task.created" }> => e.type === "task.created",
    );
    expect(created.map((e) => [e.data.id, e.data.placeholder])).toEqual([
      [ROOT, null],
      [SQ(1), SQ_PH(1)],
      [SQ(2), SQ_PH(2)],
      [SQ(3), null],
      [SUM, SUM_PH],
    ]);
    const afterFirst = parseDot(dots[firstWith(dots, SQ(1))] as string);
    expect(afterFirst.nodes.has(SQ_PH(1))).toBe(false);
    expect(nodeKind(afterFirst.nodes.get(SQ_PH(2)))).toBe("placeholder");
    // The declared edge now starts at the real square and still ends at the sum's placeholder.
    expect(afterFirst.edges.some((e) => e.from === SQ(1) && e.to === SUM_PH)).toBe(true);
    expect(afterFirst.edges.some((e) => e.from === SQ_PH(1))).toBe(false);

    const afterSecond = parseDot(dots[firstWith(dots, SQ(2))] as string);
    expect(afterSecond.nodes.has(SQ_PH(2))).toBe(false);
    expect(afterSecond.edges.some((e) => e.from === SQ(2) && e.to === SUM_PH)).toBe(true);

    const afterSum = parseDot(dots[firstWith(dots, SUM)] as string);
    expect([...afterSum.nodes.values()].some((a) => nodeKind(a) === "placeholder")).toBe(false);
    // Real data edges, solid black, from all three squares.
    expect(
      afterSum.edges
        .filter((e) => e.to === SUM && e.attrs["style"] === undefined && e.attrs["color"] === undefined)
        .map((e) => e.from),
    ).toEqual([SQ(1), SQ(2), SQ(3)]);
  });

  it("removes a placeholder never taken when its parent finishes, and says so in the log", async () => {
    const { dots, events } = await framesOf(1);
    const pruned = events.find(
      (e): e is Extract<TrellisEvent, { type: "preview.pruned" }> => e.type === "preview.pruned",
    );
    expect(pruned?.data).toEqual({ owner: ROOT, placeholders: [SQ_PH(2)] });
    // The frame where the root is drawn finished is the first without the placeholder.
    const done = dots.findIndex((d) => parseDot(d).nodes.get(ROOT)?.["fillcolor"] === STATUS_FILL.succeeded);
    expect(done).toBeGreaterThan(0);
    expect(nodeKind(parseDot(dots[done - 1] as string).nodes.get(SQ_PH(2)))).toBe("placeholder");
    for (const d of dots.slice(done)) {
      const drawn = parseDot(d);
      expect(drawn.nodes.has(SQ_PH(2))).toBe(false);
      expect(drawn.edges.some((e) => e.from === SQ_PH(2) || e.to === SQ_PH(2))).toBe(false);
    }
  });
});
