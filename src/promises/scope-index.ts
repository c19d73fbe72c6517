/**
 * The promise index: for each instance, a summary of every promise in its
 * scope (its own, its ancestors' with `descendants` scope, and the global
 * ones), shaped so that checking a diff is a few map lookups and never a scan
 * of the plan or of the promise list.
 *
 * The plan is only changed by the event fold (`plan/fold.ts`), which knows
 * nothing of this index; so the index lives beside the plan, in the plan's
 * `derived` slots, and catches up lazily. Promises are only ever appended to `plan.promises`, so
 * its length is a version stamp: a summary built at that length is valid
 * until another promise is declared. After that, a summary is rebuilt only if
 * its owner or an ancestor gained a promise; otherwise it is re-stamped, so a
 * promise declared in one subtree costs the others one walk up their chain.
 */
import type { DeclaredPromise, Plan } from "../plan/plan.ts";
import type { Cap } from "../scheduler/scheduler.ts";

/** Every promise in the scope of one instance, pre-combined for the hot path. */
export interface ScopeSummary {
  /** The promises in scope, in declaration (pid) order. */
  readonly promises: readonly DeclaredPromise[];
  /** True when some promise in scope can refuse a diff (anything but MaxParallelism). */
  readonly checksDiffs: boolean;
  /** Smallest `LimitedSpawns` limit per definition name, or null when none is in scope. */
  readonly limits: ReadonlyMap<string, number> | null;
  readonly noNewNodes: boolean;
  readonly noNewEdges: boolean;
  /** Intersection of every `OnlySpecificNodesAllowed` in scope, or null when none. */
  readonly nodesAllowed: ReadonlySet<string> | null;
  /** Intersection of every `OnlySpecificEdgesAllowed` in scope (from → tos), or null when none. */
  readonly edgesAllowed: ReadonlyMap<string, ReadonlySet<string>> | null;
  /** `MaxParallelism` caps per label, in pid order, or null when none. */
  readonly caps: ReadonlyMap<string, readonly Cap[]> | null;
}

/** The summary of an empty scope (shared, never changed). */
export const EMPTY_SUMMARY: ScopeSummary = {
  promises: [],
  checksDiffs: false,
  limits: null,
  noNewNodes: false,
  noNewEdges: false,
  nodesAllowed: null,
  edgesAllowed: null,
  caps: null,
};

type Combined = Omit<ScopeSummary, "promises">;

/**
 * A summary built on its parent scope's. The list of promises in scope is
 * only needed to name a broken promise, so it is merged on first use rather
 * than copied at every level of every chain.
 */
class Summary implements ScopeSummary {
  readonly checksDiffs: boolean;
  readonly limits: ReadonlyMap<string, number> | null;
  readonly noNewNodes: boolean;
  readonly noNewEdges: boolean;
  readonly nodesAllowed: ReadonlySet<string> | null;
  readonly edgesAllowed: ReadonlyMap<string, ReadonlySet<string>> | null;
  readonly caps: ReadonlyMap<string, readonly Cap[]> | null;
  #promises: readonly DeclaredPromise[] | null = null;

  constructor(
    private readonly base: ScopeSummary,
    private readonly added: readonly DeclaredPromise[],
    c: Combined,
  ) {
    this.checksDiffs = c.checksDiffs;
    this.limits = c.limits;
    this.noNewNodes = c.noNewNodes;
    this.noNewEdges = c.noNewEdges;
    this.nodesAllowed = c.nodesAllowed;
    this.edgesAllowed = c.edgesAllowed;
    this.caps = c.caps;
  }

  get promises(): readonly DeclaredPromise[] {
    if (this.#promises !== null) return this.#promises;
    // Iterative, top-down: a deep chain of summaries must not recurse once per level.
    const pending: Summary[] = [this];
    for (let s = this.base; s instanceof Summary && s.#promises === null; s = s.base) pending.push(s);
    let merged: readonly DeclaredPromise[] = [];
    for (let i = pending.length - 1; i >= 0; i--) {
      const s = pending[i] as Summary;
      merged = s.#promises = mergeByPid(s.base.promises, s.added);
    }
    return merged; // pending[0] is this summary
  }
}

interface Entry {
  /** `plan.promises.length` when last confirmed valid. */
  stamp: number;
  /** The summary of the parent's scope (or the global one, for the root) it was built on. */
  base: ScopeSummary;
  /** How many promises the instance owned when built. */
  own: number;
  summary: ScopeSummary;
}

/** The promise index of one plan. */
export interface Index {
  readonly entries: Map<string, Entry>;
  global: { stamp: number; count: number; summary: ScopeSummary };
  /** Global-scope promises, in pid order; `seen` of `plan.promises` were looked at. */
  readonly globals: DeclaredPromise[];
  seen: number;
  /** The last entry found: a parent usually spawns its children one after another. */
  lastId: string;
  lastEntry: Entry | null;
  /** Caps of multi-label instances, per scope summary and label set (see `capsFor`). */
  readonly multiLabelCaps: WeakMap<ScopeSummary, Map<string, readonly Cap[]>>;
}

const SCOPE_INDEX = Symbol("promise scope index");

function newIndex(): Index {
  return {
    entries: new Map(),
    global: { stamp: 0, count: 0, summary: EMPTY_SUMMARY },
    globals: [],
    seen: 0,
    lastId: "",
    lastEntry: null,
    multiLabelCaps: new WeakMap(),
  };
}

/** The promise index of `plan`, kept with it. */
export function indexOf(plan: Plan): Index {
  return plan.derived.get(SCOPE_INDEX, newIndex);
}

function intersect<T>(a: ReadonlySet<T> | null, b: ReadonlySet<T>): Set<T> {
  if (a === null) return new Set(b);
  const out = new Set<T>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}

/**
 * Both lists in one, in pid order. Each is in pid order already (promises are
 * appended as declared), but they interleave: a global promise may be newer
 * than an owner's.
 */
function mergeByPid(a: readonly DeclaredPromise[], b: readonly DeclaredPromise[]): DeclaredPromise[] {
  const out: DeclaredPromise[] = new Array<DeclaredPromise>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as DeclaredPromise;
    const y = b[j] as DeclaredPromise;
    if (x.pid <= y.pid) {
      out[k++] = x;
      i++;
    } else {
      out[k++] = y;
      j++;
    }
  }
  while (i < a.length) out[k++] = a[i++] as DeclaredPromise;
  while (j < b.length) out[k++] = b[j++] as DeclaredPromise;
  return out;
}

/** A new summary: `base` plus `added` (in pid order). */
function extend(base: ScopeSummary, added: readonly DeclaredPromise[]): ScopeSummary {
  if (added.length === 0) return base;
  let limits: Map<string, number> | null = null;
  let noNewNodes = base.noNewNodes;
  let noNewEdges = base.noNewEdges;
  let nodesAllowed: ReadonlySet<string> | null = base.nodesAllowed;
  let edgesAllowed: ReadonlyMap<string, ReadonlySet<string>> | null = base.edgesAllowed;
  let caps: Map<string, Cap[]> | null = null;
  let checksDiffs = base.checksDiffs;
  for (const p of added) {
    const spec = p.spec;
    switch (spec.kind) {
      case "LimitedSpawns": {
        limits ??= new Map(base.limits ?? []);
        const before = limits.get(spec.task);
        if (before === undefined || spec.limit < before) limits.set(spec.task, spec.limit);
        checksDiffs = true;
        break;
      }
      case "NoNewNodes":
        noNewNodes = checksDiffs = true;
        break;
      case "NoNewEdges":
        noNewEdges = checksDiffs = true;
        break;
      case "OnlySpecificNodesAllowed":
        nodesAllowed = intersect(nodesAllowed, new Set(spec.tasks));
        checksDiffs = true;
        break;
      case "OnlySpecificEdgesAllowed": {
        const mine = new Map<string, Set<string>>();
        for (const [a, b] of spec.edges) {
          const tos = mine.get(a);
          if (tos) tos.add(b);
          else mine.set(a, new Set([b]));
        }
        if (edgesAllowed === null) edgesAllowed = mine;
        else {
          const out = new Map<string, Set<string>>();
          for (const [a, tos] of edgesAllowed) {
            const other = mine.get(a);
            if (other) out.set(a, intersect(tos, other));
          }
          edgesAllowed = out;
        }
        checksDiffs = true;
        break;
      }
      case "MaxParallelism": {
        if (caps === null) {
          caps = new Map();
          if (base.caps) for (const [label, list] of base.caps) caps.set(label, [...list]);
        }
        const list = caps.get(spec.label);
        const cap: Cap = { key: String(p.pid), limit: spec.limit };
        if (list) list.push(cap);
        else caps.set(spec.label, [cap]);
        break;
      }
      default: {
        const never: never = spec;
        return never;
      }
    }
  }
  if (caps) for (const list of caps.values()) list.sort((x, y) => Number(x.key) - Number(y.key));
  return new Summary(base, added, {
    checksDiffs,
    limits: limits ?? base.limits,
    noNewNodes,
    noNewEdges,
    nodesAllowed,
    edgesAllowed,
    caps: caps ?? base.caps,
  });
}

/** The summary of the global promises, current as of `stamp`. */
function globalSummary(plan: Plan, index: Index, stamp: number): ScopeSummary {
  const g = index.global;
  if (g.stamp === stamp) return g.summary;
  const all = plan.promises;
  for (let i = index.seen; i < all.length; i++) {
    const p = all[i] as DeclaredPromise;
    if (p.spec.scope === "global") index.globals.push(p);
  }
  index.seen = all.length;
  if (index.globals.length !== g.count) {
    g.summary = extend(g.summary, index.globals.slice(g.count));
    g.count = index.globals.length;
  }
  g.stamp = stamp;
  return g.summary;
}

function ownScoped(plan: Plan, id: string): readonly DeclaredPromise[] {
  const own = plan.promisesByOwner.get(id);
  if (!own) return [];
  // Global-scope promises are part of the global summary, not of the owner's subtree.
  return own.every((p) => p.spec.scope === "descendants") ? own : own.filter((p) => p.spec.scope === "descendants");
}

const chainScratch: string[] = [];

/**
 * The summary of every promise in scope of instance `id` (its own with
 * `descendants` scope, its ancestors', and the global ones). An unknown id
 * gets the global summary.
 */
export function scopeOf(plan: Plan, id: string): ScopeSummary {
  const stamp = plan.promises.length;
  if (stamp === 0) return EMPTY_SUMMARY;
  const index = indexOf(plan);
  // A parent usually spawns its children one after another: remember the last answer.
  const last = index.lastEntry;
  if (last !== null && index.lastId === id && last.stamp === stamp) return last.summary;
  const hit = index.entries.get(id);
  if (hit !== undefined && hit.stamp === stamp) {
    index.lastId = id;
    index.lastEntry = hit;
    return hit.summary;
  }
  if (!plan.nodes.has(id)) return globalSummary(plan, index, stamp);

  // Walk up to the nearest ancestor whose entry is current, then rebuild downwards.
  const chain = chainScratch;
  chain.length = 0;
  let cur: string | null = id;
  while (cur !== null) {
    const e = index.entries.get(cur);
    if (e !== undefined && e.stamp === stamp) break;
    chain.push(cur);
    cur = plan.nodes.get(cur)?.parent ?? null;
  }
  let base = cur === null ? globalSummary(plan, index, stamp) : (index.entries.get(cur) as Entry).summary;
  for (let i = chain.length - 1; i >= 0; i--) {
    const node = chain[i] as string;
    const ownCount = plan.promisesByOwner.get(node)?.length ?? 0;
    let e = index.entries.get(node);
    if (e !== undefined && e.base === base && e.own === ownCount) e.stamp = stamp;
    else {
      const summary = ownCount === 0 ? base : extend(base, ownScoped(plan, node));
      if (e === undefined) {
        e = { stamp, base, own: ownCount, summary };
        index.entries.set(node, e);
      } else {
        e.stamp = stamp;
        e.base = base;
        e.own = ownCount;
        e.summary = summary;
      }
    }
    base = e.summary;
  }
  chain.length = 0;
  return base;
}
