// Layout and rasterising, in plain JavaScript so the image worker can load
// it without a TypeScript loader (registering tsx in a worker costs ~0.4 s
// of CPU per run). Typed by raster.d.mts; wrapped with Trellis errors by
// images.ts. Errors thrown here are plain Errors.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter } from "node:path";
import { fileURLToPath } from "node:url";

/** The bundled font's family; the DOT builder writes the same name (dot-text.ts, checked by a test). */
export const FONT_FAMILY = "DejaVu Sans";
/** Largest PNG side in pixels; bigger drawings are scaled down to fit. */
export const MAX_PNG_SIDE = 8192;
/** Largest PNG area in pixels (a tall fan-out of hundreds of nodes). */
export const MAX_PNG_PIXELS = 24_000_000;

const require = createRequire(import.meta.url);

let graphviz;
/**
 * The embedded Graphviz of this thread (`@viz-js/viz`, Graphviz 16.1 in
 * WebAssembly), loaded on first use (~15 ms on Node 26).
 */
export function loadGraphviz() {
  graphviz ??= import("@viz-js/viz").then((m) => m.instance());
  return graphviz;
}

let fontPath;
/** Path of the full `DejaVuSans.ttf` (npm package dejavu-fonts-ttf, 757 KB). */
export function bundledFont() {
  fontPath ??= require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf");
  return fontPath;
}

// dist/render/raster.mjs and src/render/raster.mjs are both two folders below the package's root.
const SUBSET_PATH = fileURLToPath(new URL("../../fonts/DejaVuSans-subset.ttf", import.meta.url));
/**
 * Path of the package's subset of DejaVu Sans (fonts/DejaVuSans-subset.ttf,
 * 51 KB, made by scripts/subset-font.sh): Latin letters, punctuation,
 * arrows and the signs the DOT builder writes, with the full font's glyphs
 * and layout tables. resvg reads and parses its font file again for each
 * drawing: ~0.9 ms for the subset against ~5 ms for the full font (a
 * 17-node frame of the map_reduce demo).
 */
export function subsetFont() {
  return SUBSET_PATH;
}

let resvg;
function loadResvg() {
  resvg ??= require("@resvg/resvg-js");
  return resvg;
}

/** Lays `dot` out with the embedded Graphviz, or `dot -Tsvg` on the PATH for layout "system". */
export async function layoutSvg(dot, layout = "wasm") {
  if (layout === "system") {
    const r = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", maxBuffer: 1 << 30 });
    if (r.error)
      throw new Error(
        `cannot run the system Graphviz \`dot\` (${r.error.message}); install Graphviz or use the embedded layout`,
      );
    if (r.status !== 0)
      throw new Error(`the system Graphviz \`dot\` failed: ${(r.stderr ?? "").trim().split("\n")[0] ?? ""}`);
    return r.stdout;
  }
  const gv = await loadGraphviz();
  return gv.renderString(dot, { format: "svg", engine: "dot" });
}

/** Size of an SVG from its root `width`/`height` (pt or px), in CSS pixels. */
export function svgSize(svg) {
  const head = /<svg\b[^>]*>/.exec(svg)?.[0];
  if (!head) return null;
  const read = (attr) => {
    const m = new RegExp(`\\b${attr}="([0-9.]+)(pt|px)?"`).exec(head);
    if (!m) return null;
    const v = Number(m[1]);
    return m[2] === "pt" ? (v * 96) / 72 : v;
  };
  const width = read("width");
  const height = read("height");
  return width !== null && height !== null ? { width, height } : null;
}

/**
 * The code points a TrueType/OpenType font maps to a glyph, read from its
 * `cmap` table (format 12, else format 4, of the Unicode subtables).
 */
export function fontCodePoints(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = view.getUint16(4);
  let cmap = -1;
  for (let i = 0; i < tables; i++) {
    const at = 12 + 16 * i;
    if (String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]) === "cmap")
      cmap = view.getUint32(at + 8);
  }
  const out = new Set();
  if (cmap < 0) return out;
  const subtables = [];
  for (let i = 0, n = view.getUint16(cmap + 2); i < n; i++) {
    const at = cmap + 4 + 8 * i;
    const platform = view.getUint16(at);
    const encoding = view.getUint16(at + 2);
    if (platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10)))
      subtables.push(cmap + view.getUint32(at + 4));
  }
  const formats = subtables.map((at) => [view.getUint16(at), at]);
  const twelve = formats.find(([f]) => f === 12);
  const four = formats.find(([f]) => f === 4);
  if (twelve) {
    const at = twelve[1];
    for (let g = 0, n = view.getUint32(at + 12); g < n; g++) {
      const start = view.getUint32(at + 16 + 12 * g);
      const end = view.getUint32(at + 20 + 12 * g);
      const glyph = view.getUint32(at + 24 + 12 * g);
      for (let c = start; c <= end; c++) if (glyph + (c - start) !== 0) out.add(c);
    }
  } else if (four) {
    const at = four[1];
    const segs = view.getUint16(at + 6) / 2;
    const ends = at + 14;
    const starts = ends + 2 * segs + 2;
    const deltas = starts + 2 * segs;
    const ranges = deltas + 2 * segs;
    for (let i = 0; i < segs; i++) {
      const end = view.getUint16(ends + 2 * i);
      const start = view.getUint16(starts + 2 * i);
      const delta = view.getInt16(deltas + 2 * i);
      const rangeAt = ranges + 2 * i;
      const range = view.getUint16(rangeAt);
      for (let c = start; c <= end && c !== 0xffff; c++) {
        const glyph = range === 0 ? (c + delta) & 0xffff : view.getUint16(rangeAt + range + 2 * (c - start));
        if (glyph !== 0 && (range === 0 || ((glyph + delta) & 0xffff) !== 0)) out.add(c);
      }
    }
  }
  return out;
}

const coverage = new Map();
/** Code points the font file at `path` draws (read once per thread: ~5 ms for the full font, <1 ms for the subset). */
function codePointsOf(path) {
  let have = coverage.get(path);
  if (have === undefined) {
    have = fontCodePoints(readFileSync(path));
    coverage.set(path, have);
  }
  return have;
}

function decodeXml(text) {
  return text
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

/** Code points of the SVG's text, in order of first appearance. Spaces and controls do not count. */
function textCodePoints(svg) {
  const out = new Set();
  for (const m of svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g))
    for (const ch of decodeXml(m[1] ?? "")) {
      const cp = ch.codePointAt(0);
      if (cp > 0x20) out.add(cp);
    }
  return out;
}

/**
 * The font file a drawing is rasterised with, and the characters of its text
 * that even the full DejaVu Sans lacks (Chinese, emoji, ...; in order of
 * first appearance). The subset when it has every character of the text
 * (most drawings); else the full font, which draws each glyph the subset
 * has exactly as the subset does, and the rest too.
 */
export function fontFor(svg) {
  const used = textCodePoints(svg);
  const subset = codePointsOf(subsetFont());
  if ([...used].every((cp) => subset.has(cp))) return { file: subsetFont(), missing: [] };
  const full = codePointsOf(bundledFont());
  return {
    file: bundledFont(),
    missing: [...used].filter((cp) => !full.has(cp)).map((cp) => String.fromCodePoint(cp)),
  };
}

/**
 * Characters of the SVG's text that the bundled font (the full DejaVu Sans)
 * cannot draw (Chinese, emoji, ...), in order of first appearance. Spaces
 * and controls do not count.
 */
export function missingGlyphs(svg) {
  return fontFor(svg).missing;
}

/**
 * Extra font folders to search for characters the bundled font lacks:
 * `TRELLIS_FONT_DIRS`, separated like PATH (`:` or `;` on Windows).
 */
export function extraFontDirs() {
  const value = process.env["TRELLIS_FONT_DIRS"] ?? "";
  return value.split(delimiter).filter((d) => d !== "");
}

/**
 * resvg options: the bundled font (its subset when that has every character,
 * see {@link fontFor}), white background, capped size. Text the
 * bundled font cannot draw (a task named in Chinese, an emoji) falls back to
 * the fonts of the system and of `TRELLIS_FONT_DIRS`: resvg then picks, per
 * character, a font that has it. Only such drawings load them, so every
 * other drawing is the same on every machine (and no frame pays for
 * scanning the system's fonts).
 */
export function resvgOptions(svg) {
  const size = svgSize(svg);
  const zoom = size
    ? Math.min(
        1,
        MAX_PNG_SIDE / size.width,
        MAX_PNG_SIDE / size.height,
        Math.sqrt(MAX_PNG_PIXELS / (size.width * size.height)),
      )
    : 1;
  const { file, missing } = fontFor(svg);
  const fallback = missing.length > 0;
  return {
    font: {
      loadSystemFonts: fallback,
      ...(fallback ? { fontDirs: extraFontDirs() } : {}),
      fontFiles: [file],
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
      serifFamily: FONT_FAMILY,
      monospaceFamily: FONT_FAMILY,
    },
    background: "white",
    fitTo: zoom < 1 ? { mode: "zoom", value: zoom } : { mode: "original" },
    logLevel: "off",
  };
}

/** Rasterises an SVG: the rendered image (`asPng()`, `pixels`, `width`, `height`). */
export function rasterise(svg) {
  const { Resvg } = loadResvg();
  return new Resvg(svg, resvgOptions(svg)).render();
}

/** Draws one job ({ dot, png, svg } with file paths or null) and writes its files. */
export async function writeImages(job, layout = "wasm") {
  if (job.png === null && job.svg === null) return;
  const svg = await layoutSvg(job.dot, layout);
  if (job.svg !== null) writeFileSync(job.svg, svg);
  if (job.png !== null) writeFileSync(job.png, rasterise(svg).asPng());
}
