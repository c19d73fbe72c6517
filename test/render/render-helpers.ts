/**
 * Helpers of the render tests: temporary folders, runs that keep their
 * events, synthetic logs, Graphviz layout positions and a small PNG decoder
 * (so a test can look at the pixels a user would see).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { inflateSync } from "node:zlib";
import { loadGraphviz } from "../../dist/render/images.js";
import type { EventType, TrellisEvent } from "trellis";
import type { EventDataMap } from "../../dist/events/types.js";

export function tempDir(prefix = "trellis-render-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Every file under `root`, relative, sorted. */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/** Builds a gap-free synthetic event log; `ts` advances by `stepMs` per event from 2026-01-01. */
export class LogBuilder {
  readonly events: TrellisEvent[] = [];
  #stepMs: number;
  #clock = Date.UTC(2026, 0, 1);
  readonly #runId: string;

  constructor(runId = "synthetic", stepMs = 1) {
    this.#runId = runId;
    this.#stepMs = stepMs;
  }

  /** Milliseconds between the next events. */
  step(ms: number): this {
    this.#stepMs = ms;
    return this;
  }

  add<K extends EventType>(type: K, data: EventDataMap[K]): this {
    const seq = this.events.length + 1;
    this.#clock += this.#stepMs;
    const ts = new Date(this.#clock).toISOString();
    this.events.push({ v: 1, seq, ts, runId: this.#runId, type, data } as unknown as TrellisEvent);
    return this;
  }

  /** run.started + task.created of a root. */
  root(id: string, task = id): this {
    return this.add("run.started", {
      root: id,
      task,
      inputs: null,
      options: { executor: "inline", workers: 1, onViolation: "halt" },
    }).created(id, task, null);
  }

  created(id: string, task: string, parent: string | null, placeholder: string | null = null): this {
    this.add("task.created", { id, task, parent, labels: [], inputs: null, placeholder, priority: 0 });
    if (parent !== null) this.add("edge.created", { from: parent, to: id, kind: "lineage" });
    return this;
  }

  status(id: string, type: "task.started" | "task.succeeded" | "task.failed"): this {
    if (type === "task.started") return this.add(type, { id, attempt: 1 });
    if (type === "task.succeeded") return this.add(type, { id, output: null });
    return this.add(type, { id, attempt: 1, error: { name: "Error", message: "boom", code: "USER_ERROR" } });
  }

  jsonl(): string {
    return this.events.map((e) => JSON.stringify(e)).join("\n") + "\n";
  }
}

export interface LaidOutNode {
  readonly name: string;
  /** Centre in points, y growing downwards as in the SVG. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Lays out `dot` with the embedded Graphviz and returns node boxes (points) and the graph height. */
export async function layout(dot: string): Promise<{ nodes: LaidOutNode[]; height: number }> {
  const gv = await loadGraphviz();
  const json = JSON.parse(gv.renderString(dot, { format: "json", engine: "dot" })) as {
    bb: string;
    objects?: { name: string; pos?: string; width?: string; height?: string }[];
  };
  const bb = json.bb.split(",").map(Number);
  const height = bb[3] ?? 0;
  const nodes: LaidOutNode[] = [];
  for (const o of json.objects ?? []) {
    if (o.pos === undefined) continue;
    const [x, y] = o.pos.split(",").map(Number) as [number, number];
    nodes.push({ name: o.name, x, y: height - y, width: Number(o.width) * 72, height: Number(o.height) * 72 });
  }
  return { nodes, height };
}

/** The text of every `<text>` element of an SVG, XML entities decoded. */
export function svgTexts(svg: string): string[] {
  const out: string[] = [];
  for (const m of svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)) {
    out.push(
      (m[1] ?? "")
        .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
        .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, "&"),
    );
  }
  return out;
}

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes per pixel, rows top to bottom. */
  readonly rgba: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what resvg writes). */
export function decodePng(file: Buffer): DecodedPng {
  if (file.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") throw new Error("not a PNG");
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (pos < file.length) {
    const len = file.readUInt32BE(pos);
    const type = file.toString("latin1", pos + 4, pos + 8);
    const data = file.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error("only 8-bit non-interlaced PNGs");
      colorType = data[9] as number;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + len;
  }
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (channels === 0) throw new Error(`unsupported PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? (pixels[y * stride + i - channels] as number) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + i] as number) : 0;
      const upLeft = y > 0 && i >= channels ? (pixels[(y - 1) * stride + i - channels] as number) : 0;
      const v = line[i] as number;
      let out: number;
      switch (filter) {
        case 0:
          out = v;
          break;
        case 1:
          out = v + left;
          break;
        case 2:
          out = v + up;
          break;
        case 3:
          out = v + ((left + up) >> 1);
          break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          out = v + (pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft);
          break;
        }
        default:
          throw new Error(`bad PNG filter ${filter}`);
      }
      pixels[y * stride + i] = out & 0xff;
    }
  }
  if (channels === 4) return { width, height, rgba: pixels };
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba.set(pixels.subarray(p * 3, p * 3 + 3), p * 4);
    rgba[p * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

/** Pixels darker than `threshold` (luminance 0–255) inside a box of the image. */
export function darkPixels(
  png: DecodedPng,
  box: { x0: number; y0: number; x1: number; y1: number },
  threshold = 110,
): number {
  let n = 0;
  for (let y = Math.max(0, Math.floor(box.y0)); y < Math.min(png.height, Math.ceil(box.y1)); y++)
    for (let x = Math.max(0, Math.floor(box.x0)); x < Math.min(png.width, Math.ceil(box.x1)); x++) {
      const i = (y * png.width + x) * 4;
      const lum =
        0.299 * (png.rgba[i] as number) + 0.587 * (png.rgba[i + 1] as number) + 0.114 * (png.rgba[i + 2] as number);
      if (lum < threshold) n++;
    }
  return n;
}

export function readText(path: string): string {
  return readFileSync(path, "utf8");
}

export interface ParsedDot {
  /** Node name → attributes, in the order written. */
  readonly nodes: Map<string, Record<string, string>>;
  readonly edges: { from: string; to: string; attrs: Record<string, string> }[];
}

function unquote(q: string): string {
  return q.slice(1, -1).replace(/\\(["\\])/g, "$1");
}

function parseAttrs(text: string | undefined): Record<string, string> {
  const attrs: Record<string, string> = {};
  if (!text) return attrs;
  for (const m of text.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|[^,\]]+)/g)) {
    const v = m[2] as string;
    attrs[m[1] as string] = v.startsWith('"') ? unquote(v) : v;
  }
  return attrs;
}

/** Reads back the node and edge statements written by `buildDot` (one statement a line). */
export function parseDot(dot: string): ParsedDot {
  const nodes = new Map<string, Record<string, string>>();
  const edges: ParsedDot["edges"] = [];
  const id = String.raw`"(?:[^"\\]|\\.)*"`;
  const re = new RegExp(String.raw`^  (${id})(?: -> (${id}))?(?: \[(.*)\])?;$`);
  for (const line of dot.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    const attrs = parseAttrs(m[3]);
    if (m[2] !== undefined) edges.push({ from: unquote(m[1] as string), to: unquote(m[2]), attrs });
    else nodes.set(unquote(m[1] as string), attrs);
  }
  return { nodes, edges };
}

/** Kind of a drawn node, read from its style. */
export function nodeKind(
  attrs: Record<string, string> | undefined,
): "instance" | "group" | "placeholder" | "ghost" | "none" {
  if (!attrs) return "none";
  if (attrs["style"]?.startsWith("dashed")) return "placeholder";
  if (attrs["style"]?.startsWith("dotted")) return "ghost";
  return attrs["peripheries"] === "2" ? "group" : "instance";
}
