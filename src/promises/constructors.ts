/**
 * The six promises (SPEC section 5), as constructors that check their
 * parameters when declared and return plain data ({@link PromiseSpec}).
 */
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { PromiseScope, PromiseSpec } from "../events/types.ts";
import type { AnyTask } from "../task/define.ts";
import { isTaskDefinition } from "../task/define.ts";

/** Options every promise takes. */
export interface PromiseOptions {
  /** `descendants` (default): the declaring instance and all its descendants. `global`: the whole run. */
  readonly scope?: PromiseScope;
}

function invalid(kind: string, message: string): never {
  throw new TrellisError(ErrorCodes.INVALID_PROMISE, `${kind}: ${message}`, { promise: kind });
}

function scopeOf(kind: string, options: PromiseOptions | undefined): PromiseScope {
  const scope = options?.scope ?? "descendants";
  if (scope !== "descendants" && scope !== "global") invalid(kind, `scope must be "descendants" or "global", got ${JSON.stringify(scope)}`);
  return scope;
}

function limitOf(kind: string, k: unknown): number {
  if (typeof k !== "number" || !Number.isInteger(k) || k < 0) invalid(kind, `k must be a non-negative integer, got ${JSON.stringify(k) ?? String(k)}`);
  return k;
}

function nameOf(kind: string, def: AnyTask | string, where: string): string {
  if (typeof def === "string" && def.length > 0) return def;
  if (isTaskDefinition(def)) return def.name;
  invalid(kind, `${where} must be a task definition (or its name), got ${def === null ? "null" : typeof def}`);
}

/**
 * At most `k` children of `def` per parent, for every parent in scope.
 * @example ctx.promise(LimitedSpawns(square, numbers.length))
 */
export function LimitedSpawns(def: AnyTask | string, k: number, options?: PromiseOptions): PromiseSpec {
  return { kind: "LimitedSpawns", task: nameOf("LimitedSpawns", def, "def"), limit: limitOf("LimitedSpawns", k), scope: scopeOf("LimitedSpawns", options) };
}

/**
 * At most `k` instances carrying `label` running at once (enforced by the scheduler, never by a diff).
 * @example ctx.promise(MaxParallelism("squares", 2))
 */
export function MaxParallelism(label: string, k: number, options?: PromiseOptions): PromiseSpec {
  if (typeof label !== "string" || label.length === 0) invalid("MaxParallelism", `label must be a non-empty string, got ${JSON.stringify(label) ?? String(label)}`);
  const limit = limitOf("MaxParallelism", k);
  if (limit === 0) invalid("MaxParallelism", "k must be at least 1 (k = 0 would never let a labelled task run)");
  return { kind: "MaxParallelism", label, limit, scope: scopeOf("MaxParallelism", options) };
}

/** No new node may be added (children that fill declared placeholders are not new). */
export function NoNewNodes(options?: PromiseOptions): PromiseSpec {
  return { kind: "NoNewNodes", scope: scopeOf("NoNewNodes", options) };
}

/** No new edge may be added (edges declared in the preview are not new). */
export function NoNewEdges(options?: PromiseOptions): PromiseSpec {
  return { kind: "NoNewEdges", scope: scopeOf("NoNewEdges", options) };
}

/**
 * Only children of these definitions may be added.
 * @example ctx.promise(OnlySpecificNodesAllowed([even, mult3, positive]))
 */
export function OnlySpecificNodesAllowed(defs: readonly (AnyTask | string)[], options?: PromiseOptions): PromiseSpec {
  const kind = "OnlySpecificNodesAllowed";
  if (!Array.isArray(defs) || defs.length === 0) invalid(kind, "the list of allowed definitions must be a non-empty array");
  const tasks = [...new Set(defs.map((d, i) => nameOf(kind, d, `defs[${i}]`)))];
  return { kind, tasks, scope: scopeOf(kind, options) };
}

/**
 * Only edges (lineage parent → child, or data producer → consumer) between these pairs of definitions may be added.
 * @example ctx.promise(OnlySpecificEdgesAllowed([[classify, even], [classify, mult3]]))
 */
export function OnlySpecificEdgesAllowed(
  pairs: readonly (readonly [AnyTask | string, AnyTask | string])[],
  options?: PromiseOptions,
): PromiseSpec {
  const kind = "OnlySpecificEdgesAllowed";
  if (!Array.isArray(pairs) || pairs.length === 0) invalid(kind, "the list of allowed edges must be a non-empty array of [from, to] pairs");
  const edges = pairs.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) invalid(kind, `edges[${i}] must be a [from, to] pair`);
    return [nameOf(kind, p[0], `edges[${i}][0]`), nameOf(kind, p[1], `edges[${i}][1]`)] as const;
  });
  return { kind, edges, scope: scopeOf(kind, options) };
}

/** Definition names a promise refers to (checked against the registry when declared). */
export function referencedTasks(spec: PromiseSpec): string[] {
  switch (spec.kind) {
    case "LimitedSpawns":
      return [spec.task];
    case "OnlySpecificNodesAllowed":
      return [...spec.tasks];
    case "OnlySpecificEdgesAllowed":
      return spec.edges.flatMap((e) => [e[0], e[1]]);
    case "MaxParallelism":
    case "NoNewNodes":
    case "NoNewEdges":
      return [];
    default: {
      const never: never = spec;
      return never;
    }
  }
}
