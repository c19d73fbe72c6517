/**
 * dynamic_static_preview: static previews inside a plan that grows.
 *
 * `main_pipeline` declares two static steps (`static_prep`,
 * `static_validate`), shown as placeholders before it runs, and promises at
 * most 2 `work_unit` children: the spawn budget shows as a ghost that counts
 * down 2 → 1 → gone. Each `work_unit` is static and declares its own shape
 * (post_a and post_b feeding post_c), so a dynamically spawned child still
 * shows its preview before its own children exist.
 *
 *   npx tsx demos/dynamic_static_preview.ts
 *
 * End state: 11 nodes succeeded; 4 data edges; 10 lineage edges.
 */
import { From, LimitedSpawns, runIfMain, task } from "trellis";

export const staticPrep = task({ name: "static_prep", static: true }, async (_ctx, { units }: { units: number }) =>
  Array.from({ length: units }, (_, i) => i + 1),
);

export const staticValidate = task(
  { name: "static_validate", static: true },
  async (_ctx, { units }: { units: number }) => {
    if (!Number.isInteger(units) || units < 1) throw new RangeError(`units must be a positive integer, got ${units}`);
    return true;
  },
);

export const postA = task({ name: "post_a" }, async (_ctx, { v }: { v: number }) => v + 1);
export const postB = task({ name: "post_b" }, async (_ctx, { v }: { v: number }) => v * 2);
export const postC = task({ name: "post_c" }, async (_ctx, { a, b }: { a: number; b: number }) => a + b);

export const workUnit = task(
  {
    name: "work_unit",
    static: true,
    calls: [postA, postB, postC],
    edges: [
      [postA, postC],
      [postB, postC],
    ],
  },
  async (ctx, { i }: { i: number }) => {
    const a = ctx.spawn(postA, { v: i * i });
    const b = ctx.spawn(postB, { v: i * i });
    const c = ctx.spawn(postC, { a: From(a), b: From(b) });
    const [result] = await ctx.waitForAll([c]);
    return result;
  },
);

export const mainPipeline = task(
  // The promise is part of the definition, so `trellis preview` shows the budget ghost too.
  { name: "main_pipeline", calls: [staticPrep, staticValidate], promises: [LimitedSpawns(workUnit, 2)] },
  async (ctx, { units }: { units: number }) => {
    const prep = ctx.spawn(staticPrep, { units });
    const check = ctx.spawn(staticValidate, { units });
    const [items] = await ctx.waitForAll([prep, check]);
    const results = await ctx.waitForAll(items.map((i) => ctx.spawn(workUnit, { i })));
    return results;
  },
);

export default mainPipeline;
export const inputs = { units: 2 };

await runIfMain(import.meta.url, mainPipeline, inputs);
