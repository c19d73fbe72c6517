// The pure decisions of the run loop against naive models over random plans:
// readiness (scheduler/readiness.ts), the end of a run and deadlocks
// (scheduler/deadlock.ts), a spawn's diff (plan/diff.ts) and the retry
// policy (runtime/attempts.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyEvent, createPlan } from "trellis";
import type { Plan, TrellisEvent } from "trellis";
import { Blockers, blockingCount, deadProducer, readyIds } from "../../dist/scheduler/readiness.js";
import { endStatus, isDeadlocked, stuckInstances } from "../../dist/scheduler/deadlock.js";
import { spawnDiff } from "../../dist/plan/diff.js";
import { MAX_RETRY_DELAY_MS, retryDelay } from "../../dist/runtime/attempts.js";

/** Fixed so a failure reproduces (deterministic tests); set DECISIONS_SEED to explore others. */
const SEED = Number(process.env["DECISIONS_SEED"] ?? 20261202);

type Status = "pending" | "running" | "waiting" | "succeeded" | "failed" | "skipped" | "cancelled";
const STATUSES: readonly Status[] = ["pending", "running", "waiting", "succeeded", "failed", "skipped", "cancelled"];
const FINISHED = new Set<Status>(["succeeded", "failed", "skipped", "cancelled"]);

/** One instance of a generated plan: its producers are earlier instances, its parent an earlier one (or none for the root). */
interface GenNode {
  readonly producers: number[];
  readonly status: Status;
  readonly emitted: boolean;
  /** For `waiting`: the instances it waits on. */
  readonly waitsOn: number[];
}

const id = (i: number): string => `n${i}`;

/** Random plans of up to 25 instances: a DAG of data edges, lineage from earlier instances, any status. */
const genPlan = fc
  .array(
    fc.record({
      producerPicks: fc.uniqueArray(fc.nat(30), { maxLength: 3 }),
      status: fc.constantFrom(...STATUSES),
      emitted: fc.boolean(),
      waitPicks: fc.uniqueArray(fc.nat(30), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 25 },
  )
  .map((raw) =>
    raw.map((r, i): GenNode => {
      const earlier = (picks: number[]): number[] => (i === 0 ? [] : [...new Set(picks.map((p) => p % i))]);
      return {
        producers: earlier(r.producerPicks),
        status: r.status,
        // Only a task that ran can have emitted, and only one still unfinished or succeeded keeps that meaning here.
        emitted: r.emitted && (r.status === "running" || r.status === "waiting" || r.status === "succeeded"),
        waitsOn: r.status === "waiting" ? earlier(r.waitPicks) : [],
      };
    }),
  );

/** Builds the plan by folding events, as the engine and a replay do. */
function planOf(nodes: readonly GenNode[]): Plan {
  const plan = createPlan("prop");
  let seq = 0;
  const fold = (type: string, data: unknown): void =>
    applyEvent(plan, { v: 1, seq: ++seq, ts: "2026-01-01T00:00:00.000Z", runId: "prop", type, data } as unknown as TrellisEvent);
  fold("run.started", { root: id(0), task: "t", inputs: null, options: { executor: "inline", workers: 1, onViolation: "halt" } });
  nodes.forEach((n, i) => {
    fold("task.created", { id: id(i), task: "t", parent: i === 0 ? null : id(0), labels: [], inputs: null, placeholder: null, priority: 0 });
    if (i > 0) fold("edge.created", { from: id(0), to: id(i), kind: "lineage" });
    for (const p of n.producers) fold("edge.created", { from: id(p), to: id(i), kind: "data" });
  });
  nodes.forEach((n, i) => {
    const nid = id(i);
    if (n.status === "pending") return;
    if (n.status === "skipped") return fold("task.skipped", { id: nid, because: "x" });
    if (n.status === "cancelled") return fold("task.cancelled", { id: nid, reason: "x" });
    fold("task.started", { id: nid, attempt: 1 });
    if (n.emitted) fold("task.emitted", { id: nid, output: i });
    if (n.status === "waiting") fold("task.waiting", { id: nid, on: n.waitsOn.map(id) });
    if (n.status === "succeeded") fold("task.succeeded", { id: nid, output: i });
    if (n.status === "failed") fold("task.failed", { id: nid, attempt: 1, error: { name: "Error", message: "x", code: "X", stack: "" } });
  });
  return plan;
}

const available = (n: GenNode): boolean => n.status === "succeeded" || n.emitted;

describe("readiness", () => {
  it("readyIds, deadProducer and blockingCount agree with the definition of readiness", () => {
    fc.assert(
      fc.property(genPlan, (nodes) => {
        const plan = planOf(nodes);
        const ready = nodes.flatMap((n, i) => (n.status === "pending" && n.producers.every((p) => available(nodes[p] as GenNode)) ? [id(i)] : []));
        expect(readyIds(plan)).toEqual(ready);
        nodes.forEach((n, i) => {
          const producers = (plan.producers.get(id(i)) ?? []) as string[];
          const dead = n.producers.find((p) => !available(nodes[p] as GenNode) && FINISHED.has((nodes[p] as GenNode).status));
          expect(deadProducer(plan, producers)?.id).toBe(dead === undefined ? undefined : id(dead));
          expect(blockingCount(plan, producers)).toBe(n.producers.filter((p) => !available(nodes[p] as GenNode)).length);
        });
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it("Blockers, fed as the run loop feeds it, always queues exactly the ready instances", () => {
    const genRun = fc.record({
      producers: fc.array(fc.uniqueArray(fc.nat(40), { maxLength: 4 }), { minLength: 1, maxLength: 30 }),
      order: fc.array(fc.nat(1000), { maxLength: 60 }),
      emits: fc.array(fc.boolean(), { maxLength: 60 }),
    });
    fc.assert(
      fc.property(genRun, ({ producers, order, emits }) => {
        const nodes: GenNode[] = producers.map((picks, i) => ({
          producers: i === 0 ? [] : [...new Set(picks.map((p) => p % i))],
          status: "pending",
          emitted: false,
          waitsOn: [],
        }));
        const plan = planOf(nodes);
        let seq = plan.seq;
        const fold = (type: string, data: unknown): void =>
          applyEvent(plan, { v: 1, seq: ++seq, ts: "", runId: "prop", type, data } as unknown as TrellisEvent);
        const blockers = new Blockers();
        const queued = new Set<string>();
        for (let i = 0; i < nodes.length; i++) {
          const count = blockingCount(plan, plan.producers.get(id(i)) ?? []);
          if (count > 0) blockers.block(id(i), count);
          else queued.add(id(i));
        }
        const started = new Set<string>();
        // What the engine does when an output becomes available: unblock each consumer, queue it when it was the last.
        const availableNow = (nid: string): void => {
          for (const c of plan.consumers.get(nid) ?? []) if (blockers.unblock(c)) queued.add(c);
        };
        const check = (): void => {
          const pendingQueued = [...queued].filter((q) => plan.nodes.get(q)?.status === "pending").sort();
          expect(pendingQueued).toEqual([...readyIds(plan)].sort());
        };
        check();
        order.forEach((pick, k) => {
          const candidates = [...queued].filter((q) => !started.has(q) || plan.nodes.get(q)?.status === "running");
          if (candidates.length === 0) return;
          const nid = candidates[pick % candidates.length] as string;
          const node = plan.nodes.get(nid);
          if (!node) return;
          if (node.status === "pending") {
            started.add(nid);
            fold("task.started", { id: nid, attempt: 1 });
            if (emits[k]) {
              fold("task.emitted", { id: nid, output: 1 });
              availableNow(nid);
            }
          } else if (node.status === "running") {
            const emittedBefore = node.emitted;
            fold("task.succeeded", { id: nid, output: 1 });
            if (!emittedBefore) availableNow(nid);
          }
          check();
        });
      }),
      { numRuns: 200, seed: SEED },
    );
  });
});

describe("the end of a run", () => {
  it("stuckInstances lists every unfinished instance with what it waits on", () => {
    fc.assert(
      fc.property(genPlan, (nodes) => {
        const plan = planOf(nodes);
        const expected = nodes.flatMap((n, i) => {
          if (FINISHED.has(n.status)) return [];
          const waitingOn = n.status === "waiting" ? n.waitsOn.map(id) : n.producers.filter((p) => !available(nodes[p] as GenNode)).map(id);
          return [{ id: id(i), status: n.status, waitingOn }];
        });
        expect(stuckInstances(plan)).toEqual(expected);
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it("a run is deadlocked exactly when instances are unfinished and nothing can move them; it ends with its root's success", () => {
    const activity = fc.record({ running: fc.nat(2), queued: fc.nat(2), retries: fc.nat(2), armedWaits: fc.nat(2) });
    fc.assert(
      fc.property(genPlan, activity, (nodes, a) => {
        const plan = planOf(nodes);
        const unfinished = nodes.some((n) => !FINISHED.has(n.status));
        const idle = a.running + a.queued + a.retries + a.armedWaits === 0;
        expect(isDeadlocked(plan, a)).toBe(unfinished && idle);
        expect(endStatus(plan)).toBe(nodes[0]?.status === "succeeded" ? "succeeded" : "failed");
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});

describe("a spawn's diff", () => {
  it("is the new node, its lineage edge first, then one data edge per producer in order", () => {
    fc.assert(
      fc.property(genPlan, fc.uniqueArray(fc.nat(30), { maxLength: 4 }), fc.array(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 2 }), (nodes, picks, labels) => {
        const plan = planOf(nodes);
        const producers = [...new Set(picks.map((p) => id(p % nodes.length)))];
        const parent = plan.nodes.get(id(0));
        if (!parent) throw new Error("no root");
        const diff = spawnDiff(plan, parent, { id: "child", task: "c", producers, labels, placeholder: null });
        expect(diff).toEqual({
          by: id(0),
          nodes: [{ id: "child", task: "c", parent: id(0), labels, placeholder: null }],
          edges: [
            { from: id(0), to: "child", kind: "lineage", fromTask: "t", toTask: "c", declared: false },
            ...producers.map((p) => ({ from: p, to: "child", kind: "data", fromTask: "t", toTask: "c", declared: false })),
          ],
        });
      }),
      { numRuns: 200, seed: SEED },
    );
  });
});

describe("retries", () => {
  it("a failure is retried while attempts remain, after a doubling delay capped at 30 s; broken promises and cancellations never", () => {
    const code = fc.constantFrom("TASK_FAILED", "TASK_TIMEOUT", "PROMISE_VIOLATION", "TASK_CANCELLED", "WORKER_CRASH");
    fc.assert(
      fc.property(fc.nat(5), fc.nat(100_000), fc.integer({ min: 1, max: 8 }), code, (retries, base, attempt, c) => {
        const def = { retries, retryDelayMs: base } as Parameters<typeof retryDelay>[0];
        const error = { name: "Error", message: "x", code: c, stack: "" };
        const retried = attempt <= retries && c !== "PROMISE_VIOLATION" && c !== "TASK_CANCELLED";
        let delay = base;
        for (let a = 1; a < attempt; a++) delay *= 2;
        expect(retryDelay(def, attempt, error)).toBe(retried ? Math.min(delay, MAX_RETRY_DELAY_MS) : null);
      }),
      { seed: SEED },
    );
  });
});
