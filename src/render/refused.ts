/**
 * Refused spawns: the nodes a `promise.violated` diff would have added,
 * drawn as red ghosts under the task that tried to spawn them, with the
 * broken promise as their reason. They never reach the plan (the diff is not
 * applied), so they come from the violation events, not from the fold. Pure.
 */
import type { TrellisEvent } from "../events/types.ts";
import type { ViolationNote } from "../promises/describe.ts";
import { describeFigures, describePromise } from "../promises/describe.ts";
import type { Drawing } from "./drawing.ts";
import { DrawingBuilder } from "./drawing.ts";

/** One node a broken promise kept out of the plan. */
export interface RefusedSpawn {
  /** The id the node would have had. */
  readonly id: string;
  readonly task: string;
  /** The instance that tried to spawn it. */
  readonly parent: string;
  /** `LimitedSpawns(square, 5): limit 5, attempted 6`. */
  readonly reason: string;
  /** The broken promise: `LimitedSpawns(square, 5)`. */
  readonly promise: string;
  /** `seq` of the `promise.violated` event. */
  readonly seq: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The reason of a violation in words; a hand-made or damaged event still gives a line. */
export function violationReason(v: ViolationNote): string {
  try {
    return `${describePromise(v.spec)}: ${describeFigures(v)}`;
  } catch {
    return `${String(v.promise)} broken`;
  }
}

function promiseText(v: ViolationNote): string {
  try {
    return describePromise(v.spec);
  } catch {
    return String(v.promise);
  }
}

/**
 * The refused spawns of the events, in log order. Reads the violation events
 * defensively: their payload is not checked by the log reader.
 */
export function refusedSpawns(events: Iterable<TrellisEvent>): RefusedSpawn[] {
  const out: RefusedSpawn[] = [];
  for (const e of events) {
    if (e.type !== "promise.violated") continue;
    const diff: unknown = e.data.diff;
    if (!isRecord(diff) || !Array.isArray(diff["nodes"])) continue;
    const reason = violationReason(e.data);
    const promise = promiseText(e.data);
    for (const n of diff["nodes"] as unknown[]) {
      if (!isRecord(n) || typeof n["id"] !== "string" || typeof n["task"] !== "string") continue;
      const parent = typeof n["parent"] === "string" ? n["parent"] : typeof e.data.by === "string" ? e.data.by : "";
      out.push({ id: n["id"], task: n["task"], parent, reason, promise, seq: e.seq });
    }
  }
  return out;
}

/** The drawing with the refused spawns added as red ghosts (edges from their parent when it is drawn). */
export function withRefused(drawing: Drawing, refused: readonly RefusedSpawn[]): Drawing {
  if (refused.length === 0) return drawing;
  const b = new DrawingBuilder();
  const drawn = new Set<string>();
  for (const n of drawing.nodes) {
    const { name, ...rest } = n;
    b.addNode(name, rest);
    drawn.add(name);
  }
  for (const e of drawing.edges) b.addEdge(e.from, e.to, e.style);
  for (const r of refused) {
    const name = b.addNode(`${r.id}/!refused`, {
      kind: "refused",
      label: [r.task, `refused: ${r.promise}`],
      status: null,
      tooltip: `${r.id} refused: ${r.reason}`,
    });
    if (drawn.has(r.parent)) b.addEdge(r.parent, name, "refused");
  }
  return { ...drawing, nodes: b.nodes, edges: b.edges };
}
