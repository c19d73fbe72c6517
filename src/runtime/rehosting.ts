/**
 * Attempts that run again after their worker died and they were not the
 * culprit (who is, is decided by `worker/crash-verdict.ts`). What the lost
 * execution had going is dropped (its waits, their time limits, the errors
 * kept for it), it gives its slot back and is queued; when it takes a slot
 * again the same attempt runs from the start (`task.rehosted`): its spawns
 * re-attach to the children it made before, its waits are asked again.
 */
import { resolveInputs } from "../plan/outputs.ts";
import type { LiveTask } from "./attempts.ts";
import type { Rehosting } from "./executor.ts";
import type { RunParts } from "./run-parts.ts";

/** Drops what the lost execution of `live` had going and queues it to run again. */
export function rehost(run: RunParts, live: LiveTask, why: Rehosting): void {
  const id = live.node.id;
  // Nothing will read the lost execution's waits; the replay waits anew (its wait ids start again at 1).
  run.waits.close(id);
  if (live.timed !== null) for (const r of live.timed) run.waits.disarm(r);
  live.timed = null;
  live.answered = null;
  live.errors = null; // refused spawns are refused again when the replay repeats them
  live.rehost = why;
  if (live.holdsSlot) {
    live.holdsSlot = false;
    run.scheduler.release(id);
  }
  if (!live.resumeQueued) {
    live.resumeQueued = true;
    const node = live.node;
    run.scheduler.push({ id, priority: node.priority, order: node.order, resume: true });
  }
}

/** Runs the re-hosted attempt `live` again from the start (it holds a slot again). */
export function replay(run: RunParts, live: LiveTask): void {
  const node = live.node;
  const why = live.rehost as Rehosting;
  live.rehost = null;
  live.replays++;
  run.log.commit(
    "task.rehosted",
    { id: node.id, attempt: live.attempt, worker: why.worker, reason: why.reason, isolated: why.isolated },
    node,
  );
  run.options.executor.run({
    id: node.id,
    attempt: live.attempt,
    runId: run.options.runId,
    task: node.task,
    inputs: resolveInputs(run.plan, node),
  });
}
