/**
 * The plan: the DAG of task instances of one run, with indexes so no lookup
 * scans it. A plan is only ever changed by {@link applyEvent} in `fold.ts`;
 * everything else reads it.
 */
import type { SerializedError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import type { Counts, EdgeKind, PromiseSpec, RunStatus, TaskStatus } from "../events/types.ts";
import { emptyCounts } from "../events/types.ts";

/** One task instance. */
export interface PlanNode {
  readonly id: string;
  readonly task: string;
  readonly parent: string | null;
  readonly labels: readonly string[];
  readonly inputs: Json;
  /** Fingerprint of `inputs` (`events/input-hash.ts`), checked when a re-executed parent spawns this id again; undefined in old logs. */
  readonly inputsHash: string | undefined;
  readonly priority: number;
  /** Sequence number of its `task.created` event: creation order. */
  readonly order: number;
  status: TaskStatus;
  attempt: number;
  output: Json | undefined;
  /** True once the task published its output with `emit`. */
  emitted: boolean;
  /** True when it succeeded without running: its output came from the results cache (`task.cached`). */
  cached: boolean;
  error: SerializedError | undefined;
  /** Ids this instance is suspended on (status `waiting`). */
  waitingOn: readonly string[] | undefined;
  /** The placeholder it took the place of, if any. */
  placeholder: string | null;
  /** Real children in creation order (shared empty array until the first child: only the fold writes it). */
  children: string[];
  /** Number of real children per definition name (shared empty map until the first child). */
  childCounts: Map<string, number>;
  /** Why it was skipped or cancelled. */
  reason: string | undefined;
  /**
   * How many of its data producers have no output yet ({@link isAvailable}).
   * Kept by the fold, so readiness is part of the plan: a pending instance
   * with none left is ready (`scheduler/readiness.ts`), in a live run and in a
   * plan folded from a log alike.
   */
  producersLeft: number;
}

/** True when `node`'s output is available to its consumers and to waits: it succeeded, or published it with `emit`. */
export function isAvailable(node: PlanNode): boolean {
  return node.status === "succeeded" || node.emitted;
}

export interface PlanEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
}

/** A preview node: a declared child that no real child has taken yet. */
export interface Placeholder {
  readonly id: string;
  readonly task: string;
  /** Instance id or placeholder id. */
  readonly parent: string;
  /** The instance whose preview created it (the root of its preview tree). */
  readonly owner: string;
  state: "open" | "taken" | "removed";
  takenBy: string | null;
  /** Placeholders under this one. */
  readonly children: string[];
}

export interface PlaceholderEdge {
  readonly from: string;
  readonly to: string;
}

/** A promise in force: who declared it and what it says. */
export interface DeclaredPromise {
  readonly pid: number;
  readonly owner: string;
  readonly source: "definition" | "context" | "static";
  readonly spec: PromiseSpec;
}

/**
 * What the layers above derive from a plan and keep to answer fast (the
 * promise scope index, the ghosts' sources): held by the plan itself, so it
 * lives and dies with it and two plans (two runs in one process) never share
 * any. Each user keeps its own key; the fold never touches it, and it has no
 * enumerable state, so plans compare equal whatever was derived from them.
 */
export class Derived {
  readonly #slots = new Map<symbol, unknown>();

  /** The value kept under `key`, made by `make` on first use. */
  get<T>(key: symbol, make: () => T): T {
    let value = this.#slots.get(key) as T | undefined;
    if (value === undefined) {
      value = make();
      this.#slots.set(key, value);
    }
    return value;
  }
}

export interface Plan {
  runId: string;
  root: string | null;
  status: RunStatus | "running" | "new";
  /** Last applied event's sequence number. */
  seq: number;
  readonly nodes: Map<string, PlanNode>;
  readonly edges: PlanEdge[];
  /** Data producers of each consumer, and consumers of each producer. */
  readonly producers: Map<string, string[]>;
  readonly consumers: Map<string, string[]>;
  readonly placeholders: Map<string, Placeholder>;
  /** Open and taken placeholder ids directly under an instance or placeholder. */
  readonly placeholderChildren: Map<string, string[]>;
  readonly placeholderEdges: Map<string, PlaceholderEdge[]>;
  readonly promises: DeclaredPromise[];
  readonly promisesByOwner: Map<string, DeclaredPromise[]>;
  readonly counts: Counts;
  /** Instances that succeeded from the results cache (counted among `counts.succeeded` too). */
  cached: number;
  violations: number;
  output: Json | undefined;
  /** Indexes other layers keep for this plan (see {@link Derived}). */
  readonly derived: Derived;
}

/** Shared by every node without children, so a leaf costs no Map or array; the fold swaps in its own on the first child. */
export const NO_CHILDREN: readonly string[] = Object.freeze([]);
export const NO_CHILD_COUNTS: ReadonlyMap<string, number> = new Map();

export function createPlan(runId = ""): Plan {
  return {
    runId,
    root: null,
    status: "new",
    seq: 0,
    nodes: new Map(),
    edges: [],
    producers: new Map(),
    consumers: new Map(),
    placeholders: new Map(),
    placeholderChildren: new Map(),
    placeholderEdges: new Map(),
    promises: [],
    promisesByOwner: new Map(),
    counts: emptyCounts(),
    cached: 0,
    violations: 0,
    output: undefined,
    derived: new Derived(),
  };
}

/** The last path segment of an id: `square#3` for `square_batch/square#3`. */
export function shortId(id: string): string {
  const i = id.lastIndexOf("/");
  return i < 0 ? id : id.slice(i + 1);
}

/** Ancestors of an instance, nearest first. */
export function* ancestors(plan: Plan, id: string): Generator<PlanNode> {
  let cur = plan.nodes.get(id)?.parent ?? null;
  while (cur !== null) {
    const node = plan.nodes.get(cur);
    if (!node) return;
    yield node;
    cur = node.parent;
  }
}

/** The open placeholders of definition `task` directly under `parent`, in declaration order. */
export function nextOpenPlaceholder(plan: Plan, parent: string, task: string): Placeholder | undefined {
  const list = plan.placeholderChildren.get(parent);
  if (!list) return undefined;
  for (const pid of list) {
    const p = plan.placeholders.get(pid);
    if (p && p.state === "open" && p.task === task) return p;
  }
  return undefined;
}
