/**
 * The subset of DejaVu Sans the package ships (fonts/DejaVuSans-subset.ttf):
 * it holds what scripts/subset-font.unicodes lists, every character the DOT
 * builder writes, and draws the same pixels as the full font; a drawing
 * with a character only the full font has is drawn with the full font.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildDot, foldEvents } from "trellis";
import { Resvg } from "@resvg/resvg-js";
import { dotToSvg } from "../../dist/render/images.js";
import { describePromise } from "../../dist/promises/describe.js";
import {
  bundledFont,
  fontCodePoints,
  fontFor,
  rasterise,
  resvgOptions,
  subsetFont,
} from "../../dist/render/raster.mjs";
import { LogBuilder, svgTexts } from "./render-helpers.ts";

const LIST = fileURLToPath(new URL("../../scripts/subset-font.unicodes", import.meta.url));

/** The code points of a fontTools `--unicodes-file`: `U+XXXX` or `U+XXXX-YYYY` items, `#` comments. */
function listedCodePoints(text: string): Set<number> {
  const out = new Set<number>();
  for (const line of text.split("\n"))
    for (const item of (line.split("#")[0] ?? "").split(/[\s,]+/).filter((x) => x !== "")) {
      const m = /^(?:U\+)?([0-9a-f]+)(?:-(?:U\+)?([0-9a-f]+))?$/i.exec(item);
      if (!m) throw new Error(`bad item in ${LIST}: ${item}`);
      const start = parseInt(m[1] as string, 16);
      const end = m[2] === undefined ? start : parseInt(m[2], 16);
      for (let c = start; c <= end; c++) out.add(c);
    }
  return out;
}

const full = fontCodePoints(readFileSync(bundledFont()));
const subset = fontCodePoints(readFileSync(subsetFont()));

/** The signs the DOT builder writes itself: `·` (captions, ids in context), `×` and `✓ ✗` (groups), `…` (clipped labels), `→` (refused edges). */
const BUILDER_SIGNS = ["·", "×", "✓", "✗", "…", "→"];

/**
 * Drawings with every sign of {@link BUILDER_SIGNS}, made by the DOT builder:
 * a grouped one (counts, a refused spawn) and a detailed one (a context cut from the left).
 */
function builderDots(): string[] {
  const grouped = new LogBuilder("font-subset").root("r").status("r", "task.started");
  for (let i = 1; i <= 20; i++) grouped.created(`r/w#${i}`, "w", "r");
  for (let i = 1; i <= 18; i++) grouped.status(`r/w#${i}`, "task.started").status(`r/w#${i}`, "task.succeeded");
  grouped.status("r/w#19", "task.started").status("r/w#19", "task.failed");
  const promise = describePromise({ kind: "OnlySpecificEdgesAllowed", edges: [["r", "w"]], scope: "descendants" });
  const refused = [{ id: "r/v#1", task: "v", parent: "r", reason: `${promise}: refused r→v`, promise, seq: 1 }];
  const detailed = new LogBuilder("font-subset").root("r");
  const long = `${"x".repeat(60)}#1`;
  detailed.created(`r/${long}`, "x".repeat(60), "r").created(`r/${long}/post#1`, "post", `r/${long}`);
  detailed.created("r/a#1", "a", "r").created("r/a#1/post#1", "post", "r/a#1");
  return [buildDot(foldEvents(grouped.events), { groupAbove: 10, refused }), buildDot(foldEvents(detailed.events))];
}

/** A drawing of one node per line of text (the task names), through the DOT builder's escaping. */
function namesDot(names: readonly string[]): string {
  const log = new LogBuilder("font-subset").root("r");
  names.forEach((name, i) => log.created(`r/${name}#${i + 1}`, name, "r"));
  return buildDot(foldEvents(log.events));
}

/** Pixels of `svg` drawn with only `font`, the other options as the rasteriser's. */
function pixelsWith(svg: string, font: string): Buffer {
  const options = resvgOptions(svg);
  return Buffer.from(new Resvg(svg, { ...options, font: { ...options.font, fontFiles: [font] } }).render().pixels);
}

describe("the bundled subset of DejaVu Sans", () => {
  it("holds exactly the characters of scripts/subset-font.unicodes that the full font has (regenerate it with scripts/subset-font.sh)", () => {
    const listed = listedCodePoints(readFileSync(LIST, "utf8"));
    const expected = [...listed].filter((c) => full.has(c)).sort((a, b) => a - b);
    expect([...subset].sort((a, b) => a - b)).toEqual(expected);
    expect([...subset].every((c) => full.has(c))).toBe(true);
    // The list is mostly Latin: a blank or truncated list would pass the equality above.
    expect(subset.size).toBeGreaterThan(400);
  });

  it("holds every sign the DOT builder writes, and a drawing of them all is drawn with the subset", async () => {
    for (const sign of BUILDER_SIGNS) expect(subset.has(sign.codePointAt(0) as number), sign).toBe(true);
    const svgs = await Promise.all(builderDots().map((dot) => dotToSvg(dot)));
    const text = svgs.flatMap((svg) => svgTexts(svg)).join("\n");
    for (const sign of BUILDER_SIGNS) expect(text, sign).toContain(sign);
    for (const svg of svgs) expect(fontFor(svg)).toEqual({ file: subsetFont(), missing: [] });
  });

  it("draws the same pixels as the full font for text in the subset: every character of it, kerned pairs, the builder's signs", async () => {
    const chars = [...subset].filter((c) => c > 0x20).map((c) => String.fromCodePoint(c));
    const lines: string[] = [];
    for (let i = 0; i < chars.length; i += 40) lines.push(chars.slice(i, i + 40).join(""));
    lines.push("AVATAR Type, W.Yo: “To” — fi fl Tä LT ‘Wa’ Ŧŵ");
    for (const dot of [namesDot(lines), ...builderDots()]) {
      const svg = await dotToSvg(dot);
      expect(fontFor(svg).file).toBe(subsetFont());
      const drawn = Buffer.from(rasterise(svg).pixels);
      expect(drawn.equals(pixelsWith(svg, bundledFont()))).toBe(true);
      // The picture has text: without a font the same options draw other pixels.
      expect(drawn.equals(pixelsWith(svg, "/nonexistent/font.ttf"))).toBe(false);
    }
  });

  it("draws a character only the full font has (Greek, Cyrillic) with the full font, not the subset's missing-glyph box", async () => {
    const name = "render_λόγος_Жук";
    for (const ch of "λόЖ") {
      expect(full.has(ch.codePointAt(0) as number), ch).toBe(true);
      expect(subset.has(ch.codePointAt(0) as number), ch).toBe(false);
    }
    const svg = await dotToSvg(namesDot([name]));
    expect(fontFor(svg)).toEqual({ file: bundledFont(), missing: [] });
    const drawn = Buffer.from(rasterise(svg).pixels);
    expect(drawn.equals(pixelsWith(svg, bundledFont()))).toBe(true);
    expect(drawn.equals(pixelsWith(svg, subsetFont()))).toBe(false);
  });
});
