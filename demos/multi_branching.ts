/**
 * multi_branching: branches whitelisted ahead of time.
 *
 * `classify` promises that it only spawns `even`, `mult3` or `positive`
 * children (OnlySpecificNodesAllowed, with the matching parent → child edges
 * in OnlySpecificEdgesAllowed). The promises are part of the definition, so
 * the allowed branches show as ghosts before and while it runs; the ones it
 * takes become real nodes, and the ghost of a branch not taken goes when
 * `classify` finishes.
 *
 *   npx tsx demos/multi_branching.ts
 *
 * End state for n = 3: classify, mult3 and positive succeeded; the `even`
 * ghost removed when classify finished; no violation.
 */
import { OnlySpecificEdgesAllowed, OnlySpecificNodesAllowed, runIfMain, task } from "trellis";

export const even = task({ name: "even" }, async (_ctx, { n }: { n: number }) => `${n} = 2 × ${n / 2}`);
export const mult3 = task({ name: "mult3" }, async (_ctx, { n }: { n: number }) => `${n} = 3 × ${n / 3}`);
export const positive = task({ name: "positive" }, async (_ctx, { n }: { n: number }) => `${n} > 0`);

export const classify = task(
  {
    name: "classify",
    promises: [
      OnlySpecificNodesAllowed([even, mult3, positive]),
      // classify is being defined here, so its side of each pair is named by string.
      OnlySpecificEdgesAllowed([
        ["classify", even],
        ["classify", mult3],
        ["classify", positive],
      ]),
    ],
  },
  async (ctx, { n }: { n: number }) => {
    const branches = [];
    if (n % 2 === 0) branches.push(ctx.spawn(even, { n }));
    if (n % 3 === 0) branches.push(ctx.spawn(mult3, { n }));
    if (n > 0) branches.push(ctx.spawn(positive, { n }));
    return ctx.waitForAll(branches);
  },
);

export default classify;
export const inputs = { n: 3 };

await runIfMain(import.meta.url, classify, inputs);
