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
    const names = [
      'we"ird',
      "back\\slash",
      "new\nline",
      "<b>{x}|y",
      "a&amp;b",
      "\\N\\l",
      "ünï ✓ 日本",
      "tab\there",
      "lone\ud800",
    ];
    const log = new LogBuilder().root("r");
    names.forEach((task, i) => log.created(`r/${task}#${i + 1}`, task, "r"));
    const dot = buildDot(foldEvents(log.events));
    const { nodes } = await layout(dot);
    expect(nodes).toHaveLength(1 + names.length);
    const texts = svgTexts(await dotToSvg(dot));
    for (const task of ['we"ird', "back\\slash", "<b>{x}|y", "a&amp;b", "\\N\\l", "ünï ✓ 日本"])
      expect(texts).toContain(task);
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

  it("tells apart instances that would read the same: the fewest segments of the parent's id that differ, the full id in the tooltip", () => {
    const log = new LogBuilder().root("r");
    for (const a of ["a#1", "a#2"]) {
      log.created(`r/${a}`, "a", "r").created(`r/${a}/w#1`, "w", `r/${a}`).created(`r/${a}/w#2`, "w", `r/${a}`);
      for (const w of ["w#1", "w#2"]) log.created(`r/${a}/${w}/post#1`, "post", `r/${a}/${w}`);
    }
    const long = `${"x".repeat(60)}#1`;
    log.created(`r/${long}`, "x".repeat(60), "r").created(`r/${long}/post#1`, "post", `r/${long}`);
    const dot = parseDot(buildDot(foldEvents(log.events)));
    const label = (id: string) => dot.nodes.get(id)?.["label"];
    expect(label("r/a#1/w#2")).toBe("w\\n#2 · in a#1");
    expect(label("r/a#2/w#2")).toBe("w\\n#2 · in a#2");
    expect(label("r/a#1/w#2/post#1")).toBe("post\\n#1 · in a#1/w#2");
    expect(label("r/a#2/w#1/post#1")).toBe("post\\n#1 · in a#2/w#1");
    // A long parent id is cut from the left, so the end that tells it apart stays.
    expect(label(`r/${long}/post#1`)).toMatch(/^post\\n#1 · in …x+#1$/);
    expect([...((label(`r/${long}/post#1`) as string).split("\\n")[1] as string)].length).toBe(48);
    // Labels that already differ are left alone; every label is now unique.
    expect(label("r/a#1")).toBe("a\\n#1");
    const labels = [...dot.nodes.values()].map((a) => a["label"]);
    expect(new Set(labels).size).toBe(labels.length);
    expect(dot.nodes.get("r/a#2/w#1/post#1")?.["tooltip"]).toBe("r/a#2/w#1/post#1 (pending)");
  });

  it("tells apart groups of one definition under different parents in the grouped view", () => {
    const log = new LogBuilder().root("r");
    for (const parent of ["b", "c"]) {
      log.created(`r/${parent}#1`, parent, "r");
      for (let i = 1; i <= 60; i++) log.created(`r/${parent}#1/leaf#${i}`, "leaf", `r/${parent}#1`);
    }
    const dot = parseDot(buildDot(foldEvents(log.events)));
    const groups = [...dot.nodes.values()].filter((a) => nodeKind(a) === "group").map((a) => a["label"]);
    // Group paths name the parent group by definition (`r/b`), so the context is the definition.
    expect(groups).toEqual(["leaf ×60\\nin b\\n60 pending", "leaf ×60\\nin c\\n60 pending"]);
  });

  it("writes tooltips verbatim in the SVG: Graphviz escapes (\\N, \\G, \\L) in a name are not expanded", async () => {
    const weird = 'x\\N\\G\\E\\L\\T\\H "q" &amp; <b> \\\\';
    const log = new LogBuilder().root("r\\N").created(`r\\N/${weird}#1`, weird, "r\\N");
    const svg = await dotToSvg(buildDot(foldEvents(log.events)));
    const titles = [...svg.matchAll(/xlink:title="([^"]*)"/g)].map(
      (m) => svgTexts(`<text>${m[1] as string}</text>`)[0],
    );
    expect(titles).toEqual(["r\\N (pending)", `r\\N/${weird}#1 (pending)`]);
    expect(svgTexts(svg)).toContain(weird);
  });
});
