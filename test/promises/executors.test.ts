/**
 * Both violation policies with tasks running in worker threads and child
 * processes: the refusal happens in the engine, the error reaches the task
 * across the boundary as a PromiseViolationError it can catch, and a halt
 * stops the workers' tasks.
 */
import { describe, expect, it } from "vitest";
import type { ExecutorKind } from "trellis";
import { ErrorCodes } from "trellis";
import { promBatch } from "../../.tmp/fixtures/prom-tasks.js";
import { eventsOf, ofType, runKept } from "./helpers.ts";

const executors: readonly ExecutorKind[] = ["threads", "processes"];

describe.each(executors)("promise violations with the %s executor", (executor) => {
  it("reject: the task catches the violation and keeps its five results", async () => {
    const result = await runKept<{ sum: number; caught: string[] }>(
      promBatch,
      { n: 6, limit: 5 },
      { executor, workers: 2, onViolation: "reject" },
    );
    expect(result.status).toBe("succeeded");
    expect(result.output?.sum).toBe(1 + 4 + 9 + 16 + 25);
    expect(result.output?.caught).toEqual([ErrorCodes.PROMISE_VIOLATION, ErrorCodes.UNKNOWN_INSTANCE]);
    expect(ofType(eventsOf(result), "promise.violated")).toHaveLength(1);
  });

  it("halt: the sixth spawn is refused, the run ends halted with nothing left running", async () => {
    const result = await runKept(promBatch, { n: 6, limit: 5 }, { executor, workers: 2 });
    expect(result.status).toBe("halted");
    expect(result.error?.code).toBe(ErrorCodes.PROMISE_VIOLATION);
    const events = eventsOf(result);
    expect(ofType(events, "promise.violated").map((v) => v.data.details)).toEqual([
      { limit: 5, attempted: 6, task: "prom_square", parent: "prom_batch" },
    ]);
    expect(result.plan.nodes.has("prom_batch/prom_square#6")).toBe(false);
    expect(result.plan.nodes.get("prom_batch")?.status).toBe("cancelled");
    expect(result.counts).toMatchObject({ pending: 0, running: 0, waiting: 0 });
  });
});
