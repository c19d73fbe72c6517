/**
 * static_preview: a static task whose whole shape is declared up front.
 *
 * `A` calls b, c and d with data edges b → d and c → d; all four are static
 * (no node or edge beyond the declared ones). The preview shows the three
 * placeholders before anything runs, and each real child takes the place of
 * its placeholder, one by one.
 *
 *   npx tsx demos/static_preview.ts
 *
 * End state over x = 2, y = 3: b = 3, c = 6, d = 9, A = 9.
 */
import { From, runIfMain, task } from "trellis";

export const b = task({ name: "b", static: true }, async (_ctx, { x }: { x: number }) => x + 1);
export const c = task({ name: "c", static: true }, async (_ctx, { y }: { y: number }) => y * 2);
export const d = task(
  { name: "d", static: true },
  async (_ctx, inputs: { b: number; c: number }) => inputs.b + inputs.c,
);

export const A = task(
  {
    name: "A",
    static: true,
    calls: [b, c, d],
    edges: [
      [b, d],
      [c, d],
    ],
  },
  async (ctx, { x, y }: { x: number; y: number }) => {
    const hb = ctx.spawn(b, { x });
    const hc = ctx.spawn(c, { y });
    const hd = ctx.spawn(d, { b: From(hb), c: From(hc) });
    const [result] = await ctx.waitForAll([hd]);
    return result;
  },
);

export default A;
export const inputs = { x: 2, y: 3 };

await runIfMain(import.meta.url, A, inputs);
