/**
 * Shared helpers of the promise tests: views of a run computed from its event
 * log alone, independently of the engine and of the validator.
 */
import type { AnyTask, Plan, PromiseSpec, RunOptions, RunResult, TrellisEvent } from "trellis";
import { createPlan, run } from "trellis";

/** Runs inline with every event kept. */
export function runKept<O>(root: AnyTask, inputs: unknown, options: RunOptions = {}): Promise<RunResult<O>> {
  return run(root, inputs, { executor: "inline", workers: 4, keepEvents: true, ...options }) as Promise<RunResult<O>>;
}

export function eventsOf(result: RunResult<unknown>): TrellisEvent[] {
  if (!result.events) throw new Error("run without keepEvents");
  return [...result.events];
}

export function ofType<K extends TrellisEvent["type"]>(
  events: readonly TrellisEvent[],
  type: K,
): Extract<TrellisEvent, { type: K }>[] {
  return events.filter((e): e is Extract<TrellisEvent, { type: K }> => e.type === type);
}

/**
 * The most instances carrying each label that were running at once, counting
 * `task.started` / `task.resumed` as +1 and `task.waiting` / finished /
 * retrying as -1. Only instances for which `counted(id)` holds are counted.
 */
export function maxRunningPerLabel(
  events: readonly TrellisEvent[],
  counted: (id: string) => boolean = () => true,
): Map<string, number> {
  const labels = new Map<string, readonly string[]>();
  const running = new Set<string>();
  const now = new Map<string, number>();
  const max = new Map<string, number>();
  const bump = (id: string, by: number) => {
    for (const l of labels.get(id) ?? []) {
      const n = (now.get(l) ?? 0) + by;
      now.set(l, n);
      if (n > (max.get(l) ?? 0)) max.set(l, n);
    }
  };
  for (const e of events) {
    switch (e.type) {
      case "task.created":
        if (counted(e.data.id)) labels.set(e.data.id, e.data.labels);
        break;
      case "task.started":
      case "task.resumed":
        if (!running.has(e.data.id)) {
          running.add(e.data.id);
          bump(e.data.id, +1);
        }
        break;
      case "task.waiting":
      case "task.succeeded":
      case "task.failed":
      case "task.cancelled":
      case "task.skipped":
      case "task.retrying":
        if (running.delete(e.data.id)) bump(e.data.id, -1);
        break;
      default:
        break;
    }
  }
  return max;
}

/** A plan reduced to what a replay must reproduce exactly. */
export function normalise(plan: Plan): unknown {
  return {
    root: plan.root,
    status: plan.status,
    nodes: [...plan.nodes.values()]
      .map((n) => ({
        id: n.id,
        task: n.task,
        parent: n.parent,
        status: n.status,
        labels: [...n.labels],
        placeholder: n.placeholder,
        children: [...n.children],
        childCounts: [...n.childCounts].sort(),
        output: n.output,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    edges: plan.edges.map((e) => `${e.from} -> ${e.to} (${e.kind})`).sort(),
    placeholders: [...plan.placeholders.values()].map((p) => `${p.id}:${p.state}:${p.takenBy ?? ""}`).sort(),
    promises: plan.promises.map((p) => ({ pid: p.pid, owner: p.owner, source: p.source, spec: p.spec })),
    counts: { ...plan.counts },
    violations: plan.violations,
  };
}

/** An empty plan (for hand-built validator tests). */
export function emptyPlan(): Plan {
  return createPlan("test");
}

/** Builds events for hand-made plans: `task.created` (+ lineage edge), `promise.declared`, status changes. */
export class PlanBuilder {
  readonly events: TrellisEvent[] = [];
  #seq = 0;
  #pid = 0;

  #push(type: TrellisEvent["type"], data: unknown): this {
    this.events.push({
      v: 1,
      seq: ++this.#seq,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "test",
      type,
      data,
    } as TrellisEvent);
    return this;
  }

  root(id: string, task = id): this {
    this.#push("run.started", {
      root: id,
      task,
      inputs: null,
      options: { executor: "inline", workers: 1, onViolation: "halt" },
    });
    return this.node(id, task, null);
  }

  node(
    id: string,
    task: string,
    parent: string | null,
    labels: string[] = [],
    placeholder: string | null = null,
  ): this {
    this.#push("task.created", { id, task, parent, labels, inputs: null, placeholder, priority: 0 });
    if (parent !== null) this.#push("edge.created", { from: parent, to: id, kind: "lineage" });
    return this;
  }

  preview(
    owner: string,
    placeholders: { id: string; task: string }[],
    edges: { from: string; to: string }[] = [],
  ): this {
    return this.#push("preview.materialized", {
      owner,
      placeholders: placeholders.map((p) => ({ ...p, parent: owner })),
      edges,
    });
  }

  promise(owner: string, spec: PromiseSpec): this {
    return this.#push("promise.declared", { pid: ++this.#pid, owner, source: "context", promise: spec });
  }

  status(id: string, type: "task.started" | "task.succeeded"): this {
    return this.#push(type, type === "task.started" ? { id, attempt: 1 } : { id, output: null });
  }
}
