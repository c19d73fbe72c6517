/**
 * A run that ends before its instances all finished. A deadlock (nothing
 * runs and nothing can start; `scheduler/deadlock.ts` tells, and who waits on
 * what) is logged as `run.deadlock`: the waiting instances fail with
 * `DEADLOCK` (their waits answered with it first) and the rest are skipped.
 * A halt (a promise broken under `halt`) or a cancel (the run's signal)
 * cancels every unfinished instance, and their `ctx.signal`s fire. The engine
 * then finishes the run with the error these return.
 */
import { DeadlockError, ErrorCodes, TaskCancelledError, serializeError } from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import { isFinished } from "../events/types.ts";
import type { PlanNode } from "../plan/plan.ts";
import { deadlockMessage, stuckInstances } from "../scheduler/deadlock.ts";
import type { Outcomes } from "./outcomes.ts";
import type { RunParts } from "./run-parts.ts";

/** Nothing runs and nothing can start: reports who waits on what and fails them; returns the run's error. */
export function failDeadlocked(run: RunParts, outcomes: Outcomes): SerializedError {
  const { plan, attempts, waits } = run;
  const executor = run.options.executor;
  const instances = stuckInstances(plan);
  const message = deadlockMessage(instances);
  run.log.commit("run.deadlock", { instances, message });
  const error = serializeError(
    new DeadlockError(ErrorCodes.DEADLOCK, message, { instances: instances.map((i) => i.id) }),
  );
  const stuck = instances.map((i) => plan.nodes.get(i.id) as PlanNode);
  for (const n of stuck) {
    if (n.status !== "waiting") continue;
    const live = attempts.get(n.id);
    if (live) {
      const ref = { id: n.id, attempt: live.attempt };
      for (const waitId of waits.close(n.id)) executor.resume(ref, waitId, { ok: false, error });
      executor.abort(ref, error);
    }
    outcomes.settle(n, "failed", undefined, undefined, error);
  }
  for (const n of stuck) if (!isFinished(n.status)) outcomes.settle(n, "skipped", "deadlock");
  return error;
}

/** Halt or cancel: nothing more starts or retries, every unfinished instance is cancelled with `reason`; returns the error their signals carry. */
export function cancelUnfinished(run: RunParts, outcomes: Outcomes, reason: string): SerializedError {
  run.scheduler.drain();
  run.attempts.cancelRetries();
  // The reason of every cancelled task's ctx.signal (what signal.throwIfAborted() throws).
  const cancelled = serializeError(new TaskCancelledError(ErrorCodes.TASK_CANCELLED, reason));
  for (const node of [...run.plan.nodes.values()]) {
    if (isFinished(node.status)) continue;
    const live = run.attempts.get(node.id);
    if (live) run.options.executor.abort({ id: node.id, attempt: live.attempt }, cancelled);
    outcomes.settle(node, "cancelled", reason);
  }
  return cancelled;
}
