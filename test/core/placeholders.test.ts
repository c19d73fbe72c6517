import { describe, expect, test } from "vitest";
import { task } from "trellis";
import { expandPreview } from "../../dist/preview/placeholders.js";

const leaf = task({ name: "ph_leaf" }, async () => 1);
const sink = task({ name: "ph_sink" }, async () => 1);

describe("preview placeholders", () => {
  test("an edge between two entries of one definition is a chain, never a cycle", () => {
    const chain = task(
      {
        name: "ph_chain",
        calls: [leaf, leaf, leaf, sink],
        edges: [
          [leaf, leaf],
          [leaf, sink],
        ],
      },
      async () => 1,
    );
    const { placeholders, edges } = expandPreview(chain, "root");
    expect(placeholders.map((p) => p.id)).toEqual([
      "root/ph_leaf~1",
      "root/ph_leaf~2",
      "root/ph_leaf~3",
      "root/ph_sink~1",
    ]);
    const leafEdges = edges.filter((e) => e.to.includes("ph_leaf")).map((e) => `${e.from.slice(5)}>${e.to.slice(5)}`);
    expect(leafEdges).toEqual(["ph_leaf~1>ph_leaf~2", "ph_leaf~1>ph_leaf~3", "ph_leaf~2>ph_leaf~3"]);
    expect(edges.filter((e) => e.to === "root/ph_sink~1")).toHaveLength(3);
  });
});
