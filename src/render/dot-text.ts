/**
 * Text for DOT sources: quoting of ids and labels, and the fixed styles of
 * SPEC section 8. Pure.
 *
 * Every user string (task names, ids, labels, tooltips) goes through
 * {@link dotId}, {@link dotLabel} or {@link dotTooltip}, so no name can
 * break out of its quotes, start a Graphviz escape (`\N`, `\l`) or an HTML
 * entity, or collide with another name.
 */
import type { TaskStatus } from "../events/types.ts";

/** The bundled font's family: used in DOT and by the rasteriser (`raster.mjs` holds the same name). */
export const FONT_FAMILY = "DejaVu Sans";

/** Fill of an instance by status (SPEC section 8). */
export const STATUS_FILL: Readonly<Record<TaskStatus, string>> = {
  pending: "#d9d9d9",
  running: "#ffd700",
  waiting: "#add8e6",
  succeeded: "#8fd98f",
  failed: "#f06262",
  skipped: "#ffb347",
  cancelled: "#ffb347",
};

/** Fill of an instance that succeeded from the results cache (drawn with a dashed outline): a paler green than run successes. */
export const CACHED_FILL = "#cdeecd";

/** Gray of lineage edges, placeholders and ghosts. */
export const GRAY = "#8c8c8c";
/** Text of placeholders and ghosts. */
export const GRAY_TEXT = "#737373";

/** Outline and text of a refused spawn (a red ghost). */
export const REFUSED_RED = "#d62728";

/** Longest label line drawn; longer user strings are cut with an ellipsis. */
export const MAX_LABEL_CHARS = 48;

function hex(cp: number): string {
  return cp.toString(16).padStart(4, "0");
}

/**
 * Body of a DOT quoted string. Injective: `\` doubles, `"` and newlines get
 * a backslash, and control characters and lone surrogates (which would all
 * turn into U+FFFD in UTF-8) become `\u{hhhh}` with a single backslash,
 * which no escaped user backslash can produce.
 */
function quoteBody(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0x2028 && cp <= 0x2029) || (cp >= 0xd800 && cp <= 0xdfff))
      out += `\\u{${hex(cp)}}`;
    else out += ch;
  }
  return out;
}

/** A node name as a DOT quoted id: `square_batch/square#3` → `"square_batch/square#3"`. */
export function dotId(id: string): string {
  return `"${quoteBody(id)}"`;
}

/** Cuts a line longer than {@link MAX_LABEL_CHARS} (by code points) with an ellipsis. */
export function clip(text: string, max = MAX_LABEL_CHARS): string {
  if (text.length <= max) return text;
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join("") + "…";
}

/**
 * A label as a DOT quoted string. `lines` are user text drawn verbatim:
 * `&` is written as `&amp;` (Graphviz reads entities in labels) and a
 * backslash as `\\` (so `\N` or `\l` in a name are not Graphviz escapes).
 * Lines are centred (`\n` breaks) or, with `left`, left-justified (`\l`).
 */
export function dotLabel(
  lines: readonly string[],
  justify: "center" | "left" = "center",
  max = MAX_LABEL_CHARS,
): string {
  const body = lines.map((l) => quoteBody(clip(l, max).replace(/&/g, "&amp;")));
  return justify === "left" ? `"${body.map((l) => `${l}\\l`).join("")}"` : `"${body.join("\\n")}"`;
}

/**
 * A tooltip as a DOT quoted string. Graphviz unescapes a tooltip twice (once
 * as a string, once expanding `\N`, `\G`, `\E`, `\T`, `\H`, `\L`, where
 * `\\` is a backslash), so a backslash in the text is written as four:
 * `a\Nb` stays `a\Nb` in the SVG instead of becoming the node's name.
 * `&` is written as `&amp;`, as in labels.
 */
export function dotTooltip(text: string, max = 400): string {
  return `"${quoteBody(clip(text, max).replace(/&/g, "&amp;").replace(/\\/g, "\\\\"))}"`;
}

/** An attribute value that is a plain word or number (written unquoted) or anything else (quoted). */
export function dotValue(value: string | number): string {
  if (typeof value === "number") return String(value);
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(value) ? value : `"${quoteBody(value)}"`;
}

/** An attribute value already written as DOT (from {@link dotLabel} or {@link dotId}). */
export interface RawDot {
  readonly raw: string;
}

/** `[a=1, b="x y"]` from ordered pairs (insertion order is the output order). */
export function dotAttrs(attrs: readonly (readonly [string, string | number | RawDot])[]): string {
  if (attrs.length === 0) return "";
  return ` [${attrs.map(([k, v]) => `${k}=${typeof v === "object" ? v.raw : dotValue(v)}`).join(", ")}]`;
}
