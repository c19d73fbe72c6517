import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDot, previewPlan, renderPreview, run } from "trellis";
import { MAX_FILE_NAME, safeFileName } from "../../dist/render/render-preview.js";
import { pvTop, ran, repRoot } from "../../.tmp/fixtures/render-shapes.js";
import { decodePng, filesUnder, layout, nodeKind, parseDot, tempDir } from "./render-helpers.ts";

const TOP = "render_pv_top";
const MID = `${TOP}/render_pv_mid~1`;
const LEAF1 = `${MID}/render_pv_leaf~1`;
const LEAF2 = `${MID}/render_pv_leaf~2`;
const OTHER = `${TOP}/render_pv_other~1`;

describe("preview of a definition, before anything runs", () => {
  it("expands placeholders of placeholders, with the declared edges at every level", () => {
    const { plan } = previewPlan(pvTop);
    expect([...plan.nodes.keys()]).toEqual([TOP]);
    expect(plan.nodes.get(TOP)?.status).toBe("pending");
    expect([...plan.placeholders.values()].map((p) => [p.id, p.parent, p.state])).toEqual([
      [MID, TOP, "open"],
      [OTHER, TOP, "open"],
      [LEAF1, MID, "open"],
      [LEAF2, MID, "open"],
    ]);
    const drawn = parseDot(buildDot(plan));
    for (const id of [MID, OTHER, LEAF1, LEAF2]) expect(nodeKind(drawn.nodes.get(id))).toBe("placeholder");
    const edges = drawn.edges.map((e) => `${e.from} -> ${e.to}`);
    expect(edges).toEqual(
      expect.arrayContaining([`${TOP} -> ${MID}`, `${MID} -> ${LEAF1}`, `${MID} -> ${OTHER}`, `${LEAF1} -> ${LEAF2}`]),
    );
    expect(ran).toEqual([]);
  });

  it("shows the ghosts of promises declared on the root's and on the placeholders' definitions", () => {
    const { plan, ghosts } = previewPlan(pvTop);
    expect(ghosts.map((g) => [g.id, g.label])).toEqual([
      [`${TOP}/?render_pv_mid`, "render_pv_mid"],
      [`${TOP}/?render_pv_other`, "render_pv_other"],
      [`${MID}/?render_pv_leaf$budget`, "render_pv_leaf (3 left)"],
    ]);
    const drawn = parseDot(buildDot(plan, { ghosts }));
    expect(nodeKind(drawn.nodes.get(`${MID}/?render_pv_leaf$budget`))).toBe("ghost");
    expect(drawn.edges.find((e) => e.to === `${MID}/?render_pv_leaf$budget`)?.from).toBe(MID);
    // `static` on render_pv_other is declared as NoNewNodes + NoNewEdges: promises, no ghosts.
    expect(ghosts.some((g) => g.owner === OTHER)).toBe(false);
  });

  it("is the same plan as the live one right after the root is created", async () => {
    const preview = previewPlan(repRoot);
    const phs = [...preview.plan.placeholders.values()].map((p) => [p.id, p.task, p.parent]);
    const r = await run(repRoot, { count: 2 }, { executor: "inline", keepEvents: true, runId: "preview-vs-live" });
    const materialized = r.events?.find((e) => e.type === "preview.materialized");
    expect(
      materialized?.type === "preview.materialized"
        ? materialized.data.placeholders.map((p) => [p.id, p.task, p.parent])
        : null,
    ).toEqual(phs);
  });

  it("lays out with Graphviz, the root left of every placeholder", async () => {
    const { plan, ghosts } = previewPlan(pvTop);
    const { nodes } = await layout(buildDot(plan, { ghosts }));
    const x = (name: string) => nodes.find((n) => n.name === name)?.x ?? Number.NaN;
    expect(x(TOP)).toBeLessThan(x(MID));
    expect(x(MID)).toBeLessThan(x(LEAF1));
    expect(x(MID)).toBeLessThan(x(OTHER));
  });

  it("renderPreview writes preview.dot and a PNG with the whole shape", async () => {
    const out = join(tempDir(), "nested", "preview");
    const files = await renderPreview(pvTop, { out, formats: ["png", "svg"] });
    expect(files.dot).toBe(join(out, "preview.dot"));
    expect(readFileSync(files.dot, "utf8")).toBe(files.source);
    expect(files.source).toContain("preview of render_pv_top");
    expect(existsSync(files.svg as string)).toBe(true);
    const png = decodePng(readFileSync(files.png as string));
    expect(png.width).toBeGreaterThan(100);
    expect(ran).toEqual([]);
  });

  it("renderPreview turns a name unsafe in a file name into a plain one inside out", async () => {
    const root = tempDir();
    const out = join(root, "out");
    const files = await renderPreview(pvTop, { out, formats: [], name: 'preview-../../x y"z' });
    expect(files.dot).toMatch(/\/preview-\.\._\.\._x_y_z-[0-9a-f]{8}\.dot$/);
    expect(filesUnder(root)).toEqual([`out/${basename(files.dot)}`]);
  });

  it("gives two long names that share their first 120 characters two files (a hash suffix), as it does names that differ only in unsafe characters", async () => {
    const out = tempDir();
    const long = `preview-${"render_pv_top_".repeat(12)}`;
    const names = [`${long}one`, `${long}two`, "preview-a b", "preview-a_b", "preview-a/b"];
    const files = [];
    for (const name of names) files.push((await renderPreview(pvTop, { out, formats: [], name })).dot);
    expect(new Set(files).size).toBe(names.length);
    expect(filesUnder(out)).toHaveLength(names.length);
    for (const f of files) expect(basename(f, ".dot").length).toBeLessThanOrEqual(MAX_FILE_NAME);
    // A plain short name is kept as it is; the same name always gives the same file.
    expect(basename(files[3] as string)).toBe("preview-a_b.dot");
    expect(safeFileName(names[0] as string)).toBe(basename(files[0] as string, ".dot"));
    expect(safeFileName("")).toBe("preview");
  });
});
