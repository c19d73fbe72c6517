/**
 * The end of a run (SPEC section 3): it ends when no instance is unfinished;
 * it is deadlocked when instances remain but nothing can move them: nothing
 * runs or is queued, no retry is pending, and no wait's time limit can still
 * fire. Pure functions over the plan and the run loop's activity figures.
 */
import { ErrorCodes, TaskFailedError, serializeError } from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import type { TaskStatus } from "../events/types.ts";
import { isFinished } from "../events/types.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { isAvailable } from "./readiness.ts";

/** What may still move a run that has unfinished instances. */
export interface Activity {
  /** Instances holding a slot. */
  readonly running: number;
  /** Entries waiting for a slot or a cap place. */
  readonly queued: number;
  /** Retries whose delay has not passed. */
  readonly retries: number;
  /** Waits whose time limit is armed. */
  readonly armedWaits: number;
}

/** One instance of a deadlock and what it waits on. */
export interface StuckInstance {
  readonly id: string;
  readonly status: TaskStatus;
  readonly waitingOn: string[];
}

/** Instances not yet succeeded, failed, skipped or cancelled. */
export function unfinishedCount(plan: Plan): number {
  const c = plan.counts;
  return c.pending + c.running + c.waiting;
}

/** True when the run has unfinished instances and nothing in `activity` can move them. */
export function isDeadlocked(plan: Plan, activity: Activity): boolean {
  return (
    unfinishedCount(plan) > 0 &&
    activity.running === 0 &&
    activity.queued === 0 &&
    activity.retries === 0 &&
    activity.armedWaits === 0
  );
}

/** The status a run ends with once nothing is unfinished: the root's success or not. */
export function endStatus(plan: Plan): "succeeded" | "failed" {
  const root = plan.root !== null ? plan.nodes.get(plan.root) : undefined;
  return root?.status === "succeeded" ? "succeeded" : "failed";
}

/** Every unfinished instance, in creation order, with what it waits on: the ids of its wait, or its producers without output. */
export function stuckInstances(plan: Plan): StuckInstance[] {
  const out: StuckInstance[] = [];
  for (const n of plan.nodes.values()) {
    if (isFinished(n.status)) continue;
    const waitingOn =
      n.status === "waiting"
        ? [...(n.waitingOn ?? [])]
        : (plan.producers.get(n.id) ?? []).filter((p) => !isAvailable(plan.nodes.get(p) as PlanNode));
    out.push({ id: n.id, status: n.status, waitingOn });
  }
  return out;
}

/** The one-line message of a deadlock. */
export function deadlockMessage(instances: readonly StuckInstance[]): string {
  return `deadlock: ${instances.map((i) => `${i.id} (${i.status}) waits on ${i.waitingOn.join(", ") || "nothing"}`).join("; ")}`;
}

/** The error of a run that ended without its root succeeding: the root's own, or why it did not run; null without a root. */
export function rootFailure(plan: Plan): SerializedError | null {
  const root = plan.root !== null ? plan.nodes.get(plan.root) : undefined;
  if (!root) return null;
  if (root.error) return root.error;
  return serializeError(
    new TaskFailedError(
      ErrorCodes.TASK_FAILED,
      `root ${root.id} was ${root.status}${root.reason ? ` (${root.reason})` : ""}`,
    ),
  );
}
