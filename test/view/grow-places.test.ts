/**
 * Growing the viewer's union layout without moving what is placed: a new
 * node goes beside the neighbour it hangs from, in its rank's column, clear
 * of every other node, and never left of or above the drawing so far.
 */
import { describe, expect, it } from "vitest";
import { EDGE_ROOM, firstPlaces, grownPlaces } from "../../dist/view/grow-places.js";
import type { Box, Places } from "../../dist/view/grow-places.js";

const box = (x: number, y: number, w = 60, h = 30): Box => ({ x, y, w, h });
const places = (nodes: Record<string, Box>, bb: [number, number, number, number]): Places => ({
  nodes: new Map(Object.entries(nodes)),
  edges: new Map([["root\u0000a", "splines of root to a"]]),
  bb,
});
const apart = (a: Box, b: Box): boolean =>
  Math.abs(a.x - b.x) >= (a.w + b.w) / 2 || Math.abs(a.y - b.y) >= (a.h + b.h) / 2;

describe("grownPlaces", () => {
  // Placed: root with one child a. The fresh layout of the grown union moved everything and added b (a's sibling) and c (b's child).
  const before = firstPlaces(places({ root: box(30, 50), a: box(130, 50) }, [0, 30, 160, 70]));
  const fresh = places(
    { root: box(30, 80), a: box(150, 100), b: box(150, 60), c: box(270, 60), lone: box(30, 10) },
    [0, 0, 300, 120],
  );
  const edges = [
    { from: "root", to: "a" },
    { from: "root", to: "b" },
    { from: "b", to: "c" },
  ];
  const grown = grownPlaces(before, fresh, edges);
  const at = (name: string) => grown.nodes.get(name) as Box;

  it("keeps the placed nodes, their splines and the box's top-left corner", () => {
    expect(before.bb).toEqual([-EDGE_ROOM, 30, 160, 70 + EDGE_ROOM]);
    expect(at("root")).toEqual(box(30, 50));
    expect(at("a")).toEqual(box(130, 50));
    expect(grown.edges.get("root\u0000a")).toBe("splines of root to a");
    expect([grown.bb[0], grown.bb[3]]).toEqual([before.bb[0], before.bb[3]]);
  });

  it("puts a new node in its rank's column beside its parent, clear of the others, and its child right of it", () => {
    expect(at("b").x).toBe(at("a").x);
    expect(at("b").y).toBeLessThan(at("a").y);
    expect(at("c").x - at("b").x).toBe(120);
    expect(at("c").y).toBe(at("b").y);
    const names = [...grown.nodes.keys()];
    for (const p of names) for (const q of names) if (p < q) expect(apart(at(p), at(q)), `${p} and ${q}`).toBe(true);
  });

  it("puts a node with no placed neighbour under the drawing, and grows the box right and down only", () => {
    expect(at("lone").y + at("lone").h / 2).toBeLessThan(Math.min(at("b").y - at("b").h / 2, at("a").y));
    for (const b of grown.nodes.values()) {
      expect(b.x - b.w / 2).toBeGreaterThanOrEqual(grown.bb[0]);
      expect(b.x + b.w / 2).toBeLessThanOrEqual(grown.bb[2]);
      expect(b.y - b.h / 2).toBeGreaterThanOrEqual(grown.bb[1]);
      expect(b.y + b.h / 2).toBeLessThanOrEqual(grown.bb[3]);
    }
  });
});
