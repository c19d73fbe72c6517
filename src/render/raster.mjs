// Layout and rasterising, in plain JavaScript so the image worker can load
// it without a TypeScript loader (registering tsx in a worker costs ~0.4 s
// of CPU per run). Typed by raster.d.mts; wrapped with Trellis errors by
// images.ts. Errors thrown here are plain Errors.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

/** The bundled font's family; the DOT builder writes the same name (dot-text.ts, checked by a test). */
export const FONT_FAMILY = "DejaVu Sans";
/** Largest PNG side in pixels; bigger drawings are scaled down to fit. */
export const MAX_PNG_SIDE = 8192;
/** Largest PNG area in pixels (a tall fan-out of hundreds of nodes). */
export const MAX_PNG_PIXELS = 24_000_000;

const require = createRequire(import.meta.url);

let graphviz;
/** The embedded Graphviz of this thread, loaded on first use (~0.1–0.2 s). */
export function loadGraphviz() {
  graphviz ??= import("@hpcc-js/wasm-graphviz").then((m) => m.Graphviz.load());
  return graphviz;
}

let fontPath;
/** Path of the bundled `DejaVuSans.ttf` (npm package dejavu-fonts-ttf). */
export function bundledFont() {
  fontPath ??= require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf");
  return fontPath;
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
    if (r.error) throw new Error(`cannot run the system Graphviz \`dot\` (${r.error.message}); install Graphviz or use the embedded layout`);
    if (r.status !== 0) throw new Error(`the system Graphviz \`dot\` failed: ${(r.stderr ?? "").trim().split("\n")[0] ?? ""}`);
    return r.stdout;
  }
  const gv = await loadGraphviz();
  return gv.layout(dot, "svg", "dot");
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

/** resvg options: the bundled font only (no system font), white background, capped size. */
export function resvgOptions(svg) {
  const size = svgSize(svg);
  const zoom = size ? Math.min(1, MAX_PNG_SIDE / size.width, MAX_PNG_SIDE / size.height, Math.sqrt(MAX_PNG_PIXELS / (size.width * size.height))) : 1;
  return {
    font: {
      loadSystemFonts: false,
      fontFiles: [bundledFont()],
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
