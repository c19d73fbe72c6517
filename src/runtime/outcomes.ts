/**
 * What follows the end of an instance, and of a wait. An instance that
 * succeeds (or emits) makes its output available: consumers whose last
 * producer it was are queued, and waits on it count down and are answered
 * when it was the last. One that fails, is skipped or cancelled takes its
 * consumers with it (skipped) and fails the waits on it. A wait is answered
 * once, whatever ends it first (its instances, its time limit, its signal):
 * at once to a task that holds a slot, else when the task resumes.
 */
import { serializeError } from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import type { WaitEndReason } from "../events/types.ts";
import { isFinished } from "../events/types.ts";
import { outputsOf } from "../plan/outputs.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { isReady } from "../scheduler/readiness.ts";
import type { LiveTask } from "./attempts.ts";
import type { WaitOutcome } from "./executor.ts";
import type { RunParts } from "./run-parts.ts";
import type { WaitRecord } from "./waits.ts";
import { failedChildError } from "./waits.ts";

/** The finished statuses an instance is settled with. */
export type SettledStatus = "succeeded" | "failed" | "skipped" | "cancelled";

export class Outcomes {
  readonly #run: RunParts;
  readonly #plan: Plan;

  constructor(run: RunParts) {
    this.#run = run;
    this.#plan = run.plan;
  }

  /** Moves an instance to a finished status, with everything that follows from it. */
  settle(node: PlanNode, status: SettledStatus, reason?: string, output?: Json, error?: SerializedError): void {
    if (isFinished(node.status)) return;
    const id = node.id;
    const log = this.#run.log;
    const live = this.#run.attempts.get(id);
    if (live) this.endAttempt(id, live);
    const emittedBefore = node.emitted;
    if (status === "succeeded") log.commit("task.succeeded", { id, output: output ?? null }, node);
    else if (status === "failed")
      log.commit(
        "task.failed",
        { id, attempt: node.attempt, error: error ?? serializeError(new Error("unknown failure")) },
        node,
      );
    else if (status === "skipped")
      log.commit("task.skipped", { id, because: reason ?? "a producer did not succeed" }, node);
    else log.commit("task.cancelled", { id, reason: reason ?? "cancelled" }, node);
    this.#settled(node, status === "succeeded", emittedBefore);
  }

  /** A pending instance succeeds without running: its output was in the results cache under `key`. */
  settleCached(node: PlanNode, key: string, output: Json): void {
    this.#run.log.commit("task.cached", { id: node.id, key, output }, node);
    this.#settled(node, true, false);
  }

  /** Forgets the live attempt of `id`: its time limits stop and its slot is given back. */
  endAttempt(id: string, live: LiveTask): void {
    this.#run.attempts.end(id, live);
    if (live.timed !== null) for (const r of live.timed) this.#run.waits.disarm(r);
    if (live.holdsSlot) this.#run.scheduler.release(id);
    live.holdsSlot = false;
  }

  /** What follows an instance's end: its open placeholders are pruned, its consumers and waiters told. */
  #settled(node: PlanNode, succeeded: boolean, emittedBefore: boolean): void {
    const plan = this.#plan;
    if (plan.placeholderChildren.size > 0) {
      const open = (plan.placeholderChildren.get(node.id) ?? []).filter(
        (p) => plan.placeholders.get(p)?.state === "open",
      );
      if (open.length > 0) this.#run.log.commit("preview.pruned", { owner: node.id, placeholders: open });
    }
    if (emittedBefore) return;
    if (succeeded) this.available(node);
    else this.#dead(node);
  }

  /** `node`'s output became available (it succeeded or emitted; the fold counted its consumers down). */
  available(node: PlanNode): void {
    const plan = this.#plan;
    const consumers = plan.consumers.get(node.id);
    if (consumers)
      for (const c of consumers) {
        const consumer = plan.nodes.get(c) as PlanNode;
        if (isReady(consumer)) this.#run.scheduler.push(consumer); // node was its last producer without an output
      }
    const records = this.#run.waits.take(node);
    if (records === undefined) return;
    if (Array.isArray(records)) for (const r of records) this.#oneLess(r);
    else this.#oneLess(records);
  }

  /** One instance `r` waits on became available: answer the wait when it was the last. */
  #oneLess(r: WaitRecord): void {
    if (r.done) return;
    if (--r.remaining <= 0) this.answerWait(r, { ok: true, outputs: outputsOf(r.nodes) }, "completed");
  }

  /** `node` finished without an output: its consumers are skipped and its waiters fail. */
  #dead(node: PlanNode): void {
    const plan = this.#plan;
    const consumers = plan.consumers.get(node.id);
    if (consumers)
      for (const c of consumers)
        this.settle(plan.nodes.get(c) as PlanNode, "skipped", `producer ${node.id} ${node.status}`);
    const records = this.#run.waits.take(node);
    if (records === undefined) return;
    const outcome: WaitOutcome = { ok: false, error: failedChildError(node) };
    if (Array.isArray(records)) for (const r of records) this.answerWait(r, outcome, "failed");
    else this.answerWait(records, outcome, "failed");
  }

  /** Answers a wait, once: whichever of its instances, its timer or its signal comes first decides. */
  answerWait(record: WaitRecord, outcome: WaitOutcome, reason: WaitEndReason): void {
    if (record.done) return;
    record.done = true;
    this.#run.waits.disarm(record);
    const live = this.#run.attempts.get(record.task);
    if (!live || live.attempt !== record.attempt) return;
    if (live.holdsSlot)
      return this.#run.options.executor.resume({ id: record.task, attempt: record.attempt }, record.waitId, outcome);
    (live.answered ??= []).push({ waitId: record.waitId, outcome, reason });
    if (!live.resumeQueued) {
      live.resumeQueued = true;
      const node = live.node;
      this.#run.scheduler.push({ id: node.id, priority: node.priority, order: node.order, resume: true });
    }
  }
}
