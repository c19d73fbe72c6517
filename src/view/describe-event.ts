/**
 * Each event in words, for the viewer's time slider: "square_batch/square#3
 * succeeded: 9". Pure. Payloads are read defensively: the log reader checks
 * only the fields the plan is built from, and a hand-made log may lack the
 * rest.
 */
import { inspect } from "node:util";
import { FROM_BRAND } from "../events/brand.ts";
import type { Json } from "../events/codec.ts";
import { decode } from "../events/codec.ts";
import type { TrellisEvent } from "../events/types.ts";
import { describePromise, describeViolation } from "../promises/describe.ts";
import { describeValue } from "../report/summary.ts";

/** A `From` reference in decoded inputs, as it is written: `From(root/square#1)`, `From(root/stats#1, ["sum"])`. */
class FromShown {
  constructor(
    readonly id: string,
    readonly path: readonly unknown[],
  ) {}
  [inspect.custom](): string {
    return `From(${this.id}${this.path.length > 0 ? `, ${JSON.stringify(this.path)}` : ""})`;
  }
}

/** True for what the codec decodes a `From` to (`{ [FROM_BRAND]: true, id, path }`). */
function isFrom(v: object): v is { id: unknown; path: unknown } {
  return (v as Record<symbol, unknown>)[FROM_BRAND] === true;
}

/** Replaces, in place, every decoded `From` inside `value` by one that is written `From(<id>)`. */
function showFroms(value: unknown, seen = new Set<object>()): unknown {
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  if (isFrom(value)) return new FromShown(String(value.id), Array.isArray(value.path) ? value.path : []);
  seen.add(value);
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = showFroms(value[i], seen);
  else if (value instanceof Map) for (const [k, v] of value) value.set(k, showFroms(v, seen));
  else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = showFroms(o[k], seen);
  }
  return value;
}

/** A value from the log decoded for showing: `From` references read `From(<id>)`; undecodable values stay as they are. */
function decodedForShow(value: unknown): unknown {
  try {
    return showFroms(decode(value as Json));
  } catch {
    return value;
  }
}

/** A value from the log, decoded and written on one line (capped at `max` characters). */
export function valueText(value: unknown, max = 160): string {
  return describeValue(decodedForShow(value), max);
}

/** A value from the log, decoded and written over several lines (for the node panel). */
export function valueBlock(value: unknown, max = 20_000): string {
  const shown = decodedForShow(value);
  const text = inspect(shown, {
    depth: 8,
    breakLength: 80,
    maxArrayLength: 200,
    maxStringLength: 5_000,
    colors: false,
  });
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v === undefined ? "?" : String(v);
}

function errorLine(e: unknown): string {
  if (typeof e !== "object" || e === null) return "an error";
  const r = e as Record<string, unknown>;
  const head = typeof r["name"] === "string" ? `${r["name"]}: ` : "";
  return `${head}${str(r["message"])}`;
}

/** One event in words. */
export function describeEvent(e: TrellisEvent): string {
  try {
    return describeUnchecked(e);
  } catch {
    return `${e.type} (its data could not be read)`;
  }
}

function describeUnchecked(e: TrellisEvent): string {
  switch (e.type) {
    case "run.started":
      return `run ${e.runId} started with root ${e.data.root}`;
    case "run.resumed":
      return `run ${e.runId} resumed after event ${str(e.data.fromSeq)}${e.data.retryFailed ? ", retrying failed tasks" : ""}${e.data.droppedBytes > 0 ? ` (a cut-off last line of ${e.data.droppedBytes} bytes was dropped)` : ""}`;
    case "task.created":
      return e.data.parent === null ? `${e.data.id} created (the root)` : `${e.data.parent} spawned ${e.data.id}`;
    case "edge.created":
      return `${e.data.kind} edge ${e.data.from} → ${e.data.to}`;
    case "preview.materialized":
      return `${e.data.owner} declared its shape: ${e.data.placeholders.length} placeholder${e.data.placeholders.length === 1 ? "" : "s"}`;
    case "preview.pruned":
      return `${e.data.owner} finished; placeholders not taken: ${e.data.placeholders.join(", ")}`;
    case "promise.declared":
      return `${e.data.owner} promised ${describePromise(e.data.promise)}${e.data.source === "context" ? "" : ` (${e.data.source})`}`;
    case "task.started":
      return `${e.data.id} started${e.data.attempt > 1 ? ` (attempt ${e.data.attempt})` : ""}`;
    case "task.placed":
      return `${e.data.id} runs on worker ${e.data.worker}${e.data.attempt > 1 ? ` (attempt ${e.data.attempt})` : ""}`;
    case "task.waiting":
      return `${e.data.id} waits for ${e.data.on.length === 1 ? (e.data.on[0] ?? "") : `${e.data.on.length} tasks`}`;
    case "task.resumed":
      return `${e.data.id} resumed${e.data.reason ? ` (${e.data.reason})` : ""}`;
    case "task.log":
      return `${e.data.id} logged: ${str(e.data.message)}`;
    case "task.warning":
      return `${e.data.id} warning ${str(e.data.code)}: ${str(e.data.message)}`;
    case "task.emitted":
      return `${e.data.id} emitted ${valueText(e.data.output, 80)}`;
    case "task.retrying":
      return `${e.data.id} failed (${errorLine(e.data.error)}); attempt ${e.data.attempt} in ${str(e.data.delayMs)} ms`;
    case "task.rehosted":
      return `${e.data.id} runs again from the start (attempt ${e.data.attempt}, not counted): its worker ${e.data.worker} died (${e.data.reason})${e.data.isolated ? " and the culprit was unclear, so it runs alone on a worker" : ""}`;
    case "task.succeeded":
      return `${e.data.id} succeeded: ${valueText(e.data.output, 80)}`;
    case "task.cached":
      return `${e.data.id} succeeded from the cache: ${valueText(e.data.output, 80)}`;
    case "task.failed":
      return `${e.data.id} failed: ${errorLine(e.data.error)}`;
    case "task.skipped":
      return `${e.data.id} skipped: ${str(e.data.because)}`;
    case "task.cancelled":
      return `${e.data.id} cancelled: ${str(e.data.reason)}`;
    case "promise.violated":
      return `broken promise: ${describeViolation(e.data)}`;
    case "run.deadlock": {
      const message = str(e.data.message);
      return message.startsWith("deadlock") ? message : `deadlock: ${message}`; // the engine's message names it already
    }
    case "run.finished":
      return `run ${e.data.status}${e.data.status === "succeeded" ? `: ${valueText(e.data.output, 80)}` : ""}`;
    default: {
      const never: never = e;
      return String((never as { type: unknown }).type);
    }
  }
}

/** The instance an event is about, if any (the slider highlights it). */
export function eventSubject(e: TrellisEvent): string | null {
  const d = e.data as Record<string, unknown>;
  if (e.type === "edge.created") return typeof d["to"] === "string" ? d["to"] : null;
  if (e.type === "promise.declared" || e.type === "preview.materialized" || e.type === "preview.pruned")
    return typeof d["owner"] === "string" ? d["owner"] : null;
  if (e.type === "promise.violated") return typeof d["by"] === "string" ? d["by"] : null;
  return typeof d["id"] === "string" ? d["id"] : null;
}
