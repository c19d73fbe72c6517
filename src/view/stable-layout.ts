/**
 * Places that do not move from step to step. Graphviz lays out each state of
 * a plan on its own, so a node spawned at step 20 can push every other node
 * somewhere else. Instead, the viewer lays out the union of every state of
 * the log once (every node and edge ever drawn, in the order they first
 * appeared) and draws each step at those places (`neato -n2`). A real child
 * takes the slot of the placeholder it replaced, so it appears where its
 * placeholder was.
 *
 * The union is extended as the log grows (live), and placed again only
 * when it gained a slot or an edge: the nodes placed before keep their
 * places, and the new ones are put beside them (see `grow-places.ts`), so a
 * node the page has drawn never moves while the run goes on. Logs too long
 * or plans too big for a drawing per step fall back to laying out each step
 * alone.
 */
import type { TrellisEvent } from "../events/types.ts";
import { applyEvent } from "../plan/fold.ts";
import type { Plan } from "../plan/plan.ts";
import { createPlan } from "../plan/plan.ts";
import type { DrawNode, Drawing, EdgeStyle } from "../render/drawing.ts";
import type { DotOptions, PinnedLayout } from "../render/dot.ts";
import { drawPlan, drawingToDot } from "../render/dot.ts";
import { MAX_LABEL_CHARS } from "../render/dot-text.ts";
import type { RefusedSpawn } from "../render/refused.ts";
import { refusedSpawns } from "../render/refused.ts";
import type { Box, Places } from "./grow-places.ts";
import { firstPlaces, grownPlaces } from "./grow-places.ts";

/** Past these, each step is laid out alone (a drawing per step would cost too much). */
export const STABLE_MAX_EVENTS = 4000;
export const STABLE_MAX_NODES = 150;

/** Lays out DOT and returns Graphviz's JSON (`-Tjson`). */
export type JsonLayout = (dot: string) => Promise<string>;

/** The instance a drawn node's name stands for: its id, without the suffix that kept names unique (see `DrawingBuilder`). */
export function instanceId(name: string): string {
  const cut = name.indexOf("\u0000");
  return cut < 0 ? name : name.slice(0, cut);
}

/** The slot of a drawn node: a real child that took a placeholder's place sits in the placeholder's slot. */
export function slotOf(plan: Plan, node: DrawNode): string {
  if (node.kind !== "instance") return node.name;
  return plan.nodes.get(instanceId(node.name))?.placeholder ?? node.name;
}

interface Placed extends Places {
  readonly version: number;
  /** The label each slot was laid out with: an edge's spline fits only nodes of that size. */
  readonly labels: ReadonlyMap<string, string>;
}

/** A node's place as Graphviz's `pos` (its centre, in points). */
function posOf(box: Box): string {
  return `${box.x},${box.y}`;
}

export class StableLayout {
  readonly #layout: JsonLayout;
  readonly #dot: Omit<DotOptions, "refused">;
  #plan: Plan = createPlan();
  #steps = 0;
  #generation = -1;
  #refused: RefusedSpawn[] = [];
  #slots = new Map<string, DrawNode>();
  #edges = new Map<string, { from: string; to: string; style: EdgeStyle }>();
  #version = 0;
  #placed: Placed | null = null;
  /** Placements run one after another: each grows the one before, never a stale one. */
  #placing: Promise<unknown> = Promise.resolve();
  /** Counts starts over (a new log): a placement begun before one is dropped. */
  #epoch = 0;
  #tooBig = false;
  /** The log so far ends the run: no label will grow, none is given room to. */
  #finished = false;

  constructor(layout: JsonLayout, dot: Omit<DotOptions, "refused"> = {}) {
    this.#layout = layout;
    this.#dot = dot;
  }

  /** Takes in the events not seen yet (or starts over for a new generation of the log). */
  extend(events: readonly TrellisEvent[], generation: number): void {
    if (generation !== this.#generation || events.length < this.#steps) {
      this.#plan = createPlan();
      this.#steps = 0;
      this.#generation = generation;
      this.#refused = [];
      this.#slots = new Map();
      this.#edges = new Map();
      this.#version++;
      this.#epoch++;
      this.#placed = null;
      this.#tooBig = false;
    }
    if (events.length > STABLE_MAX_EVENTS) this.#tooBig = true;
    if (this.#tooBig) return;
    for (; this.#steps < events.length; this.#steps++) {
      const e = events[this.#steps] as TrellisEvent;
      applyEvent(this.#plan, e);
      if (e.type === "promise.violated") this.#refused.push(...refusedSpawns([e]));
      if (this.#plan.nodes.size > STABLE_MAX_NODES) {
        this.#tooBig = true;
        return;
      }
      this.#add(drawPlan(this.#plan, { ...this.#dot, refused: this.#refused }));
    }
    this.#finished = events[events.length - 1]?.type === "run.finished";
  }

  #add(drawing: Drawing): void {
    const slot = new Map<string, string>();
    for (const n of drawing.nodes) {
      const key = slotOf(this.#plan, n);
      slot.set(n.name, key);
      // The last label seen for a slot is the widest as a rule (a real child's label holds more than its placeholder's).
      if (!this.#slots.has(key)) this.#version++;
      this.#slots.set(key, { ...n, name: key });
    }
    const edges: { from: string; to: string; style: EdgeStyle }[] = drawing.edges.map((e) => ({
      from: slot.get(e.from) ?? e.from,
      to: slot.get(e.to) ?? e.to,
      style: e.style,
    }));
    // A child is logged an event before the edge from its parent: in a live log read between the two, the edge is
    // taken for granted, so that the child is placed beside its parent rather than alone under the drawing.
    const slotOfId = new Map<string, string>();
    for (const n of drawing.nodes)
      if (n.kind === "instance") slotOfId.set(instanceId(n.name), slot.get(n.name) ?? n.name);
    for (const [id, to] of slotOfId) {
      const parent = this.#plan.nodes.get(id)?.parent;
      const from = parent === null || parent === undefined ? undefined : slotOfId.get(parent);
      if (from !== undefined) edges.push({ from, to, style: "lineage" });
    }
    for (const { from, to, style } of edges) {
      const key = `${from}\u0000${to}`;
      if (from === to || this.#edges.has(key)) continue;
      this.#edges.set(key, { from, to, style });
      this.#version++;
    }
  }

  /** Fixed places for a drawing of `plan` (a state of this log), or undefined when the log is too big to pin. */
  async pinFor(): Promise<((plan: Plan, drawing: Drawing) => PinnedLayout | undefined) | undefined> {
    if (this.#tooBig || this.#slots.size === 0) return undefined;
    const placed = await this.#place();
    if (!placed) return undefined;
    return (plan, drawing) => {
      const nodes = new Map<string, string>();
      const slot = new Map<string, string>();
      const resized = new Set<string>();
      for (const n of drawing.nodes) {
        const key = slotOf(plan, n);
        slot.set(n.name, key);
        const box = placed.nodes.get(key);
        if (box === undefined) return undefined;
        nodes.set(n.name, posOf(box));
        if (placed.labels.get(key) !== n.label.join("\n")) resized.add(n.name);
      }
      // An edge keeps its laid-out spline when both ends have the size they were laid out with; else Graphviz draws it anew.
      const edges = new Map<string, string>();
      for (const e of drawing.edges) {
        if (resized.has(e.from) || resized.has(e.to)) continue;
        const pos = placed.edges.get(`${slot.get(e.from) ?? e.from}\u0000${slot.get(e.to) ?? e.to}`);
        if (pos !== undefined) edges.set(`${e.from}\u0000${e.to}`, pos);
      }
      return { nodes, edges, bb: placed.bb.join(",") };
    };
  }

  #place(): Promise<Placed | null> {
    const next = this.#placing.then(
      () => this.#placeNow(),
      () => this.#placeNow(),
    );
    this.#placing = next;
    return next;
  }

  async #placeNow(): Promise<Placed | null> {
    if (this.#placed?.version === this.#version) return this.#placed;
    const version = this.#version;
    const epoch = this.#epoch;
    const before = this.#placed;
    const union: Drawing = {
      nodes: [...this.#slots.values()].map((n) => (this.#finished ? n : withRoomToGrow(n))),
      edges: [...this.#edges.values()],
      instances: 0,
      grouped: false,
    };
    const fresh = readPlaces(JSON.parse(await this.#layout(drawingToDot(union, [" "]))) as GraphvizJson);
    // The log started over while Graphviz worked: these places are of a union that is gone.
    if (epoch !== this.#epoch) return null;
    const labels = new Map(before?.labels ?? []);
    for (const n of union.nodes) if (!labels.has(n.name)) labels.set(n.name, n.label.join("\n"));
    const places = before === null ? firstPlaces(fresh) : grownPlaces(before, fresh, union.edges);
    this.#placed = { ...places, version, labels };
    return this.#placed;
  }
}

/**
 * A node laid out while the run goes on, with the label it may grow to, so
 * that it does not cover its neighbours then (its place is kept): a
 * placeholder becomes a child labelled with its number and, if another
 * reads the same, its parent (`post_a` → `post_a` / `#1 · in work_unit#1`);
 * an instance may gain a second line (`try 2`).
 */
function withRoomToGrow(n: DrawNode): DrawNode {
  if (n.kind === "placeholder") {
    const parent = n.name.split("/").slice(-2, -1)[0] ?? "";
    return { ...n, label: [n.label[0] ?? "", `#00 · in ${parent}`.slice(0, MAX_LABEL_CHARS)] };
  }
  if (n.kind === "instance" && n.label.length === 1) return { ...n, label: [n.label[0] ?? "", "#00 · try 2"] };
  return n;
}

const POINTS_PER_INCH = 72;

/** Nodes (centre and size), edges and bounding box of a `-Tjson` layout. */
function readPlaces(json: GraphvizJson): Places {
  const names = new Map<number, string>();
  const nodes = new Map<string, Box>();
  for (const o of json.objects ?? []) {
    names.set(o._gvid, o.name);
    if (o.pos === undefined) continue;
    const [x, y] = o.pos.split(",").map(Number) as [number, number];
    nodes.set(o.name, {
      x,
      y,
      w: Number(o.width ?? 0) * POINTS_PER_INCH,
      h: Number(o.height ?? 0) * POINTS_PER_INCH,
    });
  }
  const edges = new Map<string, string>();
  for (const e of json.edges ?? []) {
    const from = names.get(e.tail);
    const to = names.get(e.head);
    if (from !== undefined && to !== undefined && e.pos !== undefined) edges.set(`${from}\u0000${to}`, e.pos);
  }
  const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = (json.bb ?? "0,0,0,0").split(",").map(Number);
  return { nodes, edges, bb: [x0, y0, x1, y1] };
}

/** The parts of Graphviz's `-Tjson` output read here. */
interface GraphvizJson {
  readonly bb?: string;
  readonly objects?: readonly {
    readonly _gvid: number;
    readonly name: string;
    readonly pos?: string;
    readonly width?: string;
    readonly height?: string;
  }[];
  readonly edges?: readonly { readonly tail: number; readonly head: number; readonly pos?: string }[];
}
