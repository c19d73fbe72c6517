/**
 * What a snapshot shows, before it is written as DOT: a list of nodes and
 * edges in a fixed order (creation order of the plan, then placeholders in
 * the order they were materialised, then ghosts in promise order). Pure.
 *
 * This file draws every instance; `grouped.ts` draws big plans with
 * siblings collapsed. Both produce a {@link Drawing} that `dot.ts` writes.
 */
import type { TaskStatus } from "../events/types.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import type { Ghost } from "../promises/ghosts.ts";
import { MAX_LABEL_CHARS } from "./dot-text.ts";

/** `refused`: a spawn a promise refused (see `refused.ts`), drawn as a red ghost. */
export type DrawKind = "instance" | "group" | "placeholder" | "ghost" | "refused";

/** One node of a drawing. `name` is unique in the drawing. */
export interface DrawNode {
  readonly name: string;
  readonly kind: DrawKind;
  /** Label lines (user text, escaped when written). */
  readonly label: readonly string[];
  /** Fill (instances and groups). */
  readonly status: TaskStatus | null;
  /** Succeeded from the results cache without running (every member, for a group): a paler fill and a dashed outline. */
  readonly cached?: boolean;
  readonly tooltip: string;
  /**
   * In a grouped drawing: the key of the group this node is (kind `group`),
   * or of the expanded group it is a member of (see `DotOptions.expanded`).
   */
  readonly group?: string;
  /** Members of the group (kind `group` only). */
  readonly size?: number;
}

/**
 * `data` solid black, `lineage` dashed gray, `preview-data` a declared edge
 * that touches a placeholder (solid gray), `preview-lineage` parent to
 * placeholder (dashed gray), `ghost` owner to ghost (dotted gray), `refused`
 * the spawning task to a refused spawn (dotted red).
 */
export type EdgeStyle = "data" | "lineage" | "preview-data" | "preview-lineage" | "ghost" | "refused";

export interface DrawEdge {
  readonly from: string;
  readonly to: string;
  readonly style: EdgeStyle;
}

export interface Drawing {
  readonly nodes: DrawNode[];
  readonly edges: DrawEdge[];
  /** Instances the drawing stands for (groups count their members). */
  readonly instances: number;
  readonly grouped: boolean;
}

/** Builds a drawing with unique names and no duplicate edges, whatever the ids. */
export class DrawingBuilder {
  readonly nodes: DrawNode[] = [];
  readonly edges: DrawEdge[] = [];
  readonly #names = new Set<string>();
  readonly #edgeKeys = new Set<string>();

  /**
   * Adds a node and returns its name: `wanted`, or `wanted` with a suffix
   * when another node already has that name (ids of different kinds could
   * coincide in a hand-made log; names must stay unique and deterministic).
   */
  addNode(wanted: string, node: Omit<DrawNode, "name">): string {
    let name = wanted;
    for (let k = 2; this.#names.has(name); k++) name = `${wanted}\u0000${k}`;
    this.#names.add(name);
    this.nodes.push({ name, ...node });
    return name;
  }

  /** Adds an edge once; self-loops are dropped (they only appear when siblings are grouped). */
  addEdge(from: string, to: string, style: EdgeStyle): void {
    if (from === to) return;
    const key = `${from}\u0000${to}\u0000${style}`;
    if (this.#edgeKeys.has(key)) return;
    this.#edgeKeys.add(key);
    this.edges.push({ from, to, style });
  }
}

/**
 * The short readable id under the definition name: `#3` for
 * `square_batch/square#3`, nothing for a root named after its definition,
 * else the id's last segment.
 */
export function shortLabel(node: Pick<PlanNode, "id" | "task">): string | null {
  const slash = node.id.lastIndexOf("/");
  const last = slash < 0 ? node.id : node.id.slice(slash + 1);
  if (last === node.task) return null;
  if (last.startsWith(`${node.task}#`)) return last.slice(node.task.length);
  return last;
}

/** Label lines of one instance: definition name, short id (and the attempt after a retry, or `cached` when it did not run). */
export function instanceLabel(node: PlanNode): string[] {
  const short = shortLabel(node);
  const attempt = node.cached ? "cached" : node.attempt > 1 ? `try ${node.attempt}` : null;
  const second = [short, attempt].filter((x): x is string => x !== null).join(" · ");
  return second === "" ? [node.task] : [node.task, second];
}

/** A drawn node's label and the id path it stands for (instance id, or group key). */
export interface Labelled {
  readonly path: string;
  readonly label: readonly string[];
}

/**
 * Labels that tell apart nodes that would read the same (`post_a #1` under
 * two parents): each of those says where it sits, with the fewest trailing
 * segments of its parent's id that make it unique
 * (`#1 · in work_unit#2`, then `#1 · in a#1/work_unit#2`). Ids are paths
 * split by `/`, which no definition name holds. The context is cut from the
 * left, so its distinguishing end survives the label's length limit; the
 * tooltip keeps the full id.
 */
export function distinctLabels(items: readonly Labelled[], max = MAX_LABEL_CHARS): string[][] {
  const out = items.map((i) => [...i.label]);
  const byLabel = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = item.label.join("\n");
    const same = byLabel.get(key);
    if (same) same.push(i);
    else byLabel.set(key, [i]);
  });
  for (const same of byLabel.values()) {
    if (same.length < 2) continue;
    const parents = same.map((i) => (items[i] as Labelled).path.split("/").slice(0, -1));
    const deepest = Math.max(...parents.map((p) => p.length));
    let contexts = parents.map((p) => p.join("/"));
    for (let k = 1; k <= deepest; k++) {
      const tried = parents.map((p) => p.slice(-k).join("/"));
      if (new Set(tried).size === tried.length) {
        contexts = tried;
        break;
      }
    }
    same.forEach((i, j) => {
      const context = contexts[j] as string;
      if (context === "") return;
      const lines = out[i] as string[];
      const head = lines.length > 1 ? `${lines[lines.length - 1] as string} · in ` : "in ";
      const room = max - [...head].length;
      const chars = [...context];
      const shown = chars.length <= room ? context : `…${chars.slice(chars.length - room + 1).join("")}`;
      if (lines.length > 1) lines[lines.length - 1] = head + shown;
      else lines.push(head + shown);
    });
  }
  return out;
}

export function ghostTooltip(g: Ghost): string {
  return g.kind === "budget" ? `${g.owner} may spawn ${g.left ?? 0} more ${g.task}` : `${g.owner} may spawn ${g.task}`;
}

/** The tooltip of one instance: its id and status (`succeeded from the cache` for a cached one). */
export function instanceTooltip(node: PlanNode): string {
  return `${node.id} (${node.cached ? "succeeded from the cache" : node.status})`;
}

/** Every instance, open placeholder and ghost of the plan. */
export function drawDetailed(plan: Plan, ghosts: readonly Ghost[]): Drawing {
  const b = new DrawingBuilder();
  const names = new Map<string, string>();
  const nodes = [...plan.nodes.values()];
  const labels = distinctLabels(nodes.map((node) => ({ path: node.id, label: instanceLabel(node) })));
  nodes.forEach((node, i) =>
    names.set(
      node.id,
      b.addNode(node.id, {
        kind: "instance",
        label: labels[i] as string[],
        status: node.status,
        ...(node.cached ? { cached: true } : {}),
        tooltip: instanceTooltip(node),
      }),
    ),
  );
  const phNames = new Map<string, string>();
  for (const p of plan.placeholders.values()) {
    if (p.state !== "open") continue;
    phNames.set(
      p.id,
      b.addNode(p.id, { kind: "placeholder", label: [p.task], status: null, tooltip: `${p.id} (not spawned yet)` }),
    );
  }
  const ghostNames = new Map<string, string>();
  for (const g of ghosts)
    if (names.has(g.owner) || phNames.has(g.owner))
      ghostNames.set(
        g.id,
        b.addNode(g.id, { kind: "ghost", label: [g.label], status: null, tooltip: ghostTooltip(g) }),
      );

  for (const e of plan.edges) {
    const from = names.get(e.from);
    const to = names.get(e.to);
    if (from !== undefined && to !== undefined) b.addEdge(from, to, e.kind === "data" ? "data" : "lineage");
  }
  for (const p of plan.placeholders.values()) {
    const name = phNames.get(p.id);
    if (name === undefined) continue;
    const parent = names.get(p.parent) ?? phNames.get(p.parent);
    if (parent !== undefined) b.addEdge(parent, name, "preview-lineage");
  }
  // A declared edge is drawn while one end is still a placeholder; the end
  // already taken is drawn at the real instance that took it.
  const end = (id: string): { name: string; real: boolean } | null => {
    const p = plan.placeholders.get(id);
    if (!p) return null;
    if (p.state === "open") {
      const name = phNames.get(id);
      return name === undefined ? null : { name, real: false };
    }
    const name = p.state === "taken" && p.takenBy !== null ? names.get(p.takenBy) : undefined;
    return name === undefined ? null : { name, real: true };
  };
  for (const list of plan.placeholderEdges.values())
    for (const e of list) {
      const from = end(e.from);
      const to = end(e.to);
      if (from && to && !(from.real && to.real)) b.addEdge(from.name, to.name, "preview-data");
    }
  for (const g of ghosts) {
    const owner = names.get(g.owner) ?? phNames.get(g.owner);
    const name = ghostNames.get(g.id);
    if (owner !== undefined && name !== undefined) b.addEdge(owner, name, "ghost");
  }
  return { nodes: b.nodes, edges: b.edges, instances: plan.nodes.size, grouped: false };
}
