/**
 * The declared shape of a definition before anything runs (`trellis
 * preview`): the root instance-to-be, its placeholders expanded recursively
 * (placeholders of placeholders), and the ghosts of the promises declared on
 * the definitions (`promises: [...]`, `static`). Built by folding synthetic
 * events, so the same DOT builder draws it. Pure.
 */
import type { EventDataMap, EventType, TrellisEvent } from "../events/types.ts";
import { EVENT_VERSION } from "../events/types.ts";
import { applyEvent } from "../plan/fold.ts";
import type { Plan } from "../plan/plan.ts";
import { createPlan } from "../plan/plan.ts";
import { declaredPromises } from "../promises/declared.ts";
import type { Ghost } from "../promises/ghosts.ts";
import { branchGhost, budgetGhost, computeGhosts } from "../promises/ghosts.ts";
import type { AnyTask } from "../task/define.ts";
import { expandPreview } from "./placeholders.ts";

/** Run id of preview plans. */
export const PREVIEW_RUN_ID = "preview";

/** What {@link previewPlan} returns. */
export interface PlanPreview {
  /** The plan: one pending root instance and its open placeholders. */
  readonly plan: Plan;
  /** Ghosts of the root's promises and of every placeholder's definition. */
  readonly ghosts: Ghost[];
  /** The synthetic events folded into `plan`. */
  readonly events: TrellisEvent[];
}

/** Every definition reachable from `def` through `calls`, by name. */
function definitionsByName(def: AnyTask): Map<string, AnyTask> {
  const out = new Map<string, AnyTask>();
  const walk = (d: AnyTask) => {
    if (out.has(d.name)) return;
    out.set(d.name, d);
    for (const c of d.calls) walk(c);
  };
  walk(def);
  return out;
}

/**
 * Ghosts a placeholder would show once its instance starts: one per allowed
 * child definition, and the full budget of each LimitedSpawns (nothing is
 * spawned yet, so nothing is counted down).
 */
function placeholderGhosts(id: string, def: AnyTask, pid: () => number): Ghost[] {
  const out: Ghost[] = [];
  const seen = new Set<string>();
  const add = (g: Ghost) => {
    if (seen.has(g.id)) return;
    seen.add(g.id);
    out.push(g);
  };
  for (const { spec } of declaredPromises(def)) {
    const p = pid();
    switch (spec.kind) {
      case "OnlySpecificNodesAllowed":
        for (const t of spec.tasks) add(branchGhost(id, t, p));
        break;
      case "OnlySpecificEdgesAllowed":
        for (const [a, b] of spec.edges) if (a === def.name) add(branchGhost(id, b, p));
        break;
      case "LimitedSpawns":
        if (spec.limit > 0) add(budgetGhost(id, spec.task, spec.limit, p));
        break;
      case "MaxParallelism":
      case "NoNewNodes":
      case "NoNewEdges":
        break;
      default: {
        const never: never = spec;
        void never;
      }
    }
  }
  return out;
}

/**
 * The whole declared shape of `def`, nothing run.
 *
 * @example
 * const { plan, ghosts } = previewPlan(squareBatch);
 * writeFileSync("preview.dot", buildDot(plan, { ghosts, title: "preview of square_batch" }));
 */
export function previewPlan(def: AnyTask): PlanPreview {
  const events: TrellisEvent[] = [];
  const plan = createPlan(PREVIEW_RUN_ID);
  const emit = <K extends EventType>(type: K, data: EventDataMap[K]) => {
    // A fixed timestamp: a preview must not depend on the clock.
    const event = {
      v: EVENT_VERSION,
      seq: events.length + 1,
      ts: "1970-01-01T00:00:00.000Z",
      runId: PREVIEW_RUN_ID,
      type,
      data,
    } as unknown as TrellisEvent;
    events.push(event);
    applyEvent(plan, event);
  };
  const rootId = def.name;
  emit("run.started", {
    root: rootId,
    task: def.name,
    inputs: null,
    options: { executor: "preview", workers: 0, onViolation: "halt" },
  });
  emit("task.created", {
    id: rootId,
    task: def.name,
    parent: null,
    labels: [...def.labels],
    inputs: null,
    placeholder: null,
    priority: def.priority,
  });
  const preview = expandPreview(def, rootId);
  if (preview.placeholders.length > 0)
    emit("preview.materialized", { owner: rootId, placeholders: preview.placeholders, edges: preview.edges });
  let pid = 0;
  for (const { spec, source } of declaredPromises(def))
    emit("promise.declared", { pid: ++pid, owner: rootId, source, promise: spec });

  const ghosts = computeGhosts(plan);
  const defs = definitionsByName(def);
  for (const p of preview.placeholders) {
    const d = defs.get(p.task);
    if (d) ghosts.push(...placeholderGhosts(p.id, d, () => ++pid));
  }
  return { plan, ghosts, events };
}
