/**
 * Whether a spawn may happen at all (`checkSpawn`), and the diff it proposes
 * (SPEC section 5): the new node with its lineage and data edges, each edge
 * marked `declared` when the definition's preview (`calls`/`edges`) foresaw
 * it. Pure: the engine builds it before it commits anything, and the promise
 * validator judges it.
 */
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
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
    {
      from: parent.id,
      to: child.id,
      kind: "lineage",
      fromTask: parent.task,
      toTask: child.task,
      declared: placeholder !== null,
    },
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
  /** Fingerprint of the encoded inputs (`events/input-hash.ts`). */
  readonly inputsHash: string;
}

/**
 * Why `by` (attempt `attempt`) may not spawn `child` in `plan`: an error, or
 * `"repeat"` for a re-executed attempt (a retry, a `replay` of the same
 * attempt after its worker died, or a run resumed after a crash) spawning a
 * child an earlier execution made (kept, the spawn ignored), or the child's
 * definition when it may. A repeat must ask for what the log holds, the same
 * definition with the same inputs: anything else is `NON_DETERMINISTIC` (see
 * {@link nonDeterministic}).
 */
export function checkSpawn(
  plan: Plan,
  registry: TaskRegistry,
  by: string,
  attempt: number,
  child: SpawnAsk,
  replay = false,
): AnyTask | TrellisError | "repeat" {
  const existing = plan.nodes.get(child.id);
  if (existing) {
    if (existing.parent !== by || (attempt <= 1 && !replay))
      return new TrellisError(ErrorCodes.INVALID_INPUT, `${by}: an instance ${child.id} already exists`, {
        id: child.id,
      });
    if (existing.task !== child.task || (existing.inputsHash !== undefined && existing.inputsHash !== child.inputsHash))
      return nonDeterministic(existing, by, attempt, child);
    return "repeat";
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

/**
 * The error of a re-executed parent whose spawn at an existing id differs
 * from what the log records there (Temporal's non-determinism error): the
 * earlier child's recorded output would otherwise answer a different
 * question, silently.
 */
export function nonDeterministic(existing: PlanNode, by: string, attempt: number, child: SpawnAsk): TrellisError {
  const logged = `${existing.task} with inputs ${existing.inputsHash ?? "(no hash recorded)"}`;
  const now = `${child.task} with inputs ${child.inputsHash}`;
  const what = existing.task !== child.task ? "a different definition" : "the same definition with different inputs";
  return new TrellisError(
    ErrorCodes.NON_DETERMINISTIC,
    `${by} (attempt ${attempt}) spawned ${now} at ${child.id}, but the log records ${logged} there: ${what}. ` +
      "A task that runs again (a retry, or a resumed run) must spawn the same children, with the same definitions and inputs; " +
      "compute what varies (time, randomness, outside state) in a child task, whose recorded output is the same every time",
    {
      id: child.id,
      by,
      logged: { task: existing.task, inputsHash: existing.inputsHash ?? null },
      now: { task: child.task, inputsHash: child.inputsHash },
    },
  );
}

/** Ids of the producers an instance's encoded inputs name by `From` (`{"$t":"from","id":…}` tags), in first-seen order, without repeats. */
export function encodedProducers(inputs: Json): string[] {
  const out: string[] = [];
  const walk = (v: Json): void => {
    if (v === null || typeof v !== "object") return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (v["$t"] === "from" && typeof v["id"] === "string") {
      if (!out.includes(v["id"])) out.push(v["id"]);
      return;
    }
    for (const k of Object.keys(v)) walk(v[k] as Json);
  };
  walk(inputs);
  return out;
}

/**
 * The edges of `node` its creation commits (lineage, then data) that
 * `plan` lacks: a log cut off by a crash may end between an instance's
 * `task.created` and its `edge.created` events. Only the last instance
 * created can be in that state; a resumed run commits what is missing.
 */
export function missingCreationEdges(
  plan: Plan,
  node: PlanNode,
): { from: string; to: string; kind: "lineage" | "data" }[] {
  const missing: { from: string; to: string; kind: "lineage" | "data" }[] = [];
  const id = node.id;
  if (node.parent !== null && !plan.edges.some((e) => e.kind === "lineage" && e.to === id))
    missing.push({ from: node.parent, to: id, kind: "lineage" });
  const have = plan.producers.get(id) ?? [];
  for (const p of encodedProducers(node.inputs)) if (!have.includes(p)) missing.push({ from: p, to: id, kind: "data" });
  return missing;
}
