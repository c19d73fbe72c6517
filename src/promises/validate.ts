/**
 * Checks a plan diff against every promise in scope before it is applied.
 * Pure: reads the plan, returns the first violation or null.
 */
import type { Json } from "../events/codec.ts";
import type { DiffEdge, DiffNode, PlanDiff } from "../events/types.ts";
import type { Cap } from "../scheduler/scheduler.ts";
import type { DeclaredPromise, Plan } from "../plan/plan.ts";

export interface Violation {
  readonly promise: DeclaredPromise;
  readonly details: Record<string, Json>;
}

/** Promises in scope of instance `id`: its own, its ancestors', and global ones, in declaration order. */
export function promisesInScope(plan: Plan, id: string): DeclaredPromise[] {
  const out: DeclaredPromise[] = [];
  let cur: string | null = id;
  while (cur !== null) {
    const own = plan.promisesByOwner.get(cur);
    if (own) for (const p of own) if (p.spec.scope === "descendants") out.push(p);
    cur = plan.nodes.get(cur)?.parent ?? null;
  }
  for (const p of plan.promises) if (p.spec.scope === "global") out.push(p);
  return out.sort((a, b) => a.pid - b.pid);
}

function checkOne(plan: Plan, p: DeclaredPromise, diff: PlanDiff, added: Map<string, number>): Record<string, Json> | null {
  const spec = p.spec;
  switch (spec.kind) {
    case "LimitedSpawns": {
      for (const n of diff.nodes) {
        if (n.task !== spec.task) continue;
        const key = `${n.parent}\u0000${n.task}`;
        const before = (plan.nodes.get(n.parent)?.childCounts.get(n.task) ?? 0) + (added.get(key) ?? 0);
        if (before + 1 > spec.limit) return { limit: spec.limit, attempted: before + 1, task: spec.task, parent: n.parent };
      }
      return null;
    }
    case "NoNewNodes": {
      const fresh = diff.nodes.filter((n: DiffNode) => n.placeholder === null);
      return fresh.length > 0 ? { tasks: fresh.map((n) => n.task), ids: fresh.map((n) => n.id) } : null;
    }
    case "NoNewEdges": {
      const fresh = diff.edges.filter((e: DiffEdge) => !e.declared);
      return fresh.length > 0 ? { edges: fresh.map((e) => [e.fromTask, e.toTask]), kinds: fresh.map((e) => e.kind) } : null;
    }
    case "OnlySpecificNodesAllowed": {
      const refused = diff.nodes.filter((n) => !spec.tasks.includes(n.task));
      return refused.length > 0 ? { tasks: refused.map((n) => n.task), allowed: [...spec.tasks] } : null;
    }
    case "OnlySpecificEdgesAllowed": {
      const refused = diff.edges.filter((e) => !spec.edges.some(([a, b]) => a === e.fromTask && b === e.toTask));
      return refused.length > 0
        ? { edges: refused.map((e) => [e.fromTask, e.toTask]), allowed: spec.edges.map(([a, b]) => [a, b]) }
        : null;
    }
    case "MaxParallelism":
      return null;
    default: {
      const never: never = spec;
      return never;
    }
  }
}

/** The first promise in scope of `diff.by` that the diff breaks, or null. */
export function validateDiff(plan: Plan, diff: PlanDiff): Violation | null {
  const promises = promisesInScope(plan, diff.by);
  if (promises.length === 0) return null;
  const added = new Map<string, number>();
  for (const p of promises) {
    const details = checkOne(plan, p, diff, added);
    if (details) return { promise: p, details };
  }
  return null;
}

/** Label caps (from MaxParallelism promises in scope) that apply to instance `id`. */
export function capsFor(plan: Plan, id: string): Cap[] {
  const node = plan.nodes.get(id);
  if (!node || node.labels.length === 0 || plan.promises.length === 0) return [];
  const caps: Cap[] = [];
  for (const p of promisesInScope(plan, id))
    if (p.spec.kind === "MaxParallelism" && node.labels.includes(p.spec.label)) caps.push({ key: String(p.pid), limit: p.spec.limit });
  return caps;
}
