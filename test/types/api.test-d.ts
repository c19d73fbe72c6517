import { describe, expectTypeOf, test } from "vitest";
import type { CacheOption, RunOptions, RunResult, TaskHandle, WaitOptions } from "trellis";
import { From, run, task } from "trellis";

const num = task({ name: "types_num" }, async (_ctx, { x }: { x: number }) => x * 2);
const str = task({ name: "types_str" }, async (_ctx, { s }: { s: string }) => s.length.toString());
const obj = task({ name: "types_obj" }, async () => ({ total: 1, names: ["a"] }));
const sum = task({ name: "types_sum" }, async (_ctx, { parts }: { parts: number[] }) => parts.length);

describe("the public API is typed", () => {
  test("spawn returns a handle typed by the child's output; waitForAll returns outputs in order", () => {
    task({ name: "types_root" }, async (ctx) => {
      const a = ctx.spawn(num, { x: 1 });
      const b = ctx.spawn(str, { s: "x" });
      expectTypeOf(a).toEqualTypeOf<TaskHandle<number>>();
      expectTypeOf(b).toEqualTypeOf<TaskHandle<string>>();
      const outputs = await ctx.waitForAll([a, b]);
      expectTypeOf(outputs).toEqualTypeOf<[number, string]>();
      return outputs;
    });
  });

  test("waitForAll with a time limit or a signal is typed the same; its options are checked", () => {
    task({ name: "types_limited" }, async (ctx) => {
      const a = ctx.spawn(num, { x: 1 });
      const b = ctx.spawn(str, { s: "x" });
      const limited = await ctx.waitForAll([a, b], { timeoutMs: 1_000, signal: ctx.signal });
      expectTypeOf(limited).toEqualTypeOf<[number, string]>();
      expectTypeOf<Parameters<typeof ctx.waitForAll>[1]>().toEqualTypeOf<WaitOptions | undefined>();
      // @ts-expect-error timeoutMs is a number of milliseconds
      await ctx.waitForAll([a], { timeoutMs: "1s" });
      // @ts-expect-error signal is an AbortSignal
      await ctx.waitForAll([a], { signal: true });
      return limited;
    });
  });

  test("From is checked against the consumer's input type, nested in arrays too", () => {
    task({ name: "types_wiring" }, async (ctx) => {
      const a = ctx.spawn(num, { x: 1 });
      const s = ctx.spawn(str, { s: "x" });
      const o = ctx.spawn(obj, {});
      ctx.spawn(num, { x: From(a) });
      ctx.spawn(sum, { parts: [From(a), 2, From(a)] });
      ctx.spawn(num, { x: From(o, "total") });
      // @ts-expect-error a string output cannot feed a number input
      ctx.spawn(num, { x: From(s) });
      // @ts-expect-error a missing input
      ctx.spawn(num, {});
      // @ts-expect-error a key the producer's output does not have
      ctx.spawn(num, { x: From(o, "missing") });
      return null;
    });
  });

  test("the results cache's options are typed: cache and version on a definition, cache on a run", () => {
    const cached = task({ name: "types_cached", cache: true, version: 2 }, async () => 1);
    task({ name: "types_versioned", version: "2026-01" }, async () => 1);
    // @ts-expect-error `cache` is a boolean
    task({ name: "types_cache_dir", cache: ".trellis-cache" }, async () => 1);
    // @ts-expect-error `version` is a string or a number
    task({ name: "types_version_obj", version: { major: 1 } }, async () => 1);
    expectTypeOf<RunOptions["cache"]>().toEqualTypeOf<CacheOption | undefined>();
    expectTypeOf<CacheOption>().toEqualTypeOf<{ readonly dir: string } | false>();
    expectTypeOf<RunResult<number>["cached"]>().toEqualTypeOf<number>();
    void run(cached, {}, { cache: { dir: "c" } });
    void run(cached, {}, { cache: false });
    // @ts-expect-error a folder is given as `{ dir }`
    void run(cached, {}, { cache: "c" });
  });
});
