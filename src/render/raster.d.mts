import type { Viz } from "@viz-js/viz";
import type { RenderedImage, ResvgRenderOptions } from "@resvg/resvg-js";

export declare const FONT_FAMILY: "DejaVu Sans";
export declare const MAX_PNG_SIDE: number;
export declare const MAX_PNG_PIXELS: number;
export declare function loadGraphviz(): Promise<Viz>;
export declare function bundledFont(): string;
export declare function subsetFont(): string;
export declare function layoutSvg(dot: string, layout?: "wasm" | "system"): Promise<string>;
export declare function svgSize(svg: string): { width: number; height: number } | null;
export declare function fontCodePoints(bytes: Uint8Array): Set<number>;
export declare function fontFor(svg: string): { file: string; missing: string[] };
export declare function missingGlyphs(svg: string): string[];
export declare function extraFontDirs(): string[];
export declare function resvgOptions(svg: string): ResvgRenderOptions;
export declare function rasterise(svg: string): RenderedImage;
export declare function writeImages(
  job: { readonly dot: string; readonly png: string | null; readonly svg: string | null },
  layout?: "wasm" | "system",
): Promise<void>;
