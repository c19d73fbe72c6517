import { describe, expect, test, vi } from "vitest";
import type { TaskHandle, TrellisError, TrellisEvent } from "trellis";
import { ErrorCodes, From, TaskCancelledError, TaskFailedError, run, task, hasCode } from "trellis";
import { deferred } from "../helpers/deferred.ts";

const inline = { executor: "inline", keepEvents: true } as const;

function eventsOf(events: readonly TrellisEvent[] | null, type: TrellisEvent["type"]): TrellisEvent[] {
  return (events ?? []).filter((e) => e.type === type);
}

const double = task({ name: "eng_double" }, async (_ctx, { x }: { x: number }) => x * 2);
const add = task({ name: "eng_add" }, async (_ctx, { a, b }: { a: number; b: number }) => a + b);
const boom = task({ name: "eng_boom" }, async (): Promise<number> => {
  throw new RangeError("boom!");
});

describe("running a workflow (inline executor)", () => {
  test("spawn, From and waitForAll wire outputs, typed and in order", async () => {
    const root = task({ name: "eng_root" }, async (ctx, { n }: { n: number }) => {
      const a = ctx.spawn(double, { x: n });
      const b = ctx.spawn(double, { x: n + 1 });
      const sum = ctx.spawn(add, { a: From(a), b: From(b) });
      const [x, y, s] = await ctx.waitForAll([a, b, sum]);
      return { x, y, s };
    });
    const result = await run(root, { n: 5 }, inline);
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual({ x: 10, y: 12, s: 22 });
    expect(result.counts.succeeded).toBe(4);
    const edges = eventsOf(result.events, "edge.created").map((e) => e.data);
    expect(edges).toContainEqual({ from: "eng_root/eng_double#1", to: "eng_root/eng_add#1", kind: "data" });
    expect(edges).toContainEqual({ from: "eng_root", to: "eng_root/eng_add#1", kind: "lineage" });
  });

  test("ids are deterministic and readable: the same program gives the same ids", async () => {
    const root = task({ name: "eng_ids" }, async (ctx) => {
      const hs = [1, 2, 3].map((x) => ctx.spawn(double, { x }));
      return ctx.waitForAll(hs);
    });
    const ids = async () =>
      eventsOf((await run(root, {}, inline)).events, "task.created").map((e) => (e.data as { id: string }).id);
    const first = await ids();
    expect(first).toEqual(["eng_ids", "eng_ids/eng_double#1", "eng_ids/eng_double#2", "eng_ids/eng_double#3"]);
    expect(await ids()).toEqual(first);
  });

  test("a throwing task fails with its error logged; consumers are skipped; the parent can catch TaskFailedError", async () => {
    let caught: unknown;
    const root = task({ name: "eng_catch" }, async (ctx) => {
      const bad = ctx.spawn(boom, {});
      const consumer = ctx.spawn(double, { x: From(bad) });
      try {
        await ctx.waitForAll([consumer]);
      } catch (error) {
        caught = error;
      }
      return "recovered";
    });
    const result = await run(root, {}, inline);
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe("recovered");
    expect(caught).toBeInstanceOf(TaskFailedError);
    expect((caught as TrellisError).code).toBe(ErrorCodes.TASK_FAILED);
    const failed = eventsOf(result.events, "task.failed")[0]?.data as {
      id: string;
      error: { name: string; message: string; stack?: string };
    };
    expect(failed.id).toBe("eng_catch/eng_boom#1");
    expect(failed.error.name).toBe("RangeError");
    expect(failed.error.message).toBe("boom!");
    expect(failed.error.stack).toContain("boom!");
    expect(result.plan.nodes.get("eng_catch/eng_double#1")?.status).toBe("skipped");
    expect(result.counts).toMatchObject({ succeeded: 1, failed: 1, skipped: 1 });
  });

  test("a run whose root failed ends failed (never 'completed' with output null)", async () => {
    const result = await run(boom, {}, inline);
    expect(result.status).toBe("failed");
    expect(result.output).toBeUndefined();
    expect(result.error?.message).toBe("boom!");
    const finished = eventsOf(result.events, "run.finished")[0]?.data as { status: string };
    expect(finished.status).toBe("failed");
  });

  test("a parent waiting on its children holds no slot: it finishes with one slot", async () => {
    const root = task({ name: "eng_one_slot" }, async (ctx) => {
      const kids = [1, 2, 3].map((x) => ctx.spawn(double, { x }));
      const nested = ctx.spawn(task_nested, { n: 2 });
      return [...(await ctx.waitForAll(kids)), await ctx.waitForAll([nested]).then(([v]) => v)];
    });
    const result = await run(root, {}, { ...inline, workers: 1 });
    expect(result.status).toBe("succeeded");
    expect(result.output).toEqual([2, 4, 6, 4]);
  });

  test("emit publishes the output at once: consumers start before the producer returns; a later return value is ignored with a warning", async () => {
    const gate = deferred();
    const order: string[] = [];
    const producer = task({ name: "eng_emitter" }, async (ctx) => {
      ctx.emit(21);
      await gate.promise;
      order.push("producer returns");
      return 999;
    });
    const consumer = task({ name: "eng_consumer" }, async (_ctx, { v }: { v: number }) => {
      order.push("consumer runs");
      gate.resolve();
      return v * 2;
    });
    const root = task({ name: "eng_emit_root" }, async (ctx) => {
      const p = ctx.spawn(producer, {});
      const c = ctx.spawn(consumer, { v: From(p) });
      return ctx.waitForAll([p, c]);
    });
    const result = await run(root, {}, { ...inline, workers: 4 });
    expect(result.output).toEqual([21, 42]);
    expect(order).toEqual(["consumer runs", "producer returns"]);
    const warning = eventsOf(result.events, "task.warning")[0]?.data as { id: string; code: string };
    expect(warning).toMatchObject({ id: "eng_emit_root/eng_emitter#1", code: "RETURN_AFTER_EMIT" });
  });

  test("user log fields live inside data and cannot overwrite the envelope", async () => {
    const logger = task({ name: "eng_logger" }, async (ctx) => {
      ctx.log("hello", { type: "evil", ts: "never", seq: -1, n: 1n });
      return 1;
    });
    const result = await run(logger, {}, inline);
    const log = eventsOf(result.events, "task.log")[0] as TrellisEvent;
    expect(log.type).toBe("task.log");
    expect(log.seq).toBeGreaterThan(0);
    expect(log.data).toEqual({
      id: "eng_logger",
      message: "hello",
      fields: { type: "evil", ts: "never", seq: -1, n: { $t: "bigint", v: "1" } },
    });
    const seqs = (result.events ?? []).map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  test("From on a handle of another run, and non-serialisable inputs, are clear errors at spawn", async () => {
    let foreign: unknown;
    let handle: TaskHandle<number> | undefined;
    const first = task({ name: "eng_first" }, async (ctx) => {
      handle = ctx.spawn(double, { x: 1 }); // kept past the run: a handle of another run
      await ctx.waitForAll([handle]);
      return 1;
    });
    await run(first, {}, inline);
    const errors: string[] = [];
    const second = task({ name: "eng_second" }, async (ctx) => {
      try {
        ctx.spawn(double, { x: From(handle as never) });
      } catch (error) {
        foreign = error;
      }
      for (const bad of [{ x: () => 1 }, { x: Symbol("s") }])
        try {
          ctx.spawn(double, bad as never);
        } catch (error) {
          errors.push((error as TrellisError).code);
        }
      return "ok";
    });
    const result = await run(second, {}, inline);
    expect(result.status).toBe("succeeded");
    expect(hasCode(foreign, ErrorCodes.UNKNOWN_INSTANCE)).toBe(true);
    expect(errors).toEqual([ErrorCodes.UNENCODABLE_INPUT, ErrorCodes.UNENCODABLE_INPUT]);
  });

  test("an output that cannot be encoded fails that task with UNENCODABLE_OUTPUT", async () => {
    const fnOut = task({ name: "eng_fn_out" }, async () => () => 1);
    const result = await run(fnOut, {}, inline);
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.UNENCODABLE_OUTPUT);
  });

  test("spawning a definition the engine does not know is an UNKNOWN_TASK error at the next wait", async () => {
    const ghost = task({ name: "eng_unregistered" }, async () => 1);
    const { registry } = await import("trellis");
    registry.delete("eng_unregistered");
    let code: string | undefined;
    const root = task({ name: "eng_spawn_unknown" }, async (ctx) => {
      const h = ctx.spawn(ghost, {});
      try {
        await ctx.waitForAll([h]);
      } catch (error) {
        code = (error as TrellisError).code;
      }
      return code;
    });
    const result = await run(root, {}, inline);
    expect(result.output).toBe(ErrorCodes.UNKNOWN_TASK);
  });
});

const task_nested = task({ name: "eng_nested" }, async (ctx, { n }: { n: number }) => {
  const [v] = await ctx.waitForAll([ctx.spawn(double, { x: n })]);
  return v;
});

describe("deadlocks are reported, never a hang", () => {
  test("a cycle of waits ends the run failed, naming the instances", async () => {
    const waiter = task({ name: "eng_cycle_child" }, async (ctx) => {
      await ctx.waitForAll([{ id: "eng_cycle", task: "eng_cycle", runId: ctx.runId }]);
    });
    const root = task({ name: "eng_cycle" }, async (ctx) => {
      await ctx.waitForAll([ctx.spawn(waiter, {})]);
    });
    const result = await run(root, {}, inline);
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.DEADLOCK);
    const report = eventsOf(result.events, "run.deadlock")[0]?.data as {
      instances: { id: string; waitingOn: string[] }[];
    };
    expect(report.instances).toEqual([
      { id: "eng_cycle", status: "waiting", waitingOn: ["eng_cycle/eng_cycle_child#1"] },
      { id: "eng_cycle/eng_cycle_child#1", status: "waiting", waitingOn: ["eng_cycle"] },
    ]);
  });

  test("waiting on itself or on an id that was never spawned is a catchable error", async () => {
    const codes: string[] = [];
    const root = task({ name: "eng_bad_waits" }, async (ctx) => {
      for (const id of [ctx.id, "eng_bad_waits/nobody#1"])
        try {
          await ctx.waitForAll([{ id, task: "x", runId: ctx.runId }]);
        } catch (error) {
          codes.push((error as TrellisError).code);
        }
      return codes;
    });
    const result = await run(root, {}, inline);
    expect(result.output).toEqual([ErrorCodes.DEADLOCK, ErrorCodes.UNKNOWN_INSTANCE]);
  });
});

describe("retries and timeouts", () => {
  test("a failing task is retried with exponential backoff, then succeeds", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let calls = 0;
      const flaky = task({ name: "eng_flaky", retries: 3, retryDelayMs: 100 }, async () => {
        calls++;
        if (calls < 3) throw new Error(`fail ${calls}`);
        return calls;
      });
      const pending = run(flaky, {}, inline);
      await vi.advanceTimersByTimeAsync(100);
      await vi.advanceTimersByTimeAsync(200);
      const result = await pending;
      expect(result.status).toBe("succeeded");
      expect(result.output).toBe(3);
      const retries = eventsOf(result.events, "task.retrying").map(
        (e) => e.data as { attempt: number; delayMs: number },
      );
      expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
        [2, 100],
        [3, 200],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  test("an attempt past its timeoutMs fails with TASK_TIMEOUT and its signal fires", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let aborted = false;
      const slow = task({ name: "eng_slow", timeoutMs: 50 }, async (ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        aborted = ctx.signal.aborted;
        return "late";
      });
      const pending = run(slow, {}, inline);
      await vi.advanceTimersByTimeAsync(50);
      const result = await pending;
      expect(result.status).toBe("failed");
      expect(result.error?.code).toBe(ErrorCodes.TASK_TIMEOUT);
      expect(aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("run options", () => {
  test("bad options are one clear error naming the option", async () => {
    await expect(run(double, { x: 1 }, { executor: "gpu" as never })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
    await expect(run(double, { x: 1 }, { workers: 0 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    await expect(run(double, { x: 1 }, { onViolation: "ignore" as never })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
  });

  test("an AbortSignal cancels the run: unfinished instances are cancelled and their signals fire", async () => {
    const controller = new AbortController();
    const started = deferred();
    let sawAbort = false;
    const hang = task({ name: "eng_hang" }, async (ctx) => {
      started.resolve();
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      sawAbort = true;
    });
    const pending = run(hang, {}, { ...inline, signal: controller.signal });
    await started.promise;
    controller.abort();
    const result = await pending;
    expect(result.status).toBe("cancelled");
    expect(result.counts.cancelled).toBe(1);
    expect(sawAbort).toBe(true);
  });

  test("a cancelled task observes a TaskCancelledError: the signal's reason, thrown by signal.throwIfAborted()", async () => {
    const controller = new AbortController();
    const started = deferred();
    let thrown: unknown;
    const hang = task({ name: "eng_hang_reason" }, async (ctx) => {
      started.resolve();
      await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
      try {
        ctx.signal.throwIfAborted();
      } catch (error) {
        thrown = error;
      }
    });
    const pending = run(hang, {}, { ...inline, signal: controller.signal });
    await started.promise;
    controller.abort();
    expect((await pending).status).toBe("cancelled");
    expect(thrown).toBeInstanceOf(TaskCancelledError);
    expect((thrown as TaskCancelledError).code).toBe(ErrorCodes.TASK_CANCELLED);
  });
});

describe("data that would arrive silently wrong is an error", () => {
  test("a task whose output holds a Promise (a forgotten await) fails with UNENCODABLE_OUTPUT naming the path", async () => {
    const forgot = task({ name: "eng_forgot_await" }, async () => ({ parts: [1, 2].map(async (x) => x * 2) }));
    const result = await run(forgot, {}, inline);
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.UNENCODABLE_OUTPUT);
    expect(result.error?.message).toContain("output of eng_forgot_await.parts[0] is a Promise");
    expect(result.error?.message).toContain("await");
    expect(eventsOf(result.events, "task.succeeded")).toHaveLength(0);
  });

  test("emit() of a Promise and spawn inputs holding one are refused the same way", async () => {
    const emitter = task({ name: "eng_emit_promise" }, async (ctx) => {
      ctx.emit(Promise.resolve(1));
      return 1;
    });
    const emitted = await run(emitter, {}, inline);
    expect(emitted.status).toBe("failed");
    expect(emitted.error?.code).toBe(ErrorCodes.UNENCODABLE_OUTPUT);
    let code: string | undefined;
    const parent = task({ name: "eng_spawn_promise" }, async (ctx) => {
      try {
        ctx.spawn(double, { x: Promise.resolve(1) } as never);
      } catch (error) {
        code = (error as TrellisError).code;
      }
      return 0;
    });
    expect((await run(parent, {}, inline)).status).toBe("succeeded");
    expect(code).toBeDefined();
    expect(code).toBe(ErrorCodes.UNENCODABLE_INPUT);
    const rootInputs = await run(double, { x: 1, when: Promise.resolve() } as never, inline);
    expect(rootInputs.status).toBe("failed");
    expect(rootInputs.error?.code).toBe(ErrorCodes.UNENCODABLE_INPUT);
  });

  test("a handle passed in inputs without From is an INVALID_INPUT error that says to wrap it in From()", async () => {
    const sum = task({ name: "eng_sum_parts" }, async (_ctx, { parts }: { parts: number[] }) =>
      parts.reduce((a, b) => a + b, 0),
    );
    let error: TrellisError | undefined;
    const parent = task({ name: "eng_bare_handle" }, async (ctx) => {
      const parts = [1, 2].map((x) => ctx.spawn(double, { x }));
      try {
        ctx.spawn(sum, { parts } as never); // what a .js file can do: no compiler to catch it
      } catch (e) {
        error = e as TrellisError;
      }
      const whole = ctx.spawn(sum, { parts: parts.map((p) => From(p)) });
      return (await ctx.waitForAll([whole]))[0];
    });
    const result = await run(parent, {}, inline);
    expect(result.output).toBe(6);
    expect(error?.code).toBe(ErrorCodes.INVALID_INPUT);
    expect(error?.details["path"]).toBe("inputs of eng_sum_parts.parts[0]");
    expect(error?.message).toContain("From(handle)");
    expect(error?.message).toContain("eng_bare_handle/eng_double#1");
    // As the whole inputs too (the flat fast path sees the mark).
    let whole: TrellisError | undefined;
    const direct = task({ name: "eng_bare_handle_direct" }, async (ctx) => {
      const h = ctx.spawn(double, { x: 1 });
      try {
        ctx.spawn(double, h as never);
      } catch (e) {
        whole = e as TrellisError;
      }
      await ctx.waitForAll([h]);
      return h; // and as an output: the parent would get an id, not the value
    });
    const returned = await run(direct, {}, inline);
    expect(whole?.code).toBe(ErrorCodes.INVALID_INPUT);
    expect(returned.error?.code).toBe(ErrorCodes.UNENCODABLE_OUTPUT);
    expect(returned.error?.message).toContain("waitForAll");
  });
});
