/**
 * branch_violation: a task that breaks its own whitelist.
 *
 * `branch_or_break` promises to branch only into `square` or `cube`
 * (OnlySpecificNodesAllowed); for a number that is neither even nor a
 * multiple of 3 it spawns `rogue` instead. The spawn is refused, the
 * `promise.violated` event names `rogue`, and the run halts. Exit code 2.
 *
 *   npx tsx demos/branch_violation.ts
 */
import { OnlySpecificNodesAllowed, runIfMain, task } from "trellis";

export const square = task({ name: "square" }, async (_ctx, { n }: { n: number }) => n * n);
export const cube = task({ name: "cube" }, async (_ctx, { n }: { n: number }) => n * n * n);
export const rogue = task({ name: "rogue" }, async (_ctx, { n }: { n: number }) => -n);

export const branchOrBreak = task({ name: "branch_or_break" }, async (ctx, { n }: { n: number }) => {
  ctx.promise(OnlySpecificNodesAllowed([square, cube]));
  let branch;
  if (n % 2 === 0) branch = ctx.spawn(square, { n });
  else if (n % 3 === 0) branch = ctx.spawn(cube, { n });
  else branch = ctx.spawn(rogue, { n }); // not in the whitelist: breaks the promise
  const [value] = await ctx.waitForAll([branch]);
  return value;
});

export default branchOrBreak;
export const inputs = { n: 5 };

await runIfMain(import.meta.url, branchOrBreak, inputs);
