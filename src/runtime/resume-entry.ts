/**
 * What a resumed run does before it goes on like a fresh one
 * (`Engine.resume`, once `resume.ts` has folded its log into the plan): it
 * commits `run.resumed`, whose fold makes the instances that were running or
 * waiting pending again (and with `retryFailed` the failed ones); it
 * completes the last creation the crash may have cut (its edges, its
 * preview); it records the successes of the dead engine's attempts that the
 * executor collected (remote workers outlive a coordinator: see
 * `collected.ts`); then it skips the pending instances whose producer died
 * and queues those whose producers are done (`resumePoints`). The root is
 * created when the log ended before it was.
 */
import type { Json } from "../events/codec.ts";
import { inputsHash } from "../events/input-hash.ts";
import { missingCreationEdges } from "../plan/diff.ts";
import { outputOf } from "../plan/outputs.ts";
import type { PlanNode } from "../plan/plan.ts";
import { expandPreview } from "../preview/placeholders.ts";
import { resumePoints } from "../scheduler/readiness.ts";
import type { AnyTask } from "../task/define.ts";
import { trustedResult } from "./collected.ts";
import type { Creation } from "./creation.ts";
import type { ResumeFrom } from "./engine-types.ts";
import { loggedOptions } from "./engine-types.ts";
import type { CollectedResult } from "./executor.ts";
import type { Outcomes } from "./outcomes.ts";
import type { RunParts } from "./run-parts.ts";

/** Commits `run.resumed`: the log continues after its last complete event, with this run's options. */
export function commitResumed(run: RunParts, from: ResumeFrom): void {
  run.log.commit("run.resumed", {
    fromSeq: run.plan.seq,
    droppedBytes: from.droppedBytes,
    retryFailed: from.retryFailed,
    options: loggedOptions(run.options),
  });
}

/** Creates the root (encoded `rootInputs`, from `run.started`) or completes the last creation. */
export function restoreCreation(run: RunParts, creation: Creation, root: AnyTask, rootInputs: Json): void {
  if (!run.plan.nodes.has(root.name))
    creation.create(null, root.name, root, rootInputs, [], root.labels, null, null, inputsHash(rootInputs));
  else completeLastCreation(run);
}

/**
 * Records what the dead engine's attempts (`inFlight`, taken before
 * `run.resumed`) finished meanwhile, as the executor collected it: where each
 * ran, and the success of each the log can hold (`trustedResult`); the rest
 * run again.
 */
export function recordCollected(
  run: RunParts,
  outcomes: Outcomes,
  inFlight: ReadonlyMap<string, number>,
  found: readonly CollectedResult[],
): void {
  for (const r of found) {
    if (!trustedResult(run.plan, inFlight, r)) continue;
    const node = run.plan.nodes.get(r.id) as PlanNode;
    if (r.worker !== null) run.log.commit("task.placed", { id: r.id, attempt: r.attempt, worker: r.worker });
    if (r.outcome.ok) outcomes.settle(node, "succeeded", undefined, node.emitted ? outputOf(node) : r.outcome.output);
  }
}

/** Skips the pending instances whose producer died, and queues those whose producers are done. */
export function queueResumePoints(run: RunParts, outcomes: Outcomes): void {
  const { ready, doomed } = resumePoints(run.plan);
  for (const d of doomed) outcomes.settle(d.node, "skipped", `producer ${d.producer.id} ${d.producer.status}`);
  for (const node of ready) run.scheduler.push(node);
}

/** Commits what the crash cut off after the last `task.created`: its edges and its preview (see `missingCreationEdges`). */
function completeLastCreation(run: RunParts): void {
  const plan = run.plan;
  let last: PlanNode | undefined;
  for (const node of plan.nodes.values()) last = node;
  if (last === undefined) return;
  for (const edge of missingCreationEdges(plan, last)) run.log.commit("edge.created", edge);
  const def = run.options.registry.get(last.task);
  if (def && def.calls.length > 0 && !plan.placeholderChildren.has(last.id)) {
    const preview = expandPreview(def, last.id);
    run.log.commit("preview.materialized", {
      owner: last.id,
      placeholders: preview.placeholders,
      edges: preview.edges,
    });
  }
}
