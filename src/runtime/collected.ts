/**
 * Which results of a dead engine's attempts a resumed run records (pure).
 * With the `bullmq` executor, remote workers outlive a killed coordinator:
 * the attempts they held go on, and those that finish leave their result in
 * Redis. `trellis resume` collects them (`Executor.collect`) and records a
 * success as the attempt's own, instead of running the task again, when the
 * log can hold it as it is: the attempt is the one the log shows running or
 * waiting, and every call it made that changes the plan (a spawn, an emit, a
 * promise) is in the log already. Anything else runs again as a new attempt,
 * as after any crash (at least once).
 */
import { canonicalJson } from "../events/input-hash.ts";
import type { Json } from "../events/codec.ts";
import type { Plan } from "../plan/plan.ts";
import type { CollectedResult } from "./executor.ts";

/** The attempts the log shows running or waiting (`id` → attempt): the ones a dead engine left in flight. */
export function attemptsInFlight(plan: Plan): Map<string, number> {
  const live = new Map<string, number>();
  for (const node of plan.nodes.values())
    if (node.status === "running" || node.status === "waiting") live.set(node.id, node.attempt);
  return live;
}

/**
 * True when `result` may be recorded as the success of its attempt: it
 * succeeded, it is the attempt `inFlight` (taken before the resume) names for
 * its id, the instance is pending again (the fold of `run.resumed`) at that
 * attempt, and the log holds each child it spawned, its emit and its promises.
 */
export function trustedResult(plan: Plan, inFlight: ReadonlyMap<string, number>, result: CollectedResult): boolean {
  if (!result.outcome.ok || inFlight.get(result.id) !== result.attempt) return false;
  const node = plan.nodes.get(result.id);
  if (node === undefined || node.status !== "pending" || node.attempt !== result.attempt) return false;
  if (result.spawned.some((id) => !plan.nodes.has(id))) return false;
  if (result.emitted && !node.emitted) return false;
  if (result.promised.length === 0) return true;
  const declared = new Set(
    (plan.promisesByOwner.get(result.id) ?? [])
      .filter((p) => p.source === "context")
      .map((p) => canonicalJson(p.spec as unknown as Json)),
  );
  return result.promised.every((spec) => declared.has(canonicalJson(spec as unknown as Json)));
}
