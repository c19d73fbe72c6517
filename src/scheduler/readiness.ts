/**
 * Readiness (SPEC section 4): an instance is ready when the output of every
 * producer is available (it succeeded, or published it with `emit`); it can
 * never run when a producer finished without one. Pure functions over the
 * plan, plus {@link Blockers}, the incremental form the run loop uses so a
 * finished producer costs a look at its consumers, not a scan of the plan.
 * {@link readyIds} is the plain definition both are tested against.
 */
import { isFinished } from "../events/types.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";

/** True when `node`'s output is available to its consumers and to waits. */
export function isAvailable(node: PlanNode): boolean {
  return node.status === "succeeded" || node.emitted;
}

/** The first of `producers` that finished without an output (so its consumer can never run), or `undefined`. */
export function deadProducer(plan: Plan, producers: readonly string[]): PlanNode | undefined {
  for (let i = 0; i < producers.length; i++) {
    const producer = plan.nodes.get(producers[i] as string) as PlanNode;
    if (!isAvailable(producer) && isFinished(producer.status)) return producer;
  }
  return undefined;
}

/** How many of `producers` have no output yet. */
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

/**
 * How many producers without output each blocked instance still has. The run
 * loop calls {@link block} when it creates an instance that has some,
 * {@link unblock} for each consumer of a producer whose output became
 * available, and {@link forget} when an instance ends or a producer died.
 */
export class Blockers {
  readonly #left = new Map<string, number>();

  /** Instances still blocked. */
  get size(): number {
    return this.#left.size;
  }

  /** `id` waits for `count` (> 0) producers. */
  block(id: string, count: number): void {
    this.#left.set(id, count);
  }

  /** One producer of `id` became available: true when it was the last one `id` waited for. */
  unblock(id: string): boolean {
    const left = this.#left.get(id);
    if (left === undefined) return false;
    if (left <= 1) {
      this.#left.delete(id);
      return true;
    }
    this.#left.set(id, left - 1);
    return false;
  }

  /** Stops tracking `id`; true when it was blocked. */
  forget(id: string): boolean {
    return this.#left.size > 0 && this.#left.delete(id);
  }
}

/** Where the pending instances of a resumed plan stand (see {@link resumePoints}). */
export interface ResumePoints {
  /** Pending, every producer's output available: to be queued, in creation order. */
  readonly ready: PlanNode[];
  /** Pending, waiting for `count` producers that have no output yet. */
  readonly blocked: { readonly id: string; readonly count: number }[];
  /** Pending, but a producer finished without an output: to be skipped. */
  readonly doomed: { readonly node: PlanNode; readonly producer: PlanNode }[];
}

/**
 * The pending instances of a plan folded from a log, sorted into ready,
 * blocked and doomed, in creation order: what a resumed run schedules. The
 * incremental {@link Blockers} start from `blocked`.
 */
export function resumePoints(plan: Plan): ResumePoints {
  const out: ResumePoints = { ready: [], blocked: [], doomed: [] };
  for (const node of plan.nodes.values()) {
    if (node.status !== "pending") continue;
    const producers = plan.producers.get(node.id);
    if (producers === undefined) {
      out.ready.push(node);
      continue;
    }
    const dead = deadProducer(plan, producers);
    if (dead) out.doomed.push({ node, producer: dead });
    else {
      const count = blockingCount(plan, producers);
      if (count > 0) out.blocked.push({ id: node.id, count });
      else out.ready.push(node);
    }
  }
  return out;
}
