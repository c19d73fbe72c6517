/**
 * What a log says a task produced must be what the plan says it produced:
 * for every `task.succeeded` (and `task.cached`), its `output` equals the output the fold holds
 * for that node (for a task that emitted, the emitted value consumers and
 * waiters already saw), and `run.finished.output` is the root's.
 */
import { isDeepStrictEqual } from "node:util";
import type { TrellisEvent } from "trellis";
import { applyEvent, createPlan } from "trellis";

/** Disagreements between the outputs in `events` and the fold of them (empty when they agree). */
export function outputProblems(events: readonly TrellisEvent[], where = "log"): string[] {
  const problems: string[] = [];
  const plan = createPlan();
  for (const event of events) {
    if (event.type === "task.succeeded") {
      const node = plan.nodes.get(event.data.id);
      // An emitted task's output is fixed by its emit: the fold holds it before the task returns.
      if (node?.emitted && !isDeepStrictEqual(event.data.output, node.output))
        problems.push(
          `${where}: seq ${event.seq}: task.succeeded of ${event.data.id} holds ${JSON.stringify(event.data.output)}, but it emitted ${JSON.stringify(node.output)}`,
        );
    }
    applyEvent(plan, event);
    if (event.type === "task.succeeded" || event.type === "task.cached") {
      const node = plan.nodes.get(event.data.id);
      if (node && !isDeepStrictEqual(event.data.output, node.output ?? null))
        problems.push(
          `${where}: seq ${event.seq}: ${event.type} of ${event.data.id} holds ${JSON.stringify(event.data.output)}, the fold gives ${JSON.stringify(node.output)}`,
        );
    }
    if (
      event.type === "run.finished" &&
      event.data.status === "succeeded" &&
      !isDeepStrictEqual(event.data.output, plan.output ?? null)
    )
      problems.push(
        `${where}: seq ${event.seq}: run.finished holds ${JSON.stringify(event.data.output)}, the fold gives the root ${JSON.stringify(plan.output)}`,
      );
  }
  return problems;
}
