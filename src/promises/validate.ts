/**
 * Checks a plan diff against every promise in scope before it is applied
 * (SPEC section 5). Pure: reads the plan, returns the first violation or null.
 *
 * The hot path asks the scope summary (see `scope-index.ts`) whether anything
 * in the diff could break a promise: a few map lookups per node and edge, no
 * allocation. Only when the answer is yes does it walk the promises in
 * declaration order to name the first one broken and its figures; the
 * summary is exact (smallest limit, intersection of whitelists), so that walk
 * always finds one.
 */
import { ErrorCodes, PromiseViolationError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import type { DiffEdge, DiffNode, PlanDiff } from "../events/types.ts";
import type { DeclaredPromise, Plan } from "../plan/plan.ts";
import type { Cap } from "../scheduler/scheduler.ts";
import type { ScopeSummary } from "./scope-index.ts";
import { indexOf, scopeOf } from "./scope-index.ts";

/** A broken promise and the figures that show how. */
export interface Violation {
  readonly promise: DeclaredPromise;
  /**
   * `limit`, `attempted`, `task`, `parent` for LimitedSpawns; the refused
   * `tasks` (and `ids`) for NoNewNodes / OnlySpecificNodesAllowed; the refused
   * `edges` as `[fromTask, toTask]` (and `kinds`, `ids`) for NoNewEdges /
   * OnlySpecificEdgesAllowed; whitelists also carry `allowed`.
   */
  readonly details: Record<string, Json>;
}

/**
 * Promises in scope of instance `id`: its own and its ancestors' with
 * `descendants` scope, and the global ones, in declaration order.
 */
export function promisesInScope(plan: Plan, id: string): DeclaredPromise[] {
  return [...scopeOf(plan, id).promises];
}

/** Children of `task` that `parent` would have after the diff (before: its current count). */
function childrenAfter(plan: Plan, diff: PlanDiff, parent: string, task: string): number {
  let n = plan.nodes.get(parent)?.childCounts.get(task) ?? 0;
  for (const m of diff.nodes) if (m.parent === parent && m.task === task) n++;
  return n;
}

/** Could the diff break a promise of `s`? Exact; allocation-free. */
function breaksSome(plan: Plan, s: ScopeSummary, diff: PlanDiff): boolean {
  const nodes = diff.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as DiffNode;
    if (s.noNewNodes && n.placeholder === null) return true;
    if (s.nodesAllowed !== null && !s.nodesAllowed.has(n.task)) return true;
    if (s.limits !== null) {
      const limit = s.limits.get(n.task);
      if (limit !== undefined) {
        // Children of this definition under this parent, counting this one and the diff's earlier ones.
        let count = (plan.nodes.get(n.parent)?.childCounts.get(n.task) ?? 0) + 1;
        for (let j = 0; j < i; j++) {
          const m = nodes[j] as DiffNode;
          if (m.parent === n.parent && m.task === n.task) count++;
        }
        if (count > limit) return true;
      }
    }
  }
  const edges = diff.edges;
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i] as DiffEdge;
    if (s.noNewEdges && !e.declared) return true;
    if (s.edgesAllowed !== null && s.edgesAllowed.get(e.fromTask)?.has(e.toTask) !== true) return true;
  }
  return false;
}

function edgeDetails(refused: readonly DiffEdge[]): Record<string, Json> {
  return {
    edges: refused.map((e) => [e.fromTask, e.toTask]),
    kinds: refused.map((e) => e.kind),
    ids: refused.map((e) => [e.from, e.to]),
  };
}

/** The figures of how `diff` breaks `p`, or null when it does not. */
function brokenBy(plan: Plan, p: DeclaredPromise, diff: PlanDiff): Record<string, Json> | null {
  const spec = p.spec;
  switch (spec.kind) {
    case "LimitedSpawns": {
      const parents = new Set<string>();
      for (const n of diff.nodes) if (n.task === spec.task) parents.add(n.parent);
      for (const parent of parents) {
        const attempted = childrenAfter(plan, diff, parent, spec.task);
        if (attempted > spec.limit) return { limit: spec.limit, attempted, task: spec.task, parent };
      }
      return null;
    }
    case "NoNewNodes": {
      const fresh = diff.nodes.filter((n) => n.placeholder === null);
      return fresh.length > 0 ? { tasks: fresh.map((n) => n.task), ids: fresh.map((n) => n.id) } : null;
    }
    case "NoNewEdges": {
      const fresh = diff.edges.filter((e) => !e.declared);
      return fresh.length > 0 ? edgeDetails(fresh) : null;
    }
    case "OnlySpecificNodesAllowed": {
      const refused = diff.nodes.filter((n) => !spec.tasks.includes(n.task));
      return refused.length > 0
        ? { tasks: refused.map((n) => n.task), ids: refused.map((n) => n.id), allowed: [...spec.tasks] }
        : null;
    }
    case "OnlySpecificEdgesAllowed": {
      const refused = diff.edges.filter((e) => !spec.edges.some(([a, b]) => a === e.fromTask && b === e.toTask));
      return refused.length > 0 ? { ...edgeDetails(refused), allowed: spec.edges.map(([a, b]) => [a, b]) } : null;
    }
    case "MaxParallelism":
      return null;
    default: {
      const never: never = spec;
      return never;
    }
  }
}

/**
 * The first promise in scope of `diff.by` (in declaration order) that the
 * diff breaks, with its figures; null when the diff keeps every promise.
 *
 * Scope: promises of `diff.by` and of its ancestors (scope `descendants`) and
 * every global promise. New nodes that fill a declared placeholder are not
 * new for `NoNewNodes`; edges declared in the preview are not new for
 * `NoNewEdges`. Edge whitelists apply to lineage and data edges alike, by
 * definition names.
 */
export function validateDiff(plan: Plan, diff: PlanDiff): Violation | null {
  const s = scopeOf(plan, diff.by);
  if (!s.checksDiffs || !breaksSome(plan, s, diff)) return null;
  for (const p of s.promises) {
    const details = brokenBy(plan, p, diff);
    if (details) return { promise: p, details };
  }
  return null;
}

const NO_CAPS: readonly Cap[] = [];

/**
 * Label caps (from `MaxParallelism` promises in scope) that apply to instance
 * `id`, one per promise, in declaration order so every caller takes them in
 * the same order. An instance with several capped labels gets every cap of
 * every label (a promise capping a label it carries twice counts once).
 * The array is shared: do not change it.
 */
export function capsFor(plan: Plan, id: string): readonly Cap[] {
  if (plan.promises.length === 0) return NO_CAPS;
  const node = plan.nodes.get(id);
  if (!node || node.labels.length === 0) return NO_CAPS;
  // An instance that owns no promise has its parent's scope: no index entry per leaf.
  const s = node.parent !== null && !plan.promisesByOwner.has(id) ? scopeOf(plan, node.parent) : scopeOf(plan, id);
  if (s.caps === null) return NO_CAPS;
  if (node.labels.length === 1) return s.caps.get(node.labels[0] as string) ?? NO_CAPS;
  // Per scope summary and label set, kept in the plan's index (summaries never change, so neither do these).
  const multiLabelCaps = indexOf(plan).multiLabelCaps;
  let cache = multiLabelCaps.get(s);
  if (!cache) {
    cache = new Map();
    multiLabelCaps.set(s, cache);
  }
  const key = node.labels.join("\u0000");
  let caps = cache.get(key);
  if (!caps) {
    const out: Cap[] = [];
    for (const label of node.labels) {
      const list = s.caps.get(label);
      if (list) for (const cap of list) if (!out.some((c) => c.key === cap.key)) out.push(cap);
    }
    caps = out.length === 0 ? NO_CAPS : out.sort((a, b) => Number(a.key) - Number(b.key));
    cache.set(key, caps);
  }
  return caps;
}

/** The error a broken promise gives the task `by` that spawned `task` (thrown in it under `reject`, the run's error under `halt`). */
export function violationError(violation: Violation, by: string, task: string): PromiseViolationError {
  const { promise: p, details } = violation;
  return new PromiseViolationError(
    ErrorCodes.PROMISE_VIOLATION,
    `${by} broke ${p.spec.kind} (declared by ${p.owner}) by spawning ${task}: ${JSON.stringify(details)}`,
    { promise: p.spec.kind, owner: p.owner, by, ...details },
  );
}
