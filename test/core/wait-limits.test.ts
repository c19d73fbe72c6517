// Time limits and signals of ctx.waitForAll, in detail on the inline executor
// with fake timers (the contract suite runs the same on every executor).
import { afterEach, describe, expect, test, vi } from "vitest";
import type { EventOf, RunObserver, TrellisError, TrellisEvent, WaitOptions } from "trellis";
import { ErrorCodes, WaitAbortedError, WaitTimeoutError, run, task } from "trellis";
import { InlineExecutor } from "../../dist/runtime/inline-executor.js";
import type { TaskRef, WaitOutcome } from "../../dist/runtime/executor.js";
import { deferred } from "../helpers/deferred.ts";

afterEach(() => {
  vi.useRealTimers();
});

/** Only the engine's timers are faked: its steps (microtasks, setImmediate) run as usual. */
function fakeTimers(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
}

/** Resolves when an event of `type` about `id` was committed. */
function when(type: TrellisEvent["type"], id: string): { observer: RunObserver; seen: Promise<void> } {
  const seen = deferred();
  return {
    observer: { onEvent: (e) => (e.type === type && "id" in e.data && e.data.id === id ? seen.resolve() : undefined) },
    seen: seen.promise,
  };
}

/** Lets the engine finish what the last step queued. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function resumed(events: readonly TrellisEvent[] | null, id: string): (string | undefined)[] {
  return (events ?? [])
    .filter((e): e is EventOf<"task.resumed"> => e.type === "task.resumed" && e.data.id === id)
    .map((e) => e.data.reason);
}

/** The inline executor, counting the engine's answers to each wait. */
class CountingExecutor extends InlineExecutor {
  readonly answers = new Map<string, number>();
  override resume(ref: TaskRef, waitId: number, outcome: WaitOutcome): void {
    const key = `${ref.id}:${waitId}`;
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    super.resume(ref, waitId, outcome);
  }
}

describe("waitForAll with timeoutMs", () => {
  test("resumes the task with WaitTimeoutError at timeoutMs, not before; the child keeps running", async () => {
    fakeTimers();
    const gate = deferred();
    const slow = task({ name: "wl_slow" }, async () => {
      await gate.promise;
      return 7;
    });
    const root = task({ name: "wl_timeout" }, async (ctx) => {
      const h = ctx.spawn(slow, {});
      try {
        await ctx.waitForAll([h], { timeoutMs: 1000 });
        return "no timeout";
      } catch (error) {
        const e = error as TrellisError;
        return { isClass: e instanceof WaitTimeoutError, code: e.code, details: e.details, message: e.message };
      }
    });
    const waiting = when("task.waiting", "wl_timeout");
    const rootDone = when("task.succeeded", "wl_timeout");
    const running = run(
      root,
      {},
      { executor: "inline", workers: 2, keepEvents: true, observers: [waiting.observer, rootDone.observer] },
    );
    await waiting.seen;
    vi.advanceTimersByTime(999);
    await settle();
    let rootFinished = false;
    void rootDone.seen.then(() => (rootFinished = true));
    await settle();
    expect(rootFinished).toBe(false);
    vi.advanceTimersByTime(1);
    await rootDone.seen;
    // The parent is done; its child has not finished, and still runs.
    gate.resolve();
    const result = await running;
    expect(result.status).toBe("succeeded");
    const child = "wl_timeout/wl_slow#1";
    expect(result.output).toMatchObject({
      isClass: true,
      code: ErrorCodes.WAIT_TIMEOUT,
      details: { id: "wl_timeout", timeoutMs: 1000, pending: [child] },
    });
    expect((result.output as { message: string }).message).toContain(child);
    expect(result.plan.nodes.get(child)?.status).toBe("succeeded");
    expect(resumed(result.events, "wl_timeout")).toEqual(["timeout"]);
    const order = (result.events ?? [])
      .filter((e) => e.type === "task.succeeded")
      .map((e) => (e as EventOf<"task.succeeded">).data.id);
    expect(order).toEqual(["wl_timeout", child]);
    expect(vi.getTimerCount()).toBe(0);
  });

  test.each([
    ["the timer fires before the child's completion reaches the engine", false, "timeout"],
    ["the child's completion reaches the engine first and disarms the timer", true, "completed"],
  ] as const)(
    "a wait that completes at the moment its timer fires ends once: %s",
    async (_name, asyncAdvance, expected) => {
      fakeTimers();
      const started = deferred();
      const child = task({ name: `wl_race_child_${expected}` }, async () => {
        const done = new Promise((resolve) => setTimeout(resolve, 100));
        started.resolve();
        await done;
        return "child done";
      });
      const root = task({ name: `wl_race_${expected}` }, async (ctx) => {
        const h = ctx.spawn(child, {});
        await started.promise; // the child's timer is armed first; both are due at the same time
        try {
          return { outputs: await ctx.waitForAll([h], { timeoutMs: 100 }) };
        } catch (error) {
          return { code: (error as TrellisError).code };
        }
      });
      const executor = new CountingExecutor({ concurrency: 2 });
      const waiting = when("task.waiting", root.name);
      const running = run(root, {}, { executor, keepEvents: true, observers: [waiting.observer] });
      await waiting.seen;
      if (asyncAdvance) await vi.advanceTimersByTimeAsync(100);
      else vi.advanceTimersByTime(100);
      const result = await running;
      expect(result.status).toBe("succeeded");
      expect(result.output).toEqual(
        expected === "timeout" ? { code: ErrorCodes.WAIT_TIMEOUT } : { outputs: ["child done"] },
      );
      expect(resumed(result.events, root.name)).toEqual([expected]);
      expect([...executor.answers.values()]).toEqual([1]);
      expect(vi.getTimerCount()).toBe(0);
    },
  );

  test("a timeout reaches a task that already resumed from another wait (it holds its slot): the error, no second task.resumed", async () => {
    fakeTimers();
    const gate = deferred();
    const quick = task({ name: "wl_two_quick" }, async () => "quick");
    const gated = task({ name: "wl_two_gated" }, async () => {
      await gate.promise;
      return "gated";
    });
    const root = task({ name: "wl_two" }, async (ctx) => {
      const [first, second] = await Promise.allSettled([
        ctx.waitForAll([ctx.spawn(quick, {})]),
        ctx.waitForAll([ctx.spawn(gated, {})], { timeoutMs: 50 }),
      ]);
      return {
        first: first.status === "fulfilled" ? first.value : null,
        second: second.status === "rejected" ? (second.reason as TrellisError).code : second.value,
      };
    });
    const resumedOnce = when("task.resumed", "wl_two");
    const running = run(
      root,
      {},
      { executor: "inline", workers: 2, keepEvents: true, observers: [resumedOnce.observer] },
    );
    await resumedOnce.seen;
    await settle();
    vi.advanceTimersByTime(50);
    await settle();
    gate.resolve();
    const result = await running;
    expect(result.output).toEqual({ first: ["quick"], second: ErrorCodes.WAIT_TIMEOUT });
    expect(resumed(result.events, "wl_two")).toEqual(["completed"]);
    expect(result.plan.nodes.get("wl_two/wl_two_gated#1")?.status).toBe("succeeded");
  });

  test("timeoutMs 0 answers at once when every handle finished and times out otherwise; Infinity is no limit", async () => {
    const gate = deferred();
    const gated = task({ name: "wl_zero_child" }, async () => {
      await gate.promise;
      return 1;
    });
    const quick = task({ name: "wl_zero_quick" }, async () => 2);
    const root = task({ name: "wl_zero" }, async (ctx) => {
      const q = ctx.spawn(quick, {});
      await ctx.waitForAll([q]);
      const [two] = await ctx.waitForAll([q], { timeoutMs: 0 });
      const g = ctx.spawn(gated, {});
      let code: unknown = null;
      try {
        await ctx.waitForAll([g], { timeoutMs: 0 });
      } catch (error) {
        code = (error as TrellisError).code;
      }
      gate.resolve();
      const [one] = await ctx.waitForAll([g], { timeoutMs: Infinity });
      return { two, code, one };
    });
    const result = await run(root, {}, { executor: "inline", workers: 2, keepEvents: true });
    expect(result.output).toEqual({ two: 2, code: ErrorCodes.WAIT_TIMEOUT, one: 1 });
    expect(resumed(result.events, "wl_zero")).toEqual(["completed", "timeout", "completed"]);
  });

  test("bad options are INVALID_OPTION errors naming the option, before anything waits", async () => {
    const child = task({ name: "wl_bad_child" }, async () => 1);
    const cases: [unknown, string][] = [
      [{ timeoutMs: -1 }, "timeoutMs"],
      [{ timeoutMs: Number.NaN }, "timeoutMs"],
      [{ timeoutMs: "5" }, "timeoutMs"],
      [{ timeoutMs: 2 ** 31 }, "timeoutMs"],
      [{ signal: { aborted: false } }, "signal"],
      [null, "options"],
      [5, "options"],
      [{ timeout: 100 }, "timeout"],
    ];
    const root = task({ name: "wl_bad" }, async (ctx) => {
      const h = ctx.spawn(child, {});
      const seen: { code: unknown; option: unknown; message: string }[] = [];
      for (const [options] of cases) {
        try {
          await ctx.waitForAll([h], options as WaitOptions);
          seen.push({ code: "none", option: null, message: "" });
        } catch (error) {
          const e = error as TrellisError;
          seen.push({ code: e.code, option: e.details["option"], message: e.message });
        }
      }
      return seen;
    });
    const result = await run(root, {}, { executor: "inline", keepEvents: true });
    const seen = result.output ?? [];
    expect(seen.map((s) => [s.code, s.option])).toEqual(cases.map(([, option]) => [ErrorCodes.INVALID_OPTION, option]));
    expect(seen[0]?.message).toContain(
      "`timeoutMs` must be a number of milliseconds from 0 to 2147483647, or Infinity for no limit, got -1",
    );
    expect(seen[1]?.message).toContain("got NaN");
    expect(seen[7]?.message).toContain("the options are `timeoutMs` and `signal`");
    expect((result.events ?? []).filter((e) => e.type === "task.waiting")).toEqual([]);
  });

  test("a timeout breaks a cycle of waits (no deadlock while the timer is armed); waiting again without one is a deadlock", async () => {
    const child = task({ name: "wl_cycle_child" }, async (ctx, { parent }: { parent: string }) => {
      await ctx.waitForAll([{ id: parent, task: "wl_cycle", runId: ctx.runId }]);
      return 0;
    });
    const root = task({ name: "wl_cycle" }, async (ctx) => {
      const h = ctx.spawn(child, { parent: ctx.id });
      try {
        await ctx.waitForAll([h], { timeoutMs: 5 });
      } catch (error) {
        ctx.log("timed out", { code: (error as TrellisError).code });
      }
      await ctx.waitForAll([h]);
      return 1;
    });
    const result = await run(root, {}, { executor: "inline", workers: 2, keepEvents: true });
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.DEADLOCK);
    const events = result.events ?? [];
    const logged = events.find((e): e is EventOf<"task.log"> => e.type === "task.log");
    expect(logged?.data.fields).toEqual({ code: ErrorCodes.WAIT_TIMEOUT });
    expect(resumed(events, "wl_cycle")).toEqual(["timeout"]);
    expect(events.filter((e) => e.type === "run.deadlock")).toHaveLength(1);
  });

  test("a run that ends while a timed wait is armed leaves no timer behind", async () => {
    fakeTimers();
    const gate = deferred();
    const slow = task({ name: "wl_cancel_child" }, async (ctx) => {
      await Promise.race([gate.promise, new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))]);
      return 1;
    });
    const root = task({ name: "wl_cancel" }, async (ctx) => {
      await ctx.waitForAll([ctx.spawn(slow, {})], { timeoutMs: 60_000 });
      return 1;
    });
    const controller = new AbortController();
    const waiting = when("task.waiting", "wl_cancel");
    const running = run(
      root,
      {},
      { executor: "inline", workers: 2, keepEvents: true, signal: controller.signal, observers: [waiting.observer] },
    );
    await waiting.seen;
    expect(vi.getTimerCount()).toBe(1);
    controller.abort();
    const result = await running;
    expect(result.status).toBe("cancelled");
    expect(vi.getTimerCount()).toBe(0);
    gate.resolve();
  });
});

describe("waitForAll with a signal", () => {
  test("an abort while suspended resumes the task with WaitAbortedError (its reason as cause); the child keeps running", async () => {
    const gate = deferred();
    const controller = new AbortController();
    const slow = task({ name: "wl_abort_child" }, async () => {
      await gate.promise;
      return "late";
    });
    const root = task({ name: "wl_abort" }, async (ctx) => {
      const h = ctx.spawn(slow, {});
      try {
        await ctx.waitForAll([h], { signal: controller.signal, timeoutMs: 60_000 });
        return null;
      } catch (error) {
        const e = error as TrellisError;
        gate.resolve();
        const [late] = await ctx.waitForAll([h]);
        return {
          isClass: e instanceof WaitAbortedError,
          code: e.code,
          pending: e.details["pending"],
          cause: (e.cause as Error).message,
          late: late,
        };
      }
    });
    const waiting = when("task.waiting", "wl_abort");
    const running = run(root, {}, { executor: "inline", workers: 2, keepEvents: true, observers: [waiting.observer] });
    await waiting.seen;
    controller.abort(new Error("user pressed stop"));
    const result = await running;
    expect(result.output).toEqual({
      isClass: true,
      code: ErrorCodes.WAIT_ABORTED,
      pending: ["wl_abort/wl_abort_child#1"],
      cause: "user pressed stop",
      late: "late",
    });
    expect(resumed(result.events, "wl_abort")).toEqual(["aborted", "completed"]);
  });

  test("a signal already aborted rejects at once without waiting; an abort after the wait was answered changes nothing", async () => {
    const child = task({ name: "wl_signal_child" }, async () => 3);
    const root = task({ name: "wl_signal" }, async (ctx) => {
      const h = ctx.spawn(child, {});
      let code: unknown = null;
      try {
        await ctx.waitForAll([h], { signal: AbortSignal.abort(new Error("too late")) });
      } catch (error) {
        code = (error as TrellisError).code;
      }
      const controller = new AbortController();
      const [three] = await ctx.waitForAll([h], { signal: controller.signal });
      controller.abort();
      return { code, three };
    });
    const result = await run(root, {}, { executor: "inline", workers: 2, keepEvents: true });
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual({ code: ErrorCodes.WAIT_ABORTED, three: 3 });
    expect(resumed(result.events, "wl_signal")).toEqual(["completed"]);
  });
});
