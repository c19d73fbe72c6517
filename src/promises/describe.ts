/**
 * Promises and their violations in words, for people: the run summary, the
 * progress lines and the viewer say them the same way. Pure.
 */
import type { Json } from "../events/codec.ts";
import type { EventDataMap, PromiseSpec } from "../events/types.ts";

/** A broken promise, as recorded from its `promise.violated` event. */
export type ViolationNote = EventDataMap["promise.violated"];

/** `LimitedSpawns(square, 5)`, `OnlySpecificNodesAllowed(square, cube)`, ... */
export function describePromise(spec: PromiseSpec): string {
  switch (spec.kind) {
    case "LimitedSpawns":
      return `LimitedSpawns(${spec.task}, ${spec.limit})`;
    case "MaxParallelism":
      return `MaxParallelism("${spec.label}", ${spec.limit})`;
    case "NoNewNodes":
    case "NoNewEdges":
      return `${spec.kind}()`;
    case "OnlySpecificNodesAllowed":
      return `OnlySpecificNodesAllowed(${spec.tasks.join(", ")})`;
    case "OnlySpecificEdgesAllowed":
      return `OnlySpecificEdgesAllowed(${spec.edges.map(([a, b]) => `${a}→${b}`).join(", ")})`;
    default: {
      const never: never = spec;
      return never;
    }
  }
}

function list(value: Json | undefined): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((v) => (Array.isArray(v) ? v.map(String).join("→") : String(v)));
}

/** The figures of a violation: `limit 5, attempted 6`, `refused rogue`, ... */
export function describeFigures(v: ViolationNote): string {
  const d = v.details;
  switch (v.promise) {
    case "LimitedSpawns":
      return `limit ${String(d["limit"])}, attempted ${String(d["attempted"])}`;
    case "NoNewNodes":
      return `new node ${list(d["tasks"]).join(", ")}`;
    case "NoNewEdges":
      return `new edge ${list(d["edges"]).join(", ")}`;
    case "OnlySpecificNodesAllowed":
      return `refused ${list(d["tasks"]).join(", ")} (allowed: ${list(d["allowed"]).join(", ")})`;
    case "OnlySpecificEdgesAllowed":
      return `refused ${list(d["edges"]).join(", ")} (allowed: ${list(d["allowed"]).join(", ")})`;
    case "MaxParallelism":
      return JSON.stringify(d);
    default: {
      const never: never = v.promise;
      return never;
    }
  }
}

/** One line for a violation: `LimitedSpawns(square, 5) of square_batch broken by square_batch: limit 5, attempted 6`. */
export function describeViolation(v: ViolationNote): string {
  const policy = v.policy === "reject" ? " (rejected; the run went on)" : "";
  return `${describePromise(v.spec)} of ${v.owner} broken by ${v.by}: ${describeFigures(v)}${policy}`;
}
