import { describe, expect, it } from "vitest";
import { buildDot, foldEvents } from "trellis";
import { GRAY, STATUS_FILL } from "../../dist/render/dot-text.js";
import { dotToSvg } from "../../dist/render/images.js";
import { LogBuilder, layout, nodeKind, parseDot, svgTexts } from "./render-helpers.ts";

describe("DOT builder", () => {
  it("styles: data solid black, lineage dashed gray, fill by status", () => {
    const log = new LogBuilder()
      .root("r")
      .status("r", "task.started")
      .created("r/a#1", "a", "r")
      .created("r/b#1", "b", "r")
      .add("edge.created", { from: "r/a#1", to: "r/b#1", kind: "data" })
      .status("r/a#1", "task.started")
      .status("r/a#1", "task.failed")
      .add("task.skipped", { id: "r/b#1", because: "producer failed" });
    const dot = parseDot(buildDot(foldEvents(log.events)));
    expect(dot.nodes.get("r")?.["fillcolor"]).toBe(STATUS_FILL.running);
    expect(dot.nodes.get("r/a#1")?.["fillcolor"]).toBe(STATUS_FILL.failed);
    expect(dot.nodes.get("r/b#1")?.["fillcolor"]).toBe(STATUS_FILL.skipped);
    expect(dot.nodes.get("r/a#1")?.["label"]).toBe("a\\n#1");
    const data = dot.edges.find((e) => e.from === "r/a#1" && e.to === "r/b#1");
    expect(data?.attrs).toEqual({});
    const lineage = dot.edges.find((e) => e.from === "r" && e.to === "r/a#1");
    expect(lineage?.attrs).toEqual({ style: "dashed", color: GRAY });
  });

  it("is byte-identical for the same events, and a pure function of the plan", () => {
    const log = new LogBuilder().root("r").status("r", "task.started");
    for (let i = 1; i <= 40; i++) log.created(`r/a#${i}`, "a", "r");
    const plan = foldEvents(log.events);
    const once = buildDot(plan);
    expect(buildDot(plan)).toBe(once);
    expect(buildDot(foldEvents(JSON.parse(JSON.stringify(log.events)) as typeof log.events))).toBe(once);
    // Creation order everywhere.
    const names = [...parseDot(once).nodes.keys()];
    expect(names).toEqual(["r", ...Array.from({ length: 40 }, (_, i) => `r/a#${i + 1}`)]);
  });

  it("escapes every user string: each name is one node and each label reads back verbatim", async () => {
    const names = ['we"ird', "back\\slash", "new\nline", "<b>{x}|y", "a&amp;b", "\\N\\l", "ünï ✓ 日本", "tab\there", "lone\ud800"];
    const log = new LogBuilder().root("r");
    names.forEach((task, i) => log.created(`r/${task}#${i + 1}`, task, "r"));
    const dot = buildDot(foldEvents(log.events));
    const { nodes } = await layout(dot);
    expect(nodes).toHaveLength(1 + names.length);
    const texts = svgTexts(await dotToSvg(dot));
    for (const task of ['we"ird', "back\\slash", "<b>{x}|y", "a&amp;b", "\\N\\l", "ünï ✓ 日本"]) expect(texts).toContain(task);
    // A newline in a name is a line break, never the end of the DOT string.
    expect(texts).toContain("new");
    expect(texts).toContain("line");
  });

  it("keeps a parent left of all its children, at every depth (root and children never in one column)", async () => {
    const log = new LogBuilder().root("r").status("r", "task.started");
    for (let i = 1; i <= 3; i++) {
      log.created(`r/m#${i}`, "m", "r");
      for (let j = 1; j <= 3; j++) log.created(`r/m#${i}/l#${j}`, "l", `r/m#${i}`);
    }
    const dot = buildDot(foldEvents(log.events));
    const { nodes } = await layout(dot);
    const x = new Map(nodes.map((n) => [n.name, n.x]));
    for (const e of parseDot(dot).edges) expect(x.get(e.from) as number).toBeLessThan(x.get(e.to) as number);
  });

  it("groups siblings of one definition above the threshold, with counts per status", async () => {
    const log = new LogBuilder().root("r").status("r", "task.started");
    for (let i = 1; i <= 1000; i++) {
      log.created(`r/w#${i}`, "w", "r");
      log.created(`r/w#${i}/p#1`, "p", `r/w#${i}`);
    }
    for (let i = 1; i <= 998; i++) log.status(`r/w#${i}`, "task.started").status(`r/w#${i}`, "task.succeeded");
    log.status("r/w#999", "task.started").status("r/w#999", "task.failed").status("r/w#1000", "task.started");
    const dot = buildDot(foldEvents(log.events));
    const parsed = parseDot(dot);
    const groups = [...parsed.nodes.entries()].filter(([, a]) => nodeKind(a) === "group");
    expect(groups.map(([, a]) => a["label"])).toEqual(["w ×1000\\n998 ✓ 1 ✗ 1 running", "p ×1000\\n1000 pending"]);
    expect(groups[0]?.[1]["fillcolor"]).toBe(STATUS_FILL.running);
    expect(parsed.nodes.size).toBe(3);
    expect(dot).toContain("grouped view of 2001 instances");
    expect((await layout(dot)).nodes).toHaveLength(3);
  });

  it("draws every instance below the threshold, grouped above it (option)", () => {
    const log = new LogBuilder().root("r");
    for (let i = 1; i <= 20; i++) log.created(`r/a#${i}`, "a", "r");
    const plan = foldEvents(log.events);
    expect(parseDot(buildDot(plan)).nodes.size).toBe(21);
    expect(parseDot(buildDot(plan, { groupAbove: 10 })).nodes.size).toBe(2);
  });
});
