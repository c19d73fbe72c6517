/**
 * Whether a spawn may happen at all (`checkSpawn`), and the diff it proposes
 * (SPEC section 5): the new node with its lineage and data edges, each edge
 * marked `declared` when the definition's preview (`calls`/`edges`) foresaw
 * it. Pure: the engine builds it before it commits anything, and the promise
 * validator judges it.
 */
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { PlanDiff } from "../events/types.ts";
import type { AnyTask } from "../task/define.ts";
import type { TaskRegistry } from "../task/registry.ts";
import type { Plan, PlanNode } from "./plan.ts";

/** What a spawn asks for, as far as the diff is concerned. */
export interface SpawnShape {
  /** The new instance's id. */
  readonly id: string;
  /** Its definition's name. */
  readonly task: string;
  /** Ids of the instances its inputs take `From`, in order. */
  readonly producers: readonly string[];
  /** Its labels (the definition's and the spawn's, see {@link mergeLabels}). */
  readonly labels: readonly string[];
  /** The placeholder of `parent` it takes the place of, or null. */
  readonly placeholder: string | null;
}

/** A definition's labels plus a spawn's extra ones; the definition's own array when there are none (no copy per instance). */
export function mergeLabels(own: readonly string[], extra: readonly string[]): readonly string[] {
  return extra.length === 0 ? own : [...new Set([...own, ...extra])];
}

/** The diff of `parent` spawning `child`. Every producer must be an instance of `plan`. */
export function spawnDiff(plan: Plan, parent: PlanNode, child: SpawnShape): PlanDiff {
  const placeholder = child.placeholder;
  const edges: PlanDiff["edges"][number][] = [
    { from: parent.id, to: child.id, kind: "lineage", fromTask: parent.task, toTask: child.task, declared: placeholder !== null },
  ];
  const declaredEdges = plan.placeholderEdges.get(parent.id);
  for (const p of child.producers) {
    const producer = plan.nodes.get(p) as PlanNode;
    const declared =
      placeholder !== null &&
      producer.placeholder !== null &&
      declaredEdges !== undefined &&
      declaredEdges.some((e) => e.from === producer.placeholder && e.to === placeholder);
    edges.push({ from: p, to: child.id, kind: "data", fromTask: producer.task, toTask: child.task, declared });
  }
  return {
    by: parent.id,
    nodes: [{ id: child.id, task: child.task, parent: parent.id, labels: child.labels, placeholder }],
    edges,
  };
}

/** What a spawn asks for, as the run loop gets it from a running task. */
export interface SpawnAsk {
  readonly id: string;
  readonly task: string;
  readonly producers: readonly string[];
}

/**
 * Why `by` (attempt `attempt`) may not spawn `child` in `plan`: an error, or
 * `"repeat"` for a retried attempt (or a `replay`: the same attempt run again
 * after its worker died) spawning a child an earlier execution made (kept,
 * the spawn ignored), or the child's definition when it may.
 */
export function checkSpawn(plan: Plan, registry: TaskRegistry, by: string, attempt: number, child: SpawnAsk, replay = false): AnyTask | TrellisError | "repeat" {
  const existing = plan.nodes.get(child.id);
  if (existing) {
    if (existing.parent === by && existing.task === child.task && (attempt > 1 || replay)) return "repeat";
    return new TrellisError(ErrorCodes.INVALID_INPUT, `${by}: an instance ${child.id} already exists`, { id: child.id });
  }
  const def = registry.get(child.task);
  if (!def) {
    const message = `${by} spawned "${child.task}", which is not registered in the engine; define it with task() at the top level of a module the workflow imports`;
    return new TrellisError(ErrorCodes.UNKNOWN_TASK, message, { id: by, task: child.task });
  }
  for (let i = 0; i < child.producers.length; i++) {
    const p = child.producers[i] as string;
    if (plan.nodes.has(p)) continue;
    const message = `${by}: From(${p}) in the inputs of ${child.id} refers to no instance of this run`;
    return new TrellisError(ErrorCodes.UNKNOWN_INSTANCE, message, { id: child.id, producer: p });
  }
  return def;
}
