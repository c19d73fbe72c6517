/**
 * map_reduce_spawn_violation: map_reduce with a spawn budget that is one too
 * small. `square_batch` promises at most 5 `square` children, then spawns 6.
 *
 * The 6th spawn is refused before it reaches the plan, a `promise.violated`
 * event records the figures (limit 5, attempted 6), and the run halts: every
 * running or pending task is cancelled. Exit code 2.
 *
 *   npx tsx demos/map_reduce_spawn_violation.ts
 */
import { setTimeout as sleep } from "node:timers/promises";
import { From, LimitedSpawns, MaxParallelism, runIfMain, task } from "trellis";

export const square = task({ name: "square", labels: ["squares"] }, async (ctx, { x }: { x: number }) => {
  await sleep(40, undefined, { signal: ctx.signal });
  return x * x;
});

export const sumReduce = task({ name: "sum_reduce" }, async (_ctx, { parts }: { parts: number[] }) =>
  parts.reduce((a, b) => a + b, 0),
);

/** The budget the batch promises: one less than the numbers it is given. */
export const SPAWN_LIMIT = 5;

export const squareBatch = task(
  { name: "square_batch", calls: [square, sumReduce], edges: [[square, sumReduce]] },
  async (ctx, { numbers }: { numbers: number[] }) => {
    ctx.promise(LimitedSpawns(square, SPAWN_LIMIT), MaxParallelism("squares", 2));
    const parts = numbers.map((x) => ctx.spawn(square, { x })); // the 6th breaks the promise
    const total = ctx.spawn(sumReduce, { parts: parts.map((p) => From(p)) });
    const [sum] = await ctx.waitForAll([total]);
    return sum;
  },
);

export default squareBatch;
export const inputs = { numbers: [1, 2, 3, 4, 5, 6] };

await runIfMain(import.meta.url, squareBatch, inputs);
