/**
 * The six demo shapes of SPEC section 11, drawn: DOT file snapshots of the
 * preview and of the end state, ghosts as drawn frame by frame, and every
 * frame accepted by Graphviz.
 */
import { describe, expect, it } from "vitest";
import { buildDot, previewPlan, run } from "trellis";
import type { RunResult, TrellisEvent } from "trellis";
import { FrameSelector } from "../../dist/render/frames.js";
import { DEMOS } from "../../.tmp/fixtures/render-demos.js";
import { layout, nodeKind, parseDot } from "./render-helpers.ts";

interface Drawn {
  readonly result: RunResult<unknown>;
  readonly dots: string[];
}

const cache = new Map<string, Promise<Drawn>>();

/** Runs a demo inline (no timers: the same events every time) and draws every change. */
function drawn(name: string): Promise<Drawn> {
  let p = cache.get(name);
  if (!p) {
    p = (async () => {
      const [root, inputs] = DEMOS[name] as NonNullable<(typeof DEMOS)[string]>;
      const result = await run(root, inputs, { executor: "inline", workers: 2, keepEvents: true, runId: name });
      const selector = new FrameSelector({ policy: "all" });
      const dots: string[] = [];
      for (const e of result.events as TrellisEvent[]) for (const f of selector.push(e)) dots.push(f.dot);
      for (const f of selector.end()) dots.push(f.dot);
      return { result, dots };
    })();
    cache.set(name, p);
  }
  return p;
}

/** Labels of the ghosts drawn in one frame. */
function ghostLabels(dot: string): string[] {
  return [...parseDot(dot).nodes.values()].filter((a) => nodeKind(a) === "ghost").map((a) => a["label"] as string);
}

describe.each(Object.keys(DEMOS))("demo shape %s", (name) => {
  it("draws the same preview and end state as the stored DOT files", async () => {
    const [root] = DEMOS[name] as NonNullable<(typeof DEMOS)[string]>;
    const { plan, ghosts } = previewPlan(root);
    await expect(buildDot(plan, { ghosts, title: `preview of ${root.name}` })).toMatchFileSnapshot(
      `./__snapshots__/${name}.preview.dot`,
    );
    const { dots } = await drawn(name);
    await expect(dots[dots.length - 1]).toMatchFileSnapshot(`./__snapshots__/${name}.final.dot`);
  });

  it("gives DOT that Graphviz lays out, every frame, each parent left of its children", async () => {
    const { dots } = await drawn(name);
    expect(dots.length).toBeGreaterThan(3);
    for (const dot of dots) {
      const { nodes } = await layout(dot);
      const x = new Map(nodes.map((n) => [n.name, n.x]));
      for (const e of parseDot(dot).edges) expect(x.get(e.from) as number).toBeLessThan(x.get(e.to) as number);
    }
  });
});

describe("demo end states as drawn", () => {
  it("dynamic_static_preview: 11 instances, 4 data edges, 10 lineage edges, the budget ghost counts 2 → 1 → gone", async () => {
    const { result, dots } = await drawn("dynamic_static_preview");
    expect(result.counts.succeeded).toBe(11);
    const final = parseDot(dots[dots.length - 1] as string);
    expect([...final.nodes.values()].filter((a) => nodeKind(a) === "instance")).toHaveLength(11);
    expect(final.edges.filter((e) => e.attrs["style"] === undefined)).toHaveLength(4);
    expect(final.edges.filter((e) => e.attrs["style"] === "dashed")).toHaveLength(10);
    const all = dots.map((d) => ghostLabels(d).find((l) => l.startsWith("render_work_unit")) ?? "gone");
    const budget = all.slice(all.findIndex((b) => b !== "gone")); // from the frame where the promise is declared
    const changes = budget.filter((b, i) => i === 0 || budget[i - 1] !== b);
    expect(changes).toEqual(["render_work_unit (2 left)", "render_work_unit (1 left)", "gone"]);
  });

  it("multi_branching: ghosts of the branches not taken yet go as they are taken; `even` goes when classify finishes", async () => {
    const { result, dots } = await drawn("multi_branching");
    expect(result.status).toBe("succeeded");
    expect(result.violations).toBe(0);
    expect(ghostLabels(dots[0] as string)).toEqual([]); // created, not started: promises not declared yet
    const seen = dots.map(ghostLabels).filter((g) => g.length > 0);
    expect(seen[0]).toEqual(["render_even", "render_mult3", "render_positive"]);
    expect(seen).toContainEqual(["render_even"]);
    expect(ghostLabels(dots[dots.length - 1] as string)).toEqual([]);
  });

  it("static_preview: each placeholder replaced one by one, then none left", async () => {
    const { result, dots } = await drawn("static_preview");
    expect(result.output).toBe(9);
    const open = dots.map((d) =>
      [...parseDot(d).nodes.values()]
        .filter((a) => nodeKind(a) === "placeholder")
        .map((a) => a["label"])
        .join(","),
    );
    const changes = open.filter((o, i) => i === 0 || open[i - 1] !== o);
    expect(changes).toEqual(["render_b,render_c,render_d", "render_c,render_d", "render_d", ""]);
  });

  it("map_reduce_spawn_violation and branch_violation: halted, the violation in the caption, no refused node drawn", async () => {
    for (const [name, refused] of [
      ["map_reduce_spawn_violation", "render_square#6"],
      ["branch_violation", "render_rogue#1"],
    ] as const) {
      const { result, dots } = await drawn(name);
      expect(result.status).toBe("halted");
      const final = dots[dots.length - 1] as string;
      expect(final).toContain(`${name} · halted`);
      expect(final).toContain("1 violation");
      expect([...parseDot(final).nodes.keys()].some((id) => id.endsWith(refused))).toBe(false);
    }
  });
});
