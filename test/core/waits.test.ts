import { describe, expect, test } from "vitest";
import { TaskFailedError, run, task } from "trellis";
import { WaitIndex } from "../../dist/runtime/wait-index.js";
import { deferred } from "../helpers/deferred.ts";

describe("the wait index", () => {
  test("keeps one record or a list per instance, refuses a repeat, and gives them back once", () => {
    const index = new WaitIndex<{ name: string }>();
    const a = { name: "a" };
    const b = { name: "b" };
    expect(index.add(5, a)).toBe(true);
    expect(index.add(5, a)).toBe(false); // the same id twice in one wait
    expect(index.add(5, b)).toBe(true);
    expect(index.add(2, b)).toBe(true);
    expect([...index.records()].map((r) => r.name)).toEqual(["b", "a", "b"]);
    expect(index.take(5)).toEqual([a, b]);
    expect(index.take(5)).toBeUndefined();
    index.removeLatest(2, b);
    expect(index.take(2)).toBeUndefined();
    expect([...index.records()]).toEqual([]);
  });
});

/** Gates the tests open: a child stays running until its gate opens. */
const gates = new Map<number, ReturnType<typeof deferred<void>>>();
const slow = task({ name: "waits_slow" }, async (_ctx, { x }: { x: number }) => {
  await gates.get(x)?.promise;
  return x * 10;
});
const sync = task({ name: "waits_sync" }, (_ctx, { x }: { x: number }) => x + 1);
const throwsSync = task({ name: "waits_throws_sync" }, (): number => {
  throw new RangeError("sync boom");
});

describe("waits on the same instance", () => {
  test("an id twice in one wait, and two waits of one task on one child, all get its output", async () => {
    gates.set(1, deferred<void>());
    const root = task({ name: "waits_root_same" }, async (ctx) => {
      const h = ctx.spawn(slow, { x: 1 });
      const both = Promise.all([ctx.waitForAll([h, h]), ctx.waitForAll([h])]);
      gates.get(1)?.resolve();
      return both;
    });
    const result = await run(root, {}, { executor: "inline" });
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual([[10, 10], [10]]);
  });

  test("functions that return without a promise succeed and fail like async ones", async () => {
    const root = task({ name: "waits_root_sync" }, async (ctx) => {
      const outs = await ctx.waitForAll([ctx.spawn(sync, { x: 1 }), ctx.spawn(sync, { x: 2 })]);
      try {
        await ctx.waitForAll([ctx.spawn(throwsSync, {})]);
        return { outs, caught: null };
      } catch (error) {
        return { outs, caught: error instanceof TaskFailedError ? (error.cause as Error).message : "wrong error" };
      }
    });
    const result = await run(root, {}, { executor: "inline" });
    expect(result.output).toEqual({ outs: [2, 3], caught: "sync boom" });
    expect(result.counts).toMatchObject({ succeeded: 3, failed: 1 });
  });
});
