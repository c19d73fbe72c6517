/**
 * Ghosts: speculative nodes for the renderer (SPEC section 6). A branch a
 * whitelist allows but nobody took yet, or the remaining spawn budget of a
 * LimitedSpawns. Pure: computed from the plan, so a replayed plan shows the
 * same ghosts as the live one.
 */
import { isFinished } from "../events/types.ts";
import type { DeclaredPromise, Plan, PlanNode } from "../plan/plan.ts";
import type { ScopeSummary } from "./scope-index.ts";
import { scopeOf } from "./scope-index.ts";

export interface Ghost {
  /** Deterministic id, `<owner>/?<task>` (branch) or `<owner>/?<task>$budget` (budget). */
  readonly id: string;
  readonly kind: "branch" | "budget";
  /** The instance that declared the promise; the ghost hangs under it. */
  readonly owner: string;
  /** The definition the ghost stands for. */
  readonly task: string;
  /** Spawns left (budget ghosts only). */
  readonly left: number | null;
  /** Text to draw: `even` or `work_unit (1 left)`. */
  readonly label: string;
  /** The promise it comes from. */
  readonly pid: number;
}

/** The branch ghost of `task` under `owner`: ids and labels are made here only, so previews and runs agree. */
export function branchGhost(owner: string, task: string, pid: number): Ghost {
  return { id: `${owner}/?${task}`, kind: "branch", owner, task, left: null, label: task, pid };
}

/** The budget ghost "task (n left)" under `owner`. */
export function budgetGhost(owner: string, task: string, left: number, pid: number): Ghost {
  return { id: budgetGhostId(owner, task), kind: "budget", owner, task, left, label: `${task} (${left} left)`, pid };
}

function budgetGhostId(owner: string, task: string): string {
  return `${owner}/?${task}$budget`;
}

/** Could `owner` still spawn a child of `task`, as far as the promises in its scope say? */
function mayStillSpawn(s: ScopeSummary, owner: PlanNode, task: string): boolean {
  if (s.nodesAllowed !== null && !s.nodesAllowed.has(task)) return false;
  if (s.edgesAllowed !== null && s.edgesAllowed.get(owner.task)?.has(task) !== true) return false;
  const limit = s.limits?.get(task);
  return limit === undefined || (owner.childCounts.get(task) ?? 0) < limit;
}

/**
 * Every ghost of the plan now, in promise declaration order, at most one per
 * id.
 *
 * - `OnlySpecificNodesAllowed([...])` and `OnlySpecificEdgesAllowed` (pairs
 *   whose source is the owner's own definition) give a branch ghost per
 *   allowed definition the owner has no child of yet.
 * - `LimitedSpawns(def, k)` gives a budget ghost "def (n left)" under its
 *   owner; with several limits on one definition in the owner's scope, the
 *   smallest remainder counts. It goes at 0.
 * - A ghost is not shown for a definition the owner may no longer spawn
 *   (another promise in its scope refuses it, or its budget is spent), and
 *   every ghost of an owner goes when the owner finishes.
 */
export function computeGhosts(plan: Plan): Ghost[] {
  const out: Ghost[] = [];
  const seen = new Set<string>();
  for (const p of liveSources(plan)) {
    const owner = plan.nodes.get(p.owner) as PlanNode;
    const s = scopeOf(plan, owner.id);
    const branch = (task: string) => {
      const ghost = branchGhost(owner.id, task, p.pid);
      if (seen.has(ghost.id) || owner.childCounts.get(task) || !mayStillSpawn(s, owner, task)) return;
      seen.add(ghost.id);
      out.push(ghost);
    };
    const spec = p.spec;
    switch (spec.kind) {
      case "OnlySpecificNodesAllowed":
        for (const t of spec.tasks) branch(t);
        break;
      case "OnlySpecificEdgesAllowed":
        for (const [a, b] of spec.edges) if (a === owner.task) branch(b);
        break;
      case "LimitedSpawns": {
        const id = budgetGhostId(owner.id, spec.task);
        if (seen.has(id)) break;
        seen.add(id);
        if (!mayStillSpawn(s, owner, spec.task)) break;
        // The smallest limit on this definition in the owner's scope is the budget that counts.
        const limit = s.limits?.get(spec.task) ?? spec.limit;
        const left = limit - (owner.childCounts.get(spec.task) ?? 0);
        out.push(budgetGhost(owner.id, spec.task, left, p.pid));
        break;
      }
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

interface Sources {
  seen: number;
  readonly live: DeclaredPromise[];
}

const GHOST_SOURCES = Symbol("ghost sources");
const newSources = (): Sources => ({ seen: 0, live: [] });

/**
 * Ghost-giving promises whose owner has not finished, in declaration order.
 * Kept with the plan (`plan.derived`) and compacted on each call: an owner that finished never
 * runs again, so a run with many finished owners does not rescan them.
 */
function liveSources(plan: Plan): readonly DeclaredPromise[] {
  const src = plan.derived.get(GHOST_SOURCES, newSources);
  for (let i = src.seen; i < plan.promises.length; i++) {
    const p = plan.promises[i] as DeclaredPromise;
    const k = p.spec.kind;
    if (k === "LimitedSpawns" || k === "OnlySpecificNodesAllowed" || k === "OnlySpecificEdgesAllowed") src.live.push(p);
  }
  src.seen = plan.promises.length;
  let kept = 0;
  for (const p of src.live) {
    const owner = plan.nodes.get(p.owner);
    if (owner && !isFinished(owner.status)) src.live[kept++] = p;
  }
  src.live.length = kept;
  return src.live;
}
