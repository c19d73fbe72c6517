/**
 * The DOT builder: a pure function from a plan to Graphviz source, in the
 * styles of SPEC section 8. The same plan gives the same bytes: everything
 * is written in the plan's creation order, with no clock and no randomness,
 * so a snapshot taken live and one redrawn from the log are identical.
 */
import type { Plan } from "../plan/plan.ts";
import type { Ghost } from "../promises/ghosts.ts";
import { computeGhosts } from "../promises/ghosts.ts";
import type { DrawEdge, DrawNode, Drawing, EdgeStyle } from "./drawing.ts";
import { drawDetailed } from "./drawing.ts";
import type { RawDot } from "./dot-text.ts";
import {
  CACHED_FILL,
  FONT_FAMILY,
  GRAY,
  GRAY_TEXT,
  REFUSED_RED,
  STATUS_FILL,
  dotAttrs,
  dotId,
  dotLabel,
  dotTooltip,
} from "./dot-text.ts";
import { drawGrouped } from "./grouped.ts";
import type { RefusedSpawn } from "./refused.ts";
import { withRefused } from "./refused.ts";

/** Above this many instances a plan is drawn grouped (see {@link DotOptions.groupAbove}). */
export const DEFAULT_GROUP_ABOVE = 100;

/** Above this many drawn nodes, Graphviz's layout effort is capped. */
export const LAYOUT_EFFORT_CAP_ABOVE = 80;

/** Options of {@link buildDot}. */
export interface DotOptions {
  /** Ghosts to draw. Default: {@link computeGhosts} of the plan. */
  readonly ghosts?: readonly Ghost[];
  /** First caption line. Default `<run id> · <run status>`. */
  readonly title?: string;
  /**
   * Draw siblings of one definition under one parent as one node with counts
   * per status when the plan has more than this many instances. Default 100
   * (a detailed drawing of more is a column of boxes too tall to read, and
   * costs ~0.5 s per PNG).
   */
  readonly groupAbove?: number;
  /** Spawns broken promises refused, drawn as red ghosts (see `refused.ts`). Default none. */
  readonly refused?: readonly RefusedSpawn[];
  /** In a grouped drawing, the groups (by {@link DrawNode.group} key) drawn as their members instead (the viewer's expanded groups). */
  readonly expanded?: ReadonlySet<string>;
}

const EDGE_ATTRS: Readonly<Record<EdgeStyle, readonly (readonly [string, string])[]>> = {
  data: [],
  lineage: [
    ["style", "dashed"],
    ["color", GRAY],
  ],
  "preview-lineage": [
    ["style", "dashed"],
    ["color", GRAY],
  ],
  "preview-data": [["color", GRAY]],
  ghost: [
    ["style", "dotted"],
    ["color", GRAY],
  ],
  refused: [
    ["style", "dotted"],
    ["color", REFUSED_RED],
  ],
};

/**
 * Fixed places for a drawing's nodes and edges (Graphviz `pos`, in points),
 * so that successive states of one plan keep their nodes where they were:
 * the viewer lays out the union of every state once and pins each state to
 * it (`neato -n2` keeps given positions). See `view/stable-layout.ts`.
 */
export interface PinnedLayout {
  /** `pos` of each drawn node, by drawn name. */
  readonly nodes: ReadonlyMap<string, string>;
  /** `pos` of each edge (its spline), by `from\u0000to` drawn names. */
  readonly edges: ReadonlyMap<string, string>;
  /** The bounding box every state is drawn in: `x0,y0,x1,y1`. */
  readonly bb: string;
}

function nodeLine(n: DrawNode, pos?: string): string {
  const attrs: [string, string | number | RawDot][] = [["label", { raw: dotLabel(n.label) }]];
  switch (n.kind) {
    case "instance":
      if (n.cached === true) attrs.push(["fillcolor", CACHED_FILL], ["style", "rounded,filled,dashed"]);
      else attrs.push(["fillcolor", STATUS_FILL[n.status ?? "pending"]]);
      break;
    case "group":
      if (n.cached === true)
        attrs.push(["fillcolor", CACHED_FILL], ["style", "rounded,filled,dashed"], ["peripheries", 2]);
      else attrs.push(["fillcolor", STATUS_FILL[n.status ?? "pending"]], ["peripheries", 2]);
      break;
    case "placeholder":
      attrs.push(["style", "dashed,rounded"], ["color", GRAY], ["fontcolor", GRAY_TEXT]);
      break;
    case "ghost":
      attrs.push(["style", "dotted,rounded"], ["color", GRAY], ["fontcolor", GRAY_TEXT]);
      break;
    case "refused":
      attrs.push(["style", "dotted,rounded,bold"], ["color", REFUSED_RED], ["fontcolor", REFUSED_RED]);
      break;
    default: {
      const never: never = n.kind;
      return never;
    }
  }
  attrs.push(["tooltip", { raw: dotTooltip(n.tooltip) }]);
  if (pos !== undefined) attrs.push(["pos", `${pos}!`]);
  return `  ${dotId(n.name)}${dotAttrs(attrs)};`;
}

function edgeLine(e: DrawEdge, pos?: string): string {
  return `  ${dotId(e.from)} -> ${dotId(e.to)}${dotAttrs(pos === undefined ? EDGE_ATTRS[e.style] : [...EDGE_ATTRS[e.style], ["pos", pos]])};`;
}

/** The caption under the drawing: title, then counts by status and violations. */
function caption(plan: Plan, drawing: Drawing, title: string | undefined): string[] {
  const head =
    title ?? `${plan.runId === "" ? "plan" : plan.runId} · ${plan.status === "new" ? "not started" : plan.status}`;
  const parts: string[] = [];
  for (const [status, n] of Object.entries(plan.counts))
    if (n > 0)
      parts.push(
        `${n} ${status}${status === "succeeded" && plan.cached > 0 ? ` (${plan.cached} from the cache)` : ""}`,
      );
  if (plan.violations > 0) parts.push(`${plan.violations} violation${plan.violations === 1 ? "" : "s"}`);
  if (drawing.grouped) parts.push(`grouped view of ${drawing.instances} instances`);
  return parts.length > 0 ? [head, parts.join(" · ")] : [head];
}

/** Caption lines are cut at this many characters. */
const CAPTION_MAX_CHARS = 160;

/** Caption characters are 11 points high and, over a line, narrower than this on average (CJK ones: as wide as high). */
const CAPTION_CHAR = 11 * 0.8;

/** A width in points the caption surely fits in (wider than Graphviz will find it). */
function captionWidth(captionLines: readonly string[]): number {
  let widest = 0;
  for (const line of captionLines) {
    let w = 0;
    for (const ch of [...line].slice(0, CAPTION_MAX_CHARS)) w += (ch.codePointAt(0) ?? 0) >= 0x2e80 ? 11 : CAPTION_CHAR;
    widest = Math.max(widest, w);
  }
  return widest + 16;
}

/** Writes a drawing as DOT; with `pinned`, at those places (lay it out with `neato -n2`). */
export function drawingToDot(drawing: Drawing, captionLines: readonly string[], pinned?: PinnedLayout): string {
  const graph: [string, string | number | RawDot][] = [
    ["rankdir", "LR"],
    ["fontname", FONT_FAMILY],
    ["fontsize", 11],
    ["label", { raw: dotLabel(captionLines, "left", CAPTION_MAX_CHARS) }],
    ["labelloc", "b"],
    ["labeljust", "l"],
    ["nodesep", 0.2],
    ["ranksep", 0.45],
  ];
  // Network simplex and crossing minimisation dominate layout time on big
  // graphs (2,000 nodes: >10 min by default, ~15 s with these limits).
  if (drawing.nodes.length > LAYOUT_EFFORT_CAP_ABOVE)
    graph.push(["nslimit", 2], ["nslimit1", 2], ["mclimit", 0.5], ["searchsize", 30]);
  const lines = [
    'digraph "trellis" {',
    `  graph${dotAttrs(graph)};`,
    `  node${dotAttrs([
      ["fontname", FONT_FAMILY],
      ["fontsize", 12],
      ["shape", "box"],
      ["style", "rounded,filled"],
      ["color", "#404040"],
      ["fillcolor", STATUS_FILL.pending],
      ["margin", "0.12,0.04"],
      ["height", 0.3],
    ])};`,
    `  edge${dotAttrs([
      ["fontname", FONT_FAMILY],
      ["fontsize", 10],
      ["color", "#000000"],
      ["arrowsize", 0.6],
    ])};`,
  ];
  if (!pinned) {
    for (const n of drawing.nodes) lines.push(nodeLine(n));
    for (const e of drawing.edges) lines.push(edgeLine(e));
    lines.push("}", "");
    return lines.join("\n");
  }
  for (const n of drawing.nodes) lines.push(nodeLine(n, pinned.nodes.get(n.name)));
  for (const e of drawing.edges) lines.push(edgeLine(e, pinned.edges.get(`${e.from}\u0000${e.to}`)));
  // Two invisible corners hold every state to the same box, so nothing shifts when the plan is smaller. A
  // caption wider than the box would centre the drawing under it (every node shifting as the counts change):
  // the box is made wider than the caption can be.
  const [x0, y0, x1, y1] = pinned.bb.split(",").map(Number) as [number, number, number, number];
  const right = Math.max(x1, x0 + captionWidth(captionLines));
  lines.push(
    `  "\u2063corner-a" [style=invis, label="", width=0.01, height=0.01, fixedsize=true, pos="${x0},${y0}!"];`,
    `  "\u2063corner-b" [style=invis, label="", width=0.01, height=0.01, fixedsize=true, pos="${right},${y1}!"];`,
    "}",
    "",
  );
  return lines.join("\n");
}

/** The drawing of a plan: every instance, or grouped above `groupAbove` instances. */
export function drawPlan(plan: Plan, options: DotOptions = {}): Drawing {
  const ghosts = options.ghosts ?? computeGhosts(plan);
  const groupAbove = options.groupAbove ?? DEFAULT_GROUP_ABOVE;
  const drawing =
    plan.nodes.size > groupAbove ? drawGrouped(plan, ghosts, options.expanded) : drawDetailed(plan, ghosts);
  return options.refused ? withRefused(drawing, options.refused) : drawing;
}

/**
 * The plan as Graphviz DOT, left to right, a parent left of its children.
 *
 * @example
 * const dot = buildDot(foldEvents(events));
 * writeFileSync("plan.dot", dot);
 */
export function buildDot(plan: Plan, options: DotOptions = {}): string {
  return buildDrawingAndDot(plan, options).dot;
}

/**
 * {@link buildDot} with the drawing it wrote, for callers that map drawn
 * nodes back to the plan (the viewer); `pin` may give the drawing fixed places.
 */
export function buildDrawingAndDot(
  plan: Plan,
  options: DotOptions = {},
  pin?: (drawing: Drawing) => PinnedLayout | undefined,
): { drawing: Drawing; dot: string } {
  const drawing = drawPlan(plan, options);
  return { drawing, dot: drawingToDot(drawing, caption(plan, drawing, options.title), pin?.(drawing)) };
}
