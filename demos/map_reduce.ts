/**
 * map_reduce: fan out squares, then reduce them with real data edges.
 *
 * `square_batch` promises at most 6 `square` children (LimitedSpawns) and at
 * most 2 squares running at once (MaxParallelism on the "squares" label). Each
 * square sleeps a little so the cap is visible in the snapshots.
 *
 *   npx tsx demos/map_reduce.ts        (or: trellis run demos/map_reduce.ts)
 *
 * End state: result 91 (1² + … + 6²); never more than 2 squares running.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { From, LimitedSpawns, MaxParallelism, runIfMain, task } from "trellis";

export const square = task({ name: "square", labels: ["squares"] }, async (ctx, { x }: { x: number }) => {
  await sleep(40, undefined, { signal: ctx.signal }); // a cancelled run stops the sleep at once
  return x * x;
});

export const sumReduce = task({ name: "sum_reduce" }, async (_ctx, { parts }: { parts: number[] }) =>
  parts.reduce((a, b) => a + b, 0),
);

export const squareBatch = task(
  { name: "square_batch", calls: [square, sumReduce], edges: [[square, sumReduce]] },
  async (ctx, { numbers }: { numbers: number[] }) => {
    ctx.promise(LimitedSpawns(square, numbers.length), MaxParallelism("squares", 2));
    const parts = numbers.map((x) => ctx.spawn(square, { x }));
    const total = ctx.spawn(sumReduce, { parts: parts.map((p) => From(p)) });
    const [sum] = await ctx.waitForAll([total]);
    ctx.log("reduced", { sum });
    return sum;
  },
);

export default squareBatch;
export const inputs = { numbers: [1, 2, 3, 4, 5, 6] };

await runIfMain(import.meta.url, squareBatch, inputs);
