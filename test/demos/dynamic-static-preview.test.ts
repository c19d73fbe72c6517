import { describe, expect, it } from "vitest";
import { computeGhosts } from "../../dist/promises/ghosts.js";
import mainPipeline, { inputs } from "../../dist/demos/dynamic_static_preview.js";
import { EXECUTORS, edgeCount, eventsOf, replay, sharedRun } from "./demo-run.ts";

describe.each(EXECUTORS)("demo dynamic_static_preview (%s)", (executor) => {
  const demo = sharedRun(executor, mainPipeline, inputs);

  it("ends with 11 nodes succeeded, 4 data edges and 10 lineage edges", async () => {
    const { result, plan, events } = await demo();
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual([4, 13]);
    expect(plan.nodes.size).toBe(11);
    expect(plan.counts.succeeded).toBe(11);
    expect(edgeCount(plan, "data")).toBe(4);
    expect(edgeCount(plan, "lineage")).toBe(10);
    const byTask = new Map<string, number>();
    for (const n of plan.nodes.values()) byTask.set(n.task, (byTask.get(n.task) ?? 0) + 1);
    expect(Object.fromEntries(byTask)).toEqual({
      main_pipeline: 1,
      static_prep: 1,
      static_validate: 1,
      work_unit: 2,
      post_a: 2,
      post_b: 2,
      post_c: 2,
    });
    expect(eventsOf(events, "promise.violated")).toEqual([]);
  });

  it("counts the work_unit budget ghost down 2 → 1 → gone", async () => {
    const { events } = await demo();
    const budget = replay(events, (plan) => {
      const ghost = computeGhosts(plan).find(
        (g) => g.kind === "budget" && g.task === "work_unit" && g.owner === "main_pipeline",
      );
      return ghost ? ghost.left : null;
    });
    expect(budget).toEqual([null, 2, 1, null]);
  });

  it("shows each static preview before its children exist, and every child takes a placeholder", async () => {
    const { events, plan } = await demo();
    const previews = eventsOf(events, "preview.materialized").map((e) => [
      e.data.owner,
      e.data.placeholders.map((p) => p.task),
    ]);
    expect(previews).toEqual([
      ["main_pipeline", ["static_prep", "static_validate"]],
      ["main_pipeline/work_unit#1", ["post_a", "post_b", "post_c"]],
      ["main_pipeline/work_unit#2", ["post_a", "post_b", "post_c"]],
    ]);
    // Each work_unit's preview is in the log before its first child.
    for (const owner of ["main_pipeline/work_unit#1", "main_pipeline/work_unit#2"]) {
      const previewSeq =
        events.find((e) => e.type === "preview.materialized" && e.data.owner === owner)?.seq ?? Infinity;
      const firstChild = events.find((e) => e.type === "task.created" && e.data.parent === owner)?.seq ?? -Infinity;
      expect(previewSeq).toBeLessThan(firstChild);
    }
    const posts = [...plan.nodes.values()].filter((n) => n.task.startsWith("post_") || n.task.startsWith("static_"));
    expect(posts).toHaveLength(8);
    for (const n of posts) expect(n.placeholder).not.toBeNull();
    expect([...plan.placeholders.values()].filter((p) => p.state === "open")).toEqual([]);
  });
});
