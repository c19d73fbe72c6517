/**
 * Ghosts: speculative nodes for the renderer (SPEC section 6). A branch a
 * whitelist allows but nobody took yet, or the remaining spawn budget of a
 * LimitedSpawns. Pure: computed from the plan, so a replayed plan shows the
 * same ghosts as the live one.
 */
import { FINISHED } from "../events/types.ts";
import type { Plan } from "../plan/plan.ts";

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

/**
 * Every ghost of the plan now, in promise declaration order. A ghost goes when
 * its branch is taken (the owner has a child of that definition), when the
 * budget reaches 0, or when its owner finished.
 */
export function computeGhosts(plan: Plan): Ghost[] {
  const out: Ghost[] = [];
  const seen = new Set<string>();
  const add = (g: Ghost) => {
    if (seen.has(g.id)) return;
    seen.add(g.id);
    out.push(g);
  };
  for (const p of plan.promises) {
    const owner = plan.nodes.get(p.owner);
    if (!owner || FINISHED.has(owner.status)) continue;
    const spec = p.spec;
    switch (spec.kind) {
      case "OnlySpecificNodesAllowed":
        for (const t of spec.tasks)
          if (!owner.childCounts.get(t))
            add({ id: `${owner.id}/?${t}`, kind: "branch", owner: owner.id, task: t, left: null, label: t, pid: p.pid });
        break;
      case "OnlySpecificEdgesAllowed":
        for (const [a, b] of spec.edges)
          if (a === owner.task && !owner.childCounts.get(b))
            add({ id: `${owner.id}/?${b}`, kind: "branch", owner: owner.id, task: b, left: null, label: b, pid: p.pid });
        break;
      case "LimitedSpawns": {
        const left = spec.limit - (owner.childCounts.get(spec.task) ?? 0);
        if (left > 0)
          add({
            id: `${owner.id}/?${spec.task}$budget`,
            kind: "budget",
            owner: owner.id,
            task: spec.task,
            left,
            label: `${spec.task} (${left} left)`,
            pid: p.pid,
          });
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
