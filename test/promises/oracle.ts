/**
 * An independent auditor of a run's event log for the promise tests. It
 * replays the events with its own naive bookkeeping (no plan, no index, no
 * call to the validator) and reports:
 * - applied diffs that break a promise in scope at the time they were applied;
 * - refused diffs (`promise.violated`) that break nothing, or whose named
 *   promise is not the first broken one in declaration order;
 * - instances that started or resumed under a full MaxParallelism cap.
 *
 * Rules, from SPEC section 5: scope = the owner and every descendant (or the
 * whole run, `global`); a child that fills its parent's next open placeholder
 * of its definition is not new, nor is its lineage edge, nor a data edge
 * between two placeholder-filling children that the parent's preview
 * declared; whitelists of edges match lineage and data edges by definition.
 */
import type { PromiseSpec, TrellisEvent } from "trellis";

interface ONode {
  readonly task: string;
  readonly parent: string | null;
  readonly placeholder: string | null;
  readonly labels: readonly string[];
}

interface OPromise {
  readonly pid: number;
  readonly owner: string;
  readonly spec: PromiseSpec;
}

interface OEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: "data" | "lineage";
}

interface ODiff {
  readonly by: string;
  readonly id: string;
  readonly task: string;
  readonly placeholder: string | null;
  readonly edges: readonly OEdge[];
}

export interface AuditReport {
  readonly problems: string[];
  /** Ids of nodes a promise.violated refused. */
  readonly refused: string[];
}

export function audit(events: readonly TrellisEvent[]): AuditReport {
  const problems: string[] = [];
  const refused: string[] = [];
  const nodes = new Map<string, ONode>();
  const children = new Map<string, Map<string, number>>();
  const promises: OPromise[] = [];
  // Placeholders directly under an instance, in declaration order, and the preview edges of each owner.
  const placeholders = new Map<string, { id: string; task: string; open: boolean }[]>();
  const previewEdges = new Map<string, Set<string>>();
  const running = new Set<string>();
  const caps: { p: OPromise; label: string; limit: number; counted: Set<string> }[] = [];

  const isSelfOrAncestor = (owner: string, id: string | null): boolean => {
    for (let cur = id; cur !== null; cur = nodes.get(cur)?.parent ?? null) if (cur === owner) return true;
    return false;
  };
  const inScope = (p: OPromise, id: string): boolean => p.spec.scope === "global" || isSelfOrAncestor(p.owner, id);
  const nextOpen = (parent: string, task: string) => placeholders.get(parent)?.find((p) => p.open && p.task === task);
  const taskOf = (id: string): string => nodes.get(id)?.task ?? "?";

  const declared = (d: ODiff, e: OEdge): boolean => {
    if (d.placeholder === null) return false;
    if (e.kind === "lineage") return true;
    const producer = nodes.get(e.from)?.placeholder ?? null;
    return producer !== null && (previewEdges.get(d.by)?.has(`${producer}\u0000${d.placeholder}`) ?? false);
  };

  const breaks = (p: OPromise, d: ODiff): boolean => {
    const s = p.spec;
    switch (s.kind) {
      case "LimitedSpawns":
        return d.task === s.task && (children.get(d.by)?.get(d.task) ?? 0) + 1 > s.limit;
      case "NoNewNodes":
        return d.placeholder === null;
      case "NoNewEdges":
        return d.edges.some((e) => !declared(d, e));
      case "OnlySpecificNodesAllowed":
        return !s.tasks.includes(d.task);
      case "OnlySpecificEdgesAllowed":
        return d.edges.some(
          (e) => !s.edges.some(([a, b]) => a === taskOf(e.from) && b === (e.to === d.id ? d.task : taskOf(e.to))),
        );
      case "MaxParallelism":
        return false;
      default: {
        const never: never = s;
        return never;
      }
    }
  };

  const brokenPids = (d: ODiff): number[] =>
    promises
      .filter((p) => inScope(p, d.by) && breaks(p, d))
      .map((p) => p.pid)
      .sort((a, b) => a - b);

  const acquire = (id: string) => {
    const node = nodes.get(id);
    if (!node) return;
    for (const c of caps)
      if (node.labels.includes(c.label) && inScope(c.p, id)) {
        if (c.counted.size + 1 > c.limit)
          problems.push(`${id} started under full cap ${c.label}/${c.p.pid} (${[...c.counted].join(", ")})`);
        c.counted.add(id);
      }
  };
  const releaseCaps = (id: string) => {
    for (const c of caps) c.counted.delete(id);
  };

  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TrellisEvent;
    switch (e.type) {
      case "preview.materialized": {
        for (const p of e.data.placeholders)
          if (p.parent === e.data.owner) {
            const list = placeholders.get(p.parent) ?? [];
            list.push({ id: p.id, task: p.task, open: true });
            placeholders.set(p.parent, list);
          }
        const set = previewEdges.get(e.data.owner) ?? new Set<string>();
        for (const pe of e.data.edges) set.add(`${pe.from}\u0000${pe.to}`);
        previewEdges.set(e.data.owner, set);
        break;
      }
      case "preview.pruned":
        for (const list of placeholders.values())
          for (const p of list) if (e.data.placeholders.includes(p.id)) p.open = false;
        break;
      case "promise.declared": {
        const p = { pid: e.data.pid, owner: e.data.owner, spec: e.data.promise };
        promises.push(p);
        if (p.spec.kind === "MaxParallelism") {
          // Instances in scope already running count under the new cap from now on.
          const counted = new Set(
            [...running].filter(
              (id) => nodes.get(id)?.labels.includes((p.spec as { label: string }).label) && inScope(p, id),
            ),
          );
          caps.push({ p, label: p.spec.label, limit: p.spec.limit, counted });
        }
        break;
      }
      case "task.created": {
        const d = e.data;
        if (d.parent !== null) {
          const edges: OEdge[] = [];
          for (let j = i + 1; j < events.length; j++) {
            const f = events[j] as TrellisEvent;
            if (f.type !== "edge.created" || f.data.to !== d.id) break;
            edges.push(f.data);
          }
          const expected = nextOpen(d.parent, d.task)?.id ?? null;
          if (expected !== d.placeholder)
            problems.push(`${d.id} took placeholder ${d.placeholder}, expected ${expected}`);
          const diff: ODiff = { by: d.parent, id: d.id, task: d.task, placeholder: d.placeholder, edges };
          const broken = brokenPids(diff);
          if (broken.length > 0) problems.push(`applied ${d.id} breaks promise(s) ${broken.join(", ")}`);
          const counts = children.get(d.parent) ?? new Map<string, number>();
          counts.set(d.task, (counts.get(d.task) ?? 0) + 1);
          children.set(d.parent, counts);
          const ph = expected === null ? undefined : placeholders.get(d.parent)?.find((p) => p.id === expected);
          if (ph) ph.open = false;
        }
        nodes.set(d.id, { task: d.task, parent: d.parent, placeholder: d.placeholder, labels: d.labels });
        break;
      }
      case "promise.violated": {
        const n = e.data.diff.nodes[0];
        if (!n || e.data.diff.nodes.length !== 1) {
          problems.push(`violation ${e.seq} has ${e.data.diff.nodes.length} nodes`);
          break;
        }
        refused.push(n.id);
        const placeholder = nextOpen(e.data.by, n.task)?.id ?? null;
        const edges: OEdge[] = e.data.diff.edges.map((x) => ({ from: x.from, to: x.to, kind: x.kind }));
        const broken = brokenPids({ by: e.data.by, id: n.id, task: n.task, placeholder, edges });
        if (broken[0] !== e.data.pid)
          problems.push(`violation ${e.seq} names promise ${e.data.pid}, the first broken is ${broken[0] ?? "none"}`);
        break;
      }
      case "task.started":
      case "task.resumed":
        if (!running.has(e.data.id)) {
          acquire(e.data.id);
          running.add(e.data.id);
        }
        break;
      case "task.waiting":
      case "task.succeeded":
      case "task.failed":
      case "task.cancelled":
      case "task.skipped":
      case "task.retrying":
        running.delete(e.data.id);
        releaseCaps(e.data.id);
        break;
      default:
        break;
    }
  }
  for (const id of refused) if (nodes.has(id)) problems.push(`refused ${id} exists anyway`);
  return { problems, refused };
}
