/**
 * DOT → SVG → PNG with nothing installed on the machine: Graphviz compiled
 * to WebAssembly (`@hpcc-js/wasm-graphviz`, loaded once per thread) and the
 * resvg rasteriser with the DejaVu Sans font the package brings
 * (`dejavu-fonts-ttf`). System fonts are never loaded, so every machine
 * draws the same pixels, and a machine with no fonts still draws text.
 * A system `dot` is used only when asked for (`layout: "system"`).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import type { Graphviz } from "@hpcc-js/wasm-graphviz";
import type * as Resvg from "@resvg/resvg-js";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { FONT_FAMILY } from "./dot-text.ts";

/** Image formats a snapshot can have besides its DOT file. */
export type ImageFormat = "png" | "svg";
export const IMAGE_FORMATS: readonly ImageFormat[] = ["png", "svg"];

/** Which Graphviz lays the graph out: the embedded one (default) or a `dot` on the PATH. */
export type LayoutEngine = "wasm" | "system";

export interface ImageOptions {
  /** Default `"wasm"`. `"system"` runs `dot -Tsvg` and fails with `RENDER` when it is missing. */
  readonly layout?: LayoutEngine;
}

/** Largest PNG side in pixels; bigger drawings are scaled down to fit. */
export const MAX_PNG_SIDE = 8192;
/** Largest PNG area in pixels (a tall fan-out of hundreds of nodes). */
export const MAX_PNG_PIXELS = 24_000_000;

let graphviz: Promise<Graphviz> | undefined;

/** The embedded Graphviz of this thread, loaded on first use (~0.1–0.2 s). */
export function loadGraphviz(): Promise<Graphviz> {
  graphviz ??= import("@hpcc-js/wasm-graphviz").then((m) => m.Graphviz.load());
  return graphviz;
}

let fontPath: string | undefined;

/** Path of the bundled `DejaVuSans.ttf`. */
export function bundledFont(): string {
  fontPath ??= createRequire(import.meta.url).resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf");
  return fontPath;
}

function renderError(message: string, cause?: unknown): TrellisError {
  return new TrellisError(ErrorCodes.RENDER, message, {}, cause === undefined ? undefined : { cause });
}

/**
 * Lays out `dot` and returns the SVG.
 * @throws TrellisError `RENDER` when Graphviz rejects the source or the system `dot` is missing.
 */
export async function dotToSvg(dot: string, options: ImageOptions = {}): Promise<string> {
  if (options.layout === "system") {
    const r = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", maxBuffer: 1 << 30 });
    if (r.error) throw renderError(`cannot run the system Graphviz \`dot\` (${r.error.message}); install Graphviz or use the embedded layout`, r.error);
    if (r.status !== 0) throw renderError(`the system Graphviz \`dot\` failed: ${r.stderr.trim().split("\n")[0] ?? ""}`);
    return r.stdout;
  }
  const gv = await loadGraphviz();
  try {
    return gv.layout(dot, "svg", "dot");
  } catch (error) {
    throw renderError(`Graphviz could not lay out the graph: ${(error as Error).message}`, error);
  }
}

/** Size of an SVG from its root `width`/`height` in pt or px, in CSS pixels. */
function svgSize(svg: string): { width: number; height: number } | null {
  const head = /<svg\b[^>]*>/.exec(svg)?.[0];
  if (!head) return null;
  const read = (attr: string): number | null => {
    const m = new RegExp(`\\b${attr}="([0-9.]+)(pt|px)?"`).exec(head);
    if (!m) return null;
    const v = Number(m[1]);
    return m[2] === "pt" ? (v * 96) / 72 : v;
  };
  const width = read("width");
  const height = read("height");
  return width !== null && height !== null ? { width, height } : null;
}

let resvg: typeof Resvg | undefined;

/** The rasteriser, a native module (CommonJS), loaded on first use. */
function loadResvg(): typeof Resvg {
  resvg ??= createRequire(import.meta.url)("@resvg/resvg-js") as typeof Resvg;
  return resvg;
}

function resvgOptions(svg: string): Resvg.ResvgRenderOptions {
  const size = svgSize(svg);
  let zoom = 1;
  if (size) {
    zoom = Math.min(1, MAX_PNG_SIDE / size.width, MAX_PNG_SIDE / size.height, Math.sqrt(MAX_PNG_PIXELS / (size.width * size.height)));
  }
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

/**
 * Rasterises an SVG with the bundled font.
 * @throws TrellisError `RENDER` when the SVG cannot be read.
 */
export function svgToPng(svg: string): Buffer {
  try {
    const { Resvg } = loadResvg();
    return new Resvg(svg, resvgOptions(svg)).render().asPng();
  } catch (error) {
    throw renderError(`cannot rasterise the SVG: ${(error as Error).message}`, error);
  }
}

/** Raw RGBA pixels of an SVG rendered like {@link svgToPng} (for checks that look at the picture). */
export function svgToPixels(svg: string): { width: number; height: number; rgba: Buffer } {
  const { Resvg } = loadResvg();
  const img = new Resvg(svg, resvgOptions(svg)).render();
  return { width: img.width, height: img.height, rgba: img.pixels };
}

/** Both images of one DOT source, as asked. */
export async function renderDot(dot: string, formats: readonly ImageFormat[], options: ImageOptions = {}): Promise<{ svg?: string; png?: Buffer }> {
  if (formats.length === 0) return {};
  const svg = await dotToSvg(dot, options);
  const out: { svg?: string; png?: Buffer } = {};
  if (formats.includes("svg")) out.svg = svg;
  if (formats.includes("png")) out.png = svgToPng(svg);
  return out;
}
