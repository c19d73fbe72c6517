/**
 * Places that only grow: the union layout of a log that is still being
 * written (a live run) gains nodes as it grows, and laying the new union
 * out again with `dot` would move nodes the page has already drawn. Here a
 * node keeps its place once it has one; a new node goes where `dot` put it
 * next to a neighbour that is already placed (the same offset from it as in
 * a fresh `dot` layout of the whole union, so a child still sits right of
 * its parent and siblings stay in a column), moved down past any node in
 * its way. Nothing is placed left of or above the drawing so far: Graphviz
 * draws an SVG from the top-left corner of its bounding box, so the drawing
 * may only grow to the right and downward or every node would shift.
 *
 * Pure: data in, data out (Graphviz points, y upward as in `-Tjson`).
 */

/** A node's centre and size, in points. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Where every node of a drawing sits, the edges' splines (by `from\u0000to`), and the bounding box. */
export interface Places {
  readonly nodes: ReadonlyMap<string, Box>;
  readonly edges: ReadonlyMap<string, string>;
  /** `[x0, y0, x1, y1]` */
  readonly bb: readonly [number, number, number, number];
}

/** Room kept free around the first layout's top and left edges: a node whose label grows a line stays inside it. */
export const EDGE_ROOM = 10;
/** Space between a new node and any other, across and along the ranks (Graphviz's `ranksep` and `nodesep`, about). */
const GAP_X = 24;
const GAP_Y = 12;

/** The first places: `dot`'s own, with room at the top and the left. */
export function firstPlaces(fresh: Places): Places {
  const [x0, y0, x1, y1] = fresh.bb;
  return { nodes: fresh.nodes, edges: fresh.edges, bb: [x0 - EDGE_ROOM, y0, x1, y1 + EDGE_ROOM] };
}

/** The placed node nearest to `name` among those on its rank (same x) in the fresh layout. */
function rankMate(name: string, want: Box, fresh: Places, placed: ReadonlyMap<string, Box>): Box | undefined {
  let best: Box | undefined;
  let distance = Number.POSITIVE_INFINITY;
  for (const [other, box] of placed) {
    const was = fresh.nodes.get(other);
    if (other === name || was === undefined || Math.abs(was.x - want.x) > 0.5) continue;
    const d = Math.abs(was.y - want.y);
    if (d < distance) {
      best = box;
      distance = d;
    }
  }
  return best;
}

function overlaps(a: Box, b: Box): boolean {
  return Math.abs(a.x - b.x) < (a.w + b.w) / 2 + GAP_X && Math.abs(a.y - b.y) < (a.h + b.h) / 2 + GAP_Y;
}

/**
 * The places of a grown union: every node of `before` where it was, each
 * new node of `fresh` (a `dot` layout of the whole grown union) near its
 * placed neighbour. `edges` are the union's edges (from, to), in order.
 * Splines are kept for edges between nodes placed before; new edges have
 * none (the drawing routes them).
 */
export function grownPlaces(
  before: Places,
  fresh: Places,
  edges: readonly { readonly from: string; readonly to: string }[],
): Places {
  const nodes = new Map<string, Box>();
  // A node whose label grew since it was placed keeps its centre; new nodes keep clear of its larger box.
  for (const [name, box] of before.nodes) {
    const now = fresh.nodes.get(name);
    nodes.set(name, now === undefined ? box : { ...box, w: Math.max(box.w, now.w), h: Math.max(box.h, now.h) });
  }
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const e of edges) {
    parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
    children.set(e.from, [...(children.get(e.from) ?? []), e.to]);
  }
  const [left, bottom, right, top] = before.bb;
  let y0 = bottom;
  let x1 = right;
  const pending = [...fresh.nodes.keys()].filter((name) => !nodes.has(name));
  const anchorOf = (name: string): string | undefined =>
    (parents.get(name) ?? []).find((p) => nodes.has(p)) ?? (children.get(name) ?? []).find((c) => nodes.has(c));
  while (pending.length > 0) {
    // Parents first: a new subtree grows out of the node it hangs from.
    let i = pending.findIndex((name) => (parents.get(name) ?? []).some((p) => nodes.has(p)));
    if (i < 0) i = pending.findIndex((name) => anchorOf(name) !== undefined);
    const name = pending.splice(Math.max(i, 0), 1)[0] as string;
    const want = fresh.nodes.get(name) as Box;
    const anchor = i < 0 ? undefined : anchorOf(name);
    let x: number;
    let y: number;
    if (anchor !== undefined) {
      const at = nodes.get(anchor) as Box;
      const was = fresh.nodes.get(anchor) as Box;
      x = at.x + want.x - was.x;
      y = at.y + want.y - was.y;
      // A placed node of the same rank in the fresh layout: take its column (its x), so ranks stay columns.
      const mate = rankMate(name, want, fresh, nodes);
      if (mate !== undefined) x = mate.x;
    } else {
      // Nothing placed to hang from: below the drawing so far, at dot's distance from the left edge.
      x = left + want.x - fresh.bb[0];
      y = y0 - GAP_Y - want.h / 2;
    }
    x = Math.max(x, left + want.w / 2);
    y = Math.min(y, top - want.h / 2);
    let box: Box = { x, y, w: want.w, h: want.h };
    for (;;) {
      const blocking = [...nodes.values()].filter((b) => overlaps(box, b));
      if (blocking.length === 0) break;
      const below = Math.min(...blocking.map((b) => b.y - b.h / 2));
      // A hair more than the gap: rounding must not leave it touching the box it moved past (and loop).
      box = { ...box, y: below - GAP_Y - box.h / 2 - 0.5 };
    }
    nodes.set(name, box);
    x1 = Math.max(x1, box.x + box.w / 2);
    y0 = Math.min(y0, box.y - box.h / 2);
  }
  const kept = new Map<string, string>();
  for (const [key, spline] of before.edges) kept.set(key, spline);
  return { nodes, edges: kept, bb: [left, y0, x1, top] };
}
