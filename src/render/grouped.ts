/**
 * The grouped drawing of a big plan: the instances of one definition under
 * one parent are one node with counts per status ("square ×1000",
 * "998 ✓ 2 ✗"), recursively (the children of 1,000 grouped `work_unit`s
 * are one group per definition), so a plan of any size draws as a handful
 * of nodes that Graphviz lays out in milliseconds. Pure.
 */
import type { TaskStatus } from "../events/types.ts";
import { TaskStatuses } from "../events/types.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import type { Ghost } from "../promises/ghosts.ts";
import type { Drawing } from "./drawing.ts";
import { DrawingBuilder, distinctLabels, ghostTooltip, instanceLabel, instanceTooltip } from "./drawing.ts";

interface Group {
  readonly key: string;
  readonly task: string;
  readonly first: PlanNode;
  /** The key of the expanded group this member belongs to. */
  readonly expandedFrom?: string;
  size: number;
  readonly counts: Record<TaskStatus, number>;
  /** Members that succeeded from the results cache. */
  cached: number;
}

const MARK: Readonly<Record<TaskStatus, string>> = {
  succeeded: "✓",
  failed: "✗",
  running: "running",
  waiting: "waiting",
  pending: "pending",
  skipped: "skipped",
  cancelled: "cancelled",
};

/** Order of the counts in a group's label: outcomes first. */
const LABEL_ORDER: readonly TaskStatus[] = [
  "succeeded",
  "failed",
  "running",
  "waiting",
  "pending",
  "skipped",
  "cancelled",
];

/**
 * One colour for a group: what is still moving wins (running, waiting,
 * pending), then the worst outcome (failed, then skipped or cancelled).
 */
export function groupStatus(counts: Readonly<Record<TaskStatus, number>>): TaskStatus {
  for (const s of ["running", "waiting", "pending", "failed", "cancelled", "skipped"] as const)
    if (counts[s] > 0) return s;
  return "succeeded";
}

/** `998 ✓ 2 ✗ 5 running`; with `cached` members, `998 ✓ (990 cached) 2 ✗`. */
export function countsLine(counts: Readonly<Record<TaskStatus, number>>, cached = 0): string {
  const parts: string[] = [];
  for (const s of LABEL_ORDER)
    if (counts[s] > 0)
      parts.push(`${counts[s]} ${MARK[s]}${s === "succeeded" && cached > 0 ? ` (${cached} cached)` : ""}`);
  return parts.join(" ");
}

function zeroCounts(): Record<TaskStatus, number> {
  const c = {} as Record<TaskStatus, number>;
  for (const s of TaskStatuses) c[s] = 0;
  return c;
}

/**
 * The grouped drawing of `plan` (see the module docs). The groups whose keys
 * are in `expanded` are drawn as their members, one node each (their own
 * children grouped under each of them); each member's node carries the key.
 */
export function drawGrouped(plan: Plan, ghosts: readonly Ghost[], expanded: ReadonlySet<string> = new Set()): Drawing {
  const groupOf = new Map<string, Group>();
  const groups: Group[] = [];
  const byKey = new Map<string, Group>();
  for (const node of plan.nodes.values()) {
    const parentGroup = node.parent === null ? undefined : groupOf.get(node.parent);
    // "/" cannot occur in a definition name, so keys of different paths never meet.
    const shared = parentGroup ? `${parentGroup.key}/${node.task}` : node.id;
    // A member of an expanded group is a group of its own, keyed by its id.
    const key = expanded.has(shared) ? node.id : shared;
    let g = byKey.get(key);
    if (!g) {
      g = {
        key,
        task: node.task,
        first: node,
        size: 0,
        counts: zeroCounts(),
        cached: 0,
        ...(key !== shared ? { expandedFrom: shared } : {}),
      };
      byKey.set(key, g);
      groups.push(g);
    }
    g.size++;
    g.counts[node.status]++;
    if (node.cached) g.cached++;
    groupOf.set(node.id, g);
  }

  const b = new DrawingBuilder();
  const groupName = new Map<Group, string>();
  // Only the first line of a group (`post_a ×5`) says which it is; its counts change.
  const labels = distinctLabels(
    groups.map((g) =>
      g.size === 1
        ? { path: g.first.id, label: instanceLabel(g.first) }
        : { path: g.key, label: [`${g.task} ×${g.size}`] },
    ),
  );
  groups.forEach((g, i) => {
    const label = labels[i] as string[];
    const name =
      g.size === 1
        ? b.addNode(g.first.id, {
            kind: "instance",
            label,
            status: g.first.status,
            ...(g.first.cached ? { cached: true } : {}),
            tooltip: instanceTooltip(g.first),
            ...(g.expandedFrom !== undefined ? { group: g.expandedFrom } : {}),
          })
        : b.addNode(`${g.key}/*`, {
            kind: "group",
            label: [...label, countsLine(g.counts, g.cached)],
            status: groupStatus(g.counts),
            ...(g.cached === g.size ? { cached: true } : {}),
            tooltip: `${g.size} instances of ${g.task} under ${g.first.parent ?? "the root"}`,
            group: g.key,
            size: g.size,
          });
    groupName.set(g, name);
  });
  const nameOfNode = (id: string): string | undefined => {
    const g = groupOf.get(id);
    return g ? groupName.get(g) : undefined;
  };

  // Open placeholders, grouped by (drawn parent, definition).
  const phGroup = new Map<string, string>();
  const phCounts = new Map<string, { task: string; parent: string; count: number }>();
  const phOrder: string[] = [];
  for (const p of plan.placeholders.values()) {
    if (p.state !== "open") continue;
    const parent = nameOfNode(p.parent) ?? phGroup.get(p.parent);
    if (parent === undefined) continue;
    const key = `${parent}/${p.task}~`;
    phGroup.set(p.id, key);
    const entry = phCounts.get(key);
    if (entry) entry.count++;
    else {
      phCounts.set(key, { task: p.task, parent, count: 1 });
      phOrder.push(key);
    }
  }
  const phName = new Map<string, string>();
  for (const key of phOrder) {
    const e = phCounts.get(key) as { task: string; parent: string; count: number };
    phName.set(
      key,
      b.addNode(key, {
        kind: "placeholder",
        label: [e.count > 1 ? `${e.task} ×${e.count}` : e.task],
        status: null,
        tooltip: `${e.count} placeholder(s) of ${e.task} (not spawned yet)`,
      }),
    );
  }
  const nameOfPlaceholder = (id: string): string | undefined => {
    const key = phGroup.get(id);
    return key === undefined ? undefined : phName.get(key);
  };

  // Ghosts, grouped by (drawn owner, definition, kind); budgets add up.
  const ghostGroups = new Map<string, { ghost: Ghost; owner: string; left: number; count: number }>();
  const ghostOrder: string[] = [];
  for (const g of ghosts) {
    const owner = nameOfNode(g.owner) ?? nameOfPlaceholder(g.owner);
    if (owner === undefined) continue;
    const key = `${owner}/?${g.task}${g.kind === "budget" ? "$budget" : ""}`;
    const entry = ghostGroups.get(key);
    if (entry) {
      entry.left += g.left ?? 0;
      entry.count++;
    } else {
      ghostGroups.set(key, { ghost: g, owner, left: g.left ?? 0, count: 1 });
      ghostOrder.push(key);
    }
  }
  const ghostName = new Map<string, string>();
  for (const key of ghostOrder) {
    const e = ghostGroups.get(key) as { ghost: Ghost; owner: string; left: number; count: number };
    const label =
      e.count === 1
        ? e.ghost.label
        : e.ghost.kind === "budget"
          ? `${e.ghost.task} (${e.left} left)`
          : `${e.ghost.task} ×${e.count}`;
    ghostName.set(
      key,
      b.addNode(key, {
        kind: "ghost",
        label: [label],
        status: null,
        tooltip: e.count === 1 ? ghostTooltip(e.ghost) : `${e.count} ghosts of ${e.ghost.task}`,
      }),
    );
  }

  for (const e of plan.edges) {
    const from = nameOfNode(e.from);
    const to = nameOfNode(e.to);
    if (from !== undefined && to !== undefined) b.addEdge(from, to, e.kind === "data" ? "data" : "lineage");
  }
  for (const p of plan.placeholders.values()) {
    const name = nameOfPlaceholder(p.id);
    if (name === undefined) continue;
    const parent = nameOfNode(p.parent) ?? nameOfPlaceholder(p.parent);
    if (parent !== undefined) b.addEdge(parent, name, "preview-lineage");
  }
  const end = (id: string): { name: string; real: boolean } | null => {
    const p = plan.placeholders.get(id);
    if (!p) return null;
    if (p.state === "open") {
      const name = nameOfPlaceholder(id);
      return name === undefined ? null : { name, real: false };
    }
    const name = p.state === "taken" && p.takenBy !== null ? nameOfNode(p.takenBy) : undefined;
    return name === undefined ? null : { name, real: true };
  };
  for (const list of plan.placeholderEdges.values())
    for (const e of list) {
      const from = end(e.from);
      const to = end(e.to);
      if (from && to && !(from.real && to.real)) b.addEdge(from.name, to.name, "preview-data");
    }
  for (const key of ghostOrder) {
    const e = ghostGroups.get(key) as { owner: string };
    const name = ghostName.get(key);
    if (name !== undefined) b.addEdge(e.owner, name, "ghost");
  }
  return { nodes: b.nodes, edges: b.edges, instances: plan.nodes.size, grouped: true };
}
