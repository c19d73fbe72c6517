/**
 * Readiness (SPEC section 4): an instance is ready when the output of every
 * producer is available (it succeeded, or published it with `emit`); it can
 * never run when a producer finished without one.
 *
 * The fold keeps the count of each instance's producers without an output
 * (`PlanNode.producersLeft`), so readiness is read off the plan, live or
 * folded from a log: {@link isReady}, {@link readyNodes}. The run loop keeps
 * no counter of its own. {@link readyIds} and {@link blockingCount} are the
 * plain definitions, O(plan) and O(producers), that the fold's counts are
 * tested against (test/core/decisions.test.ts).
 */
import { isFinished } from "../events/types.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { isAvailable } from "../plan/plan.ts";

// Defined beside PlanNode (the fold needs it); readiness is where callers look for it.
export { isAvailable };

/** True when `node` is pending and every producer has an output: it may start. O(1), from the fold's count. */
export function isReady(node: PlanNode): boolean {
  return node.status === "pending" && node.producersLeft === 0;
}

/**
 * The ready instances of a plan, in creation order: what a run resumed from a
 * folded plan queues first. (A pending instance with a producer that died is
 * not ready: see {@link deadProducer}.)
 */
export function readyNodes(plan: Plan): PlanNode[] {
  const out: PlanNode[] = [];
  for (const node of plan.nodes.values()) if (isReady(node)) out.push(node);
  return out;
}

/** The first of `producers` that finished without an output (so its consumer can never run), or `undefined`. */
export function deadProducer(plan: Plan, producers: readonly string[]): PlanNode | undefined {
  for (let i = 0; i < producers.length; i++) {
    const producer = plan.nodes.get(producers[i] as string) as PlanNode;
    if (!isAvailable(producer) && isFinished(producer.status)) return producer;
  }
  return undefined;
}

/** How many of `producers` have no output yet. The definition of `PlanNode.producersLeft`. */
export function blockingCount(plan: Plan, producers: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < producers.length; i++) if (!isAvailable(plan.nodes.get(producers[i] as string) as PlanNode)) n++;
  return n;
}

/** The pending instances whose producers all have an output, in creation order. The definition; O(plan). */
export function readyIds(plan: Plan): string[] {
  const out: string[] = [];
  for (const node of plan.nodes.values()) {
    if (node.status !== "pending") continue;
    const producers = plan.producers.get(node.id) ?? [];
    if (producers.every((p) => isAvailable(plan.nodes.get(p) as PlanNode))) out.push(node.id);
  }
  return out;
}

/** Where the pending instances of a resumed plan stand (see {@link resumePoints}). */
export interface ResumePoints {
  /** Pending, every producer's output available: to be queued, in creation order. */
  readonly ready: PlanNode[];
  /** Pending, but a producer finished without an output: to be skipped. */
  readonly doomed: { readonly node: PlanNode; readonly producer: PlanNode }[];
}

/**
 * The pending instances of a plan folded from a log that a resumed run acts
 * on at once, in creation order: the ready ones (queued) and the doomed ones
 * (skipped). The rest wait for producers; the fold's `producersLeft` says
 * when they become ready, as in a live run.
 */
export function resumePoints(plan: Plan): ResumePoints {
  const out: ResumePoints = { ready: [], doomed: [] };
  for (const node of plan.nodes.values()) {
    if (node.status !== "pending") continue;
    if (isReady(node)) {
      out.ready.push(node);
      continue;
    }
    const producers = plan.producers.get(node.id);
    const dead = producers === undefined ? undefined : deadProducer(plan, producers);
    if (dead) out.doomed.push({ node, producer: dead });
  }
  return out;
}
