// The pure decisions of the run loop against naive models over random plans:
// readiness (scheduler/readiness.ts and the fold's count of producers left), waits
// (runtime/waits.ts), the end of a run and deadlocks
// (scheduler/deadlock.ts), a spawn's diff (plan/diff.ts) and the retry
// policy (runtime/attempts.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyEvent, createPlan } from "trellis";
import type { Plan, PlanNode, TrellisEvent } from "trellis";
import {
  blockingCount,
  deadProducer,
  isAvailable,
  isReady,
  readyIds,
  readyNodes,
} from "../../dist/scheduler/readiness.js";
import { endStatus, isDeadlocked, stuckInstances } from "../../dist/scheduler/deadlock.js";
import { spawnDiff } from "../../dist/plan/diff.js";
import { MAX_RETRY_DELAY_MS, retryDelay } from "../../dist/runtime/attempts.js";
import type { WaitRecord } from "../../dist/runtime/waits.js";
import {
  Waits,
  failedChildError,
  newWaitRecord,
  selfWaitError,
  unfinishedOf,
  unknownWaitError,
} from "../../dist/runtime/waits.js";

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
    applyEvent(plan, {
      v: 1,
      seq: ++seq,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "prop",
      type,
      data,
    } as unknown as TrellisEvent);
  fold("run.started", {
    root: id(0),
    task: "t",
    inputs: null,
    options: { executor: "inline", workers: 1, onViolation: "halt" },
  });
  nodes.forEach((n, i) => {
    fold("task.created", {
      id: id(i),
      task: "t",
      parent: i === 0 ? null : id(0),
      labels: [],
      inputs: null,
      placeholder: null,
      priority: 0,
    });
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
    if (n.status === "failed")
      fold("task.failed", { id: nid, attempt: 1, error: { name: "Error", message: "x", code: "X", stack: "" } });
  });
  return plan;
}

const available = (n: GenNode): boolean => n.status === "succeeded" || n.emitted;

describe("readiness", () => {
  it("readyIds, deadProducer and blockingCount agree with the definition of readiness", () => {
    fc.assert(
      fc.property(genPlan, (nodes) => {
        const plan = planOf(nodes);
        const ready = nodes.flatMap((n, i) =>
          n.status === "pending" && n.producers.every((p) => available(nodes[p] as GenNode)) ? [id(i)] : [],
        );
        expect(readyIds(plan)).toEqual(ready);
        nodes.forEach((n, i) => {
          const producers = (plan.producers.get(id(i)) ?? []) as string[];
          const dead = n.producers.find(
            (p) => !available(nodes[p] as GenNode) && FINISHED.has((nodes[p] as GenNode).status),
          );
          expect(deadProducer(plan, producers)?.id).toBe(dead === undefined ? undefined : id(dead));
          expect(blockingCount(plan, producers)).toBe(
            n.producers.filter((p) => !available(nodes[p] as GenNode)).length,
          );
          expect(plan.nodes.get(id(i))?.producersLeft).toBe(blockingCount(plan, producers));
        });
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it("the fold's count of producers without output equals the definition after every event of random runs, and queues each ready instance once", () => {
    // A run as a sequence of random steps, each a few events: spawn an instance whose producers are any
    // earlier instances (whatever their state), start a queued one, emit, succeed, fail, or skip one.
    const genSteps = fc.array(
      fc.record({ op: fc.nat(5), pick: fc.nat(1000), producers: fc.uniqueArray(fc.nat(1000), { maxLength: 4 }) }),
      {
        minLength: 1,
        maxLength: 80,
      },
    );
    fc.assert(
      fc.property(genSteps, (steps) => {
        const plan = createPlan("prop");
        let seq = 0;
        const fold = (type: string, data: unknown): void =>
          applyEvent(plan, { v: 1, seq: ++seq, ts: "", runId: "prop", type, data } as unknown as TrellisEvent);
        fold("run.started", {
          root: "n0",
          task: "t",
          inputs: null,
          options: { executor: "inline", workers: 1, onViolation: "halt" },
        });
        // What the run loop does with readiness now that the fold keeps it: queue an instance at its
        // creation when nothing blocks it, and a consumer when a producer's output makes it ready.
        const queued: string[] = [];
        const queue = (nid: string): void => {
          expect(queued, `${nid} queued twice`).not.toContain(nid);
          queued.push(nid);
        };
        const availableNow = (nid: string): void => {
          for (const c of plan.consumers.get(nid) ?? []) if (isReady(plan.nodes.get(c) as PlanNode)) queue(c);
        };
        const check = (): void => {
          for (const node of plan.nodes.values())
            expect(node.producersLeft, node.id).toBe(blockingCount(plan, plan.producers.get(node.id) ?? []));
          expect(readyNodes(plan).map((n) => n.id)).toEqual(readyIds(plan));
          expect(queued.filter((q) => plan.nodes.get(q)?.status === "pending").sort()).toEqual(
            [...readyIds(plan)].sort(),
          );
        };
        const nodes = (): PlanNode[] => [...plan.nodes.values()];
        const pickOf = (list: readonly PlanNode[], pick: number): PlanNode | undefined =>
          list[pick % Math.max(1, list.length)];
        for (const { op, pick, producers } of steps) {
          const all = nodes();
          if (op === 0 || all.length === 0) {
            const nid = id(all.length);
            fold("task.created", {
              id: nid,
              task: "t",
              parent: all.length === 0 ? null : "n0",
              labels: [],
              inputs: null,
              placeholder: null,
              priority: 0,
            });
            const from = all.length === 0 ? [] : [...new Set(producers.map((p) => id(p % all.length)))];
            for (const p of from) fold("edge.created", { from: p, to: nid, kind: "data" });
            if (deadProducer(plan, from)) fold("task.skipped", { id: nid, because: "a producer died" });
            else if (isReady(plan.nodes.get(nid) as PlanNode)) queue(nid);
          } else {
            const node = pickOf(
              all.filter((n) =>
                op === 1
                  ? queued.includes(n.id) && n.status === "pending"
                  : op === 5
                    ? n.status === "pending"
                    : n.status === "running",
              ),
              pick,
            );
            if (node === undefined) continue;
            const emittedBefore = node.emitted;
            if (op === 1) fold("task.started", { id: node.id, attempt: 1 });
            else if (op === 2) {
              fold("task.emitted", { id: node.id, output: 1 });
              if (!emittedBefore) availableNow(node.id);
            } else if (op === 3) {
              fold("task.succeeded", { id: node.id, output: 1 });
              if (!emittedBefore) availableNow(node.id);
            } else if (op === 4)
              fold("task.failed", {
                id: node.id,
                attempt: 1,
                error: { name: "Error", message: "x", code: "X", stack: "" },
              });
            else fold("task.skipped", { id: node.id, because: "x" });
          }
          check();
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});

describe("waits", () => {
  it("a wait registers on exactly the instances without output, is refused as the first bad id says, and is answered when the last of them has an output", () => {
    const genWaits = fc.array(fc.record({ by: fc.nat(30), picks: fc.array(fc.nat(34), { maxLength: 5 }) }), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(genPlan, genWaits, fc.array(fc.nat(1000), { maxLength: 30 }), (nodes, waits, order) => {
        const plan = planOf(nodes);
        let seq = plan.seq;
        const waitsOf = new Waits();
        // The naive model: scan the ids in order; the first self-wait, unknown id or dead instance refuses the wait.
        const open: { record: WaitRecord; on: string[] }[] = [];
        waits.forEach(({ by, picks }, w) => {
          const waiter = id(by % nodes.length);
          const ids = picks.map((p) => id(p % (nodes.length + 1))); // one id past the plan's last instance: unknown
          let expected: string[] | string = [];
          for (const i of ids) {
            const node = plan.nodes.get(i);
            if (i === waiter) expected = selfWaitError(i).code;
            else if (!node) expected = unknownWaitError(waiter, i).code;
            else if (!isAvailable(node) && FINISHED.has(node.status)) expected = failedChildError(node).code;
            else if (!isAvailable(node) && !expected.includes(i)) expected.push(i);
            if (typeof expected === "string") break;
          }
          const record = newWaitRecord(waiter, 1, w);
          const got = waitsOf.register(plan, record, ids);
          if (typeof expected === "string") {
            expect(Array.isArray(got) ? got : got.code).toBe(expected);
            return;
          }
          expect(got).toEqual(expected);
          expect(record.remaining).toBe(expected.length);
          expect(unfinishedOf(record)).toEqual(expected);
          if (expected.length > 0) open.push({ record, on: expected });
        });
        // Outputs arrive in a random order: each wait is taken off each instance once, and answered with its last one.
        for (const pick of order) {
          const candidates = [...plan.nodes.values()].filter((n) => !isAvailable(n) && !FINISHED.has(n.status));
          const node = candidates[pick % Math.max(1, candidates.length)];
          if (node === undefined) break;
          applyEvent(plan, {
            v: 1,
            seq: ++seq,
            ts: "",
            runId: "prop",
            type: "task.succeeded",
            data: { id: node.id, output: 1 },
          } as unknown as TrellisEvent);
          const taken = waitsOf.take(node);
          const records = taken === undefined ? [] : Array.isArray(taken) ? taken : [taken];
          expect(new Set(records)).toEqual(new Set(open.filter((o) => o.on.includes(node.id)).map((o) => o.record)));
          for (const r of records) r.remaining--;
          for (const { record, on } of open) {
            const left = on.filter((i) => !isAvailable(plan.nodes.get(i) as PlanNode));
            expect(unfinishedOf(record)).toEqual(left);
            expect(record.remaining).toBe(left.length);
          }
        }
      }),
      { numRuns: 300, seed: SEED },
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
          const waitingOn =
            n.status === "waiting"
              ? n.waitsOn.map(id)
              : n.producers.filter((p) => !available(nodes[p] as GenNode)).map(id);
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
      fc.property(
        genPlan,
        fc.uniqueArray(fc.nat(30), { maxLength: 4 }),
        fc.array(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 2 }),
        (nodes, picks, labels) => {
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
              ...producers.map((p) => ({
                from: p,
                to: "child",
                kind: "data",
                fromTask: "t",
                toTask: "c",
                declared: false,
              })),
            ],
          });
        },
      ),
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
