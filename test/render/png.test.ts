import { createRequire } from "node:module";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { buildDot, foldEvents } from "trellis";
import { dotToSvg, svgToPng } from "../../dist/render/images.js";
import { FONT_FAMILY } from "../../dist/render/dot-text.js";
import { Resvg } from "@resvg/resvg-js";
import { FONT_FAMILY as RASTER_FONT, missingGlyphs, resvgOptions } from "../../dist/render/raster.mjs";
import { LogBuilder, darkPixels, decodePng, layout, svgTexts } from "./render-helpers.ts";

/** A one-node plan whose node is `task` (its label is the task name, the root has no short id). */
function oneNode(task: string): string {
  return buildDot(foldEvents(new LogBuilder("png").root(task).status(task, "task.succeeded").events));
}

/** Pixels of the node's box (inset so its dark outline is left out), in the PNG. */
async function nodeBox(dot: string, name: string): Promise<{ x0: number; y0: number; x1: number; y1: number }> {
  const { nodes } = await layout(dot);
  const node = nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name}`);
  // SVG user units are points with a 4 pt margin; resvg draws 96 px per 72 pt.
  const px = 96 / 72;
  const inset = 6; // past the outline and its rounded corners
  return {
    x0: (4 + node.x - node.width / 2 + inset) * px,
    x1: (4 + node.x + node.width / 2 - inset) * px,
    y0: (4 + node.y - node.height / 2 + inset) * px,
    y1: (4 + node.y + node.height / 2 - inset) * px,
  };
}

describe("PNG with the bundled font", () => {
  it("draws the label as dark text pixels inside the node's box, with no system font", async () => {
    const dot = oneNode("render_png_label");
    const png = decodePng(svgToPng(await dotToSvg(dot)));
    const box = await nodeBox(dot, "render_png_label");
    expect(darkPixels(png, box)).toBeGreaterThan(100);
  });

  it("draws no dark pixels in the same box when the label is blank (the pixels above are text)", async () => {
    const text = "render_png_label";
    const blank = " ".repeat(text.length);
    const withText = oneNode(text);
    // Same node size, blank label: only the fill is inside the inset box.
    const withoutText = withText.replace(`label="${text}"`, `label="${blank}"`);
    expect(withoutText).not.toBe(withText);
    const png = decodePng(svgToPng(await dotToSvg(withoutText)));
    const box = await nodeBox(withoutText, text);
    expect(darkPixels(png, box)).toBe(0);
  });

  it("names the bundled font in the DOT and the SVG, so no fallback face is picked", async () => {
    expect(RASTER_FONT).toBe(FONT_FAMILY);
    const dot = oneNode("render_png_font");
    expect(dot).toContain(`fontname="${FONT_FAMILY}"`);
    const svg = await dotToSvg(dot);
    expect(svg).toContain(`font-family="${FONT_FAMILY}"`);
    expect(svgTexts(svg)).toContain("render_png_font");
  });

  it("draws characters the bundled font lacks with a font that has them (the system's, or TRELLIS_FONT_DIRS)", async () => {
    // APL symbols: in DejaVu Sans Mono, not in DejaVu Sans, so the bundled font draws nothing for them.
    const name = "⍋⍒⌽⍉⌸⌹";
    const dot = oneNode(name);
    const svg = await dotToSvg(dot);
    expect(missingGlyphs(svg)).toEqual([...name]);
    expect(missingGlyphs(await dotToSvg(oneNode("render_png_latin ✓ ünï")))).toEqual([]);
    const saved = process.env["TRELLIS_FONT_DIRS"];
    process.env["TRELLIS_FONT_DIRS"] = dirname(
      createRequire(import.meta.url).resolve("dejavu-fonts-ttf/ttf/DejaVuSansMono.ttf"),
    );
    try {
      const png = decodePng(svgToPng(svg));
      const box = await nodeBox(dot, name);
      expect(darkPixels(png, box)).toBeGreaterThan(60);
      // The bundled font alone draws its .notdef box for each: the picture must not be that one.
      const options = resvgOptions(svg);
      const bundledOnly = decodePng(
        new Resvg(svg, { ...options, font: { ...options.font, loadSystemFonts: false, fontDirs: [] } })
          .render()
          .asPng(),
      );
      expect(Buffer.from(png.rgba).equals(Buffer.from(bundledOnly.rgba))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env["TRELLIS_FONT_DIRS"];
      else process.env["TRELLIS_FONT_DIRS"] = saved;
    }
  });
});
