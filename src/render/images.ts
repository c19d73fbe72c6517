/**
 * DOT → SVG → PNG with nothing installed on the machine: Graphviz compiled
 * to WebAssembly (`@viz-js/viz`, loaded once per thread) and the
 * resvg rasteriser with the DejaVu Sans font the package brings
 * (`dejavu-fonts-ttf`; most drawings use the package's subset of it,
 * fonts/DejaVuSans-subset.ttf: same glyphs, parsed faster for each frame),
 * so a machine with no fonts still draws text, and every machine draws the
 * same pixels. Only a drawing with characters DejaVu Sans lacks (Chinese,
 * most emoji) also loads the system's fonts and those of `TRELLIS_FONT_DIRS`
 * for them (see `resvgOptions` in raster.mjs).
 * A system `dot` is used only when asked for (`layout: "system"`).
 *
 * The work is done by `raster.mjs` (plain JavaScript, shared with the image
 * worker); this module gives it types and Trellis errors.
 */
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { ImageJob, LayoutEngine } from "./image-protocol.ts";
import { bundledFont, layoutSvg, loadGraphviz, rasterise, writeImages as rasterWrite } from "./raster.mjs";

export { bundledFont, loadGraphviz };
export type { LayoutEngine };

/** Image formats a snapshot can have besides its DOT file. */
export const IMAGE_FORMATS = ["png", "svg"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface ImageOptions {
  /** Default `"wasm"`. `"system"` runs `dot -Tsvg` and fails with `RENDER` when it is missing. */
  readonly layout?: LayoutEngine;
}

function renderError(message: string, cause: unknown): TrellisError {
  return new TrellisError(ErrorCodes.RENDER, message, {}, { cause });
}

/**
 * Lays out `dot` and returns the SVG.
 * @throws TrellisError `RENDER` when Graphviz rejects the source or the system `dot` is missing.
 */
export async function dotToSvg(dot: string, options: ImageOptions = {}): Promise<string> {
  try {
    return await layoutSvg(dot, options.layout ?? "wasm");
  } catch (error) {
    throw renderError(`Graphviz could not lay out the graph: ${(error as Error).message}`, error);
  }
}

/**
 * Lays out `dot` with the embedded Graphviz in another format or engine:
 * `json` positions from `dot` (the viewer's union layout), or `svg` from
 * `neato` keeping the given positions (`pinned`: `neato -n2`).
 * @throws TrellisError `RENDER` when Graphviz rejects the source.
 */
export async function layoutDot(
  dot: string,
  how: { format: "svg" | "json"; engine: "dot" | "neato"; pinned?: boolean },
): Promise<string> {
  try {
    const gv = await loadGraphviz();
    // Graphviz's `nop2` layout is `neato -n2`: the nodes stay at their `pos`, the edges are routed between them.
    return gv.renderString(dot, { format: how.format, engine: how.pinned === true ? "nop2" : how.engine });
  } catch (error) {
    throw renderError(`Graphviz could not lay out the graph: ${(error as Error).message}`, error);
  }
}

/**
 * Rasterises an SVG with the bundled font (and, for characters it lacks,
 * the system's fonts and those of `TRELLIS_FONT_DIRS`).
 * @throws TrellisError `RENDER` when the SVG cannot be read.
 */
export function svgToPng(svg: string): Buffer {
  try {
    return rasterise(svg).asPng();
  } catch (error) {
    throw renderError(`cannot rasterise the SVG: ${(error as Error).message}`, error);
  }
}

/** Raw RGBA pixels of an SVG rendered like {@link svgToPng} (for checks that look at the picture). */
export function svgToPixels(svg: string): { width: number; height: number; rgba: Buffer } {
  const img = rasterise(svg);
  return { width: img.width, height: img.height, rgba: img.pixels };
}

/** Both images of one DOT source, as asked. */
export async function renderDot(
  dot: string,
  formats: readonly ImageFormat[],
  options: ImageOptions = {},
): Promise<{ svg?: string; png?: Buffer }> {
  if (formats.length === 0) return {};
  const svg = await dotToSvg(dot, options);
  const out: { svg?: string; png?: Buffer } = {};
  if (formats.includes("svg")) out.svg = svg;
  if (formats.includes("png")) out.png = svgToPng(svg);
  return out;
}

/**
 * Draws one job and writes its files.
 * @throws TrellisError `RENDER` (layout or rasterising) or `OUTPUT_DIR` (writing).
 */
export async function writeImages(job: ImageJob, layout: LayoutEngine = "wasm"): Promise<void> {
  try {
    await rasterWrite(job, layout);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const target = job.png ?? job.svg ?? "";
    if (typeof e.code === "string" && e.syscall !== undefined)
      throw new TrellisError(
        ErrorCodes.OUTPUT_DIR,
        `cannot write ${target}: ${e.message}`,
        { path: target },
        { cause: error },
      );
    throw renderError(`cannot draw ${target}: ${e.message}`, error);
  }
}
