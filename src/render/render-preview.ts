/**
 * `renderPreview`: draws the declared shape of a definition before anything
 * runs (`trellis preview`) to `<out>/preview.dot` and its images.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { ensureWritableDir } from "../events/output-dir.ts";
import { previewPlan } from "../preview/preview-plan.ts";
import type { AnyTask } from "../task/define.ts";
import { buildDot } from "./dot.ts";
import type { ImageFormat, LayoutEngine } from "./images.ts";
import { renderDot } from "./images.ts";
import { checkSnapshotOptions } from "./snapshots.ts";

/** Options of {@link renderPreview}. */
export interface RenderPreviewOptions {
  /** Output folder. Required. */
  readonly out: string;
  /** Images besides the DOT file. Default `["png"]`. */
  readonly formats?: readonly ImageFormat[];
  /** Graphviz to use. Default `"wasm"` (embedded). */
  readonly layout?: LayoutEngine;
  /**
   * File name without extension. Default `"preview"`. Characters other than
   * letters, digits, `_`, `-` and `.` become `_` (a task name may hold any),
   * so the files always land in `out`; a name changed that way, or cut at
   * 120 characters, gets a short hash suffix so that it stays unique (see
   * {@link safeFileName}).
   */
  readonly name?: string;
}

/** Longest file name {@link safeFileName} returns, without the extension. */
export const MAX_FILE_NAME = 120;

/**
 * `name` as a plain file name: no separators, no leading dot, not empty, at
 * most {@link MAX_FILE_NAME} characters. A name that had to be changed (a
 * character replaced, or cut) ends in `-` and 8 hex digits of its SHA-256,
 * so two names never share a file: `preview-a b` and `preview-a_b`, or two
 * long names with the same first 120 characters.
 */
export function safeFileName(name: string): string {
  const plain = name.replace(/[^\w.-]/g, "_").replace(/^\.+/, "_");
  if (plain === name && plain.length <= MAX_FILE_NAME) return name === "" ? "preview" : name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${plain.slice(0, MAX_FILE_NAME - hash.length - 1)}-${hash}`;
}

/** Files written by {@link renderPreview}. */
export interface RenderPreviewResult {
  readonly dot: string;
  /** The DOT source itself. */
  readonly source: string;
  readonly png: string | null;
  readonly svg: string | null;
}

/**
 * The declared shape of `def` (placeholders of placeholders, ghosts of
 * declared promises), drawn without running anything.
 *
 * @example
 * const { png } = await renderPreview(squareBatch, { out: "outputs/preview" });
 *
 * @throws TrellisError `OUTPUT_DIR` when `out` cannot be written;
 *   `RENDER` when an image cannot be drawn.
 */
export async function renderPreview(def: AnyTask, options: RenderPreviewOptions): Promise<RenderPreviewResult> {
  const formats = options.formats ?? ["png"];
  checkSnapshotOptions(undefined, formats);
  const name = safeFileName(options.name ?? "preview");
  const { plan, ghosts } = previewPlan(def);
  const source = buildDot(plan, { ghosts, title: `preview of ${def.name} · nothing run` });
  const out = resolve(options.out);
  const files = {
    dot: join(out, `${name}.dot`),
    png: formats.includes("png") ? join(out, `${name}.png`) : null,
    svg: formats.includes("svg") ? join(out, `${name}.svg`) : null,
  };
  try {
    ensureWritableDir(out);
    writeFileSync(files.dot, source);
  } catch (error) {
    throw new TrellisError(
      ErrorCodes.OUTPUT_DIR,
      `cannot write the preview to ${out}: ${(error as Error).message}; choose a writable output folder`,
      { path: out },
      { cause: error },
    );
  }
  const images = await renderDot(source, formats, options.layout === undefined ? {} : { layout: options.layout });
  try {
    if (files.svg !== null && images.svg !== undefined) writeFileSync(files.svg, images.svg);
    if (files.png !== null && images.png !== undefined) writeFileSync(files.png, images.png);
  } catch (error) {
    throw new TrellisError(
      ErrorCodes.OUTPUT_DIR,
      `cannot write the preview images to ${out}: ${(error as Error).message}`,
      { path: out },
      { cause: error },
    );
  }
  return { ...files, source };
}
