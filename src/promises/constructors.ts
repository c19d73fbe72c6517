/**
 * The six promises (SPEC section 5), as constructors that check their
 * parameters when declared and return plain data ({@link PromiseSpec}): a
 * promise crosses to workers and into the log as it is.
 *
 * Bad parameters throw a `TrellisError` with code `INVALID_PROMISE` at once.
 * Whether a named definition is registered is checked by the engine when the
 * promise is declared (a definition may be registered after the promise is
 * built, e.g. in `promises: [...]` of an earlier definition).
 */
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { PromiseScope, PromiseSpec } from "../events/types.ts";
import type { AnyTask } from "../task/define.ts";
import { isTaskDefinition } from "../task/define.ts";

/** Options every promise takes. */
export interface PromiseOptions {
  /**
   * `descendants` (default): the declaring instance and all its descendants
   * (children, grandchildren, ...). `global`: every instance of the run.
   * @example LimitedSpawns(square, 10, { scope: "global" })
   */
  readonly scope?: PromiseScope;
}

function show(value: unknown): string {
  if (
    typeof value === "number" ||
    typeof value === "bigint" ||
    typeof value === "symbol" ||
    typeof value === "function"
  )
    return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function invalid(kind: string, message: string, details: Record<string, unknown> = {}): never {
  throw new TrellisError(ErrorCodes.INVALID_PROMISE, `${kind}: ${message}`, { promise: kind, ...details });
}

function scopeOption(kind: string, options: PromiseOptions | undefined): PromiseScope {
  if (options === undefined) return "descendants";
  if (typeof options !== "object" || options === null || Array.isArray(options))
    invalid(kind, `options must be an object like { scope: "global" }, got ${show(options)}`, { option: "options" });
  for (const key of Object.keys(options))
    if (key !== "scope") invalid(kind, `unknown option \`${key}\` (known: scope)`, { option: key });
  const scope = options.scope ?? "descendants";
  if (scope !== "descendants" && scope !== "global")
    invalid(kind, `option \`scope\` must be "descendants" or "global", got ${show(scope)}`, { option: "scope" });
  return scope;
}

function limitOf(kind: string, k: unknown, min: number): number {
  if (typeof k !== "number" || !Number.isInteger(k) || k < min)
    invalid(kind, `k must be an integer ≥ ${min}, got ${show(k)}`, {
      option: "k",
      got: typeof k === "number" ? k : show(k),
    });
  return k;
}

function nameOf(kind: string, def: unknown, where: string): string {
  if (typeof def === "string" && def.length > 0) return def;
  if (isTaskDefinition(def)) return def.name;
  invalid(
    kind,
    `${where} must be a task definition (or its name), got ${def === null ? "null" : typeof def === "string" ? '""' : typeof def}`,
    {
      option: where,
    },
  );
}

/**
 * At most `k` children of `def` per parent, for every parent in scope: a
 * spawn that would give one parent a (k+1)-th child of `def` is refused.
 * `k` is an integer ≥ 0 (0 forbids `def` children altogether).
 *
 * @example ctx.promise(LimitedSpawns(square, numbers.length))
 */
export function LimitedSpawns(def: AnyTask | string, k: number, options?: PromiseOptions): PromiseSpec {
  const kind = "LimitedSpawns";
  return { kind, task: nameOf(kind, def, "def"), limit: limitOf(kind, k, 0), scope: scopeOption(kind, options) };
}

/**
 * At most `k` instances in scope that carry `label` run at once; enforced by
 * the scheduler, never by refusing a diff. A task suspended in `waitForAll`
 * does not count. `k` is an integer ≥ 1. Instances already running when the
 * promise is declared are not stopped; they count again once they resume
 * from a wait.
 *
 * @example ctx.promise(MaxParallelism("squares", 2))
 */
export function MaxParallelism(label: string, k: number, options?: PromiseOptions): PromiseSpec {
  const kind = "MaxParallelism";
  if (typeof label !== "string" || label.length === 0)
    invalid(kind, `label must be a non-empty string, got ${show(label)}`, { option: "label" });
  return { kind, label, limit: limitOf(kind, k, 1), scope: scopeOption(kind, options) };
}

/**
 * No new node may be added in scope. Children that fill a placeholder
 * declared by their parent's `calls` are not new.
 *
 * @example task({ name: "fixed", calls: [a, b], promises: [NoNewNodes()] }, fn)
 */
export function NoNewNodes(options?: PromiseOptions): PromiseSpec {
  return { kind: "NoNewNodes", scope: scopeOption("NoNewNodes", options) };
}

/**
 * No new edge (lineage or data) may be added in scope. Edges declared in the
 * parent's preview (`calls`, `edges`) between the children that fill those
 * placeholders are not new.
 *
 * @example ctx.promise(NoNewEdges())
 */
export function NoNewEdges(options?: PromiseOptions): PromiseSpec {
  return { kind: "NoNewEdges", scope: scopeOption("NoNewEdges", options) };
}

/**
 * Only nodes of these definitions may be added in scope (a non-empty list).
 * Shown as one ghost per allowed definition the owner has not spawned yet.
 *
 * @example ctx.promise(OnlySpecificNodesAllowed([even, mult3, positive]))
 */
export function OnlySpecificNodesAllowed(defs: readonly (AnyTask | string)[], options?: PromiseOptions): PromiseSpec {
  const kind = "OnlySpecificNodesAllowed";
  if (!Array.isArray(defs) || defs.length === 0)
    invalid(kind, "the list of allowed definitions must be a non-empty array", { option: "defs" });
  const tasks = [...new Set(defs.map((d: unknown, i) => nameOf(kind, d, `defs[${i}]`)))];
  return { kind, tasks, scope: scopeOption(kind, options) };
}

/**
 * Only edges between these pairs of definitions may be added in scope
 * (a non-empty list of `[from, to]`): lineage edges (parent → child) and
 * data edges (producer → consumer) alike, matched by definition names.
 *
 * @example ctx.promise(OnlySpecificEdgesAllowed([[classify, even], [classify, mult3]]))
 */
export function OnlySpecificEdgesAllowed(
  pairs: readonly (readonly [AnyTask | string, AnyTask | string])[],
  options?: PromiseOptions,
): PromiseSpec {
  const kind = "OnlySpecificEdgesAllowed";
  if (!Array.isArray(pairs) || pairs.length === 0)
    invalid(kind, "the list of allowed edges must be a non-empty array of [from, to] pairs", { option: "edges" });
  const edges: (readonly [string, string])[] = [];
  const seen = new Set<string>();
  pairs.forEach((p: unknown, i) => {
    if (!Array.isArray(p) || p.length !== 2)
      invalid(kind, `edges[${i}] must be a [from, to] pair, got ${show(p)}`, { option: `edges[${i}]` });
    const pair = [nameOf(kind, p[0], `edges[${i}][0]`), nameOf(kind, p[1], `edges[${i}][1]`)] as const;
    const key = `${pair[0]}\u0000${pair[1]}`;
    if (!seen.has(key)) {
      seen.add(key);
      edges.push(pair);
    }
  });
  return { kind, edges, scope: scopeOption(kind, options) };
}

/**
 * Checks a promise that arrives as data (from a worker, or built by hand)
 * the way its constructor would, and returns a clean copy.
 *
 * @throws TrellisError `INVALID_PROMISE` naming what is wrong.
 * @example checkPromiseSpec({ kind: "LimitedSpawns", task: "square", limit: 2, scope: "descendants" })
 */
export function checkPromiseSpec(value: unknown): PromiseSpec {
  if (typeof value !== "object" || value === null || typeof (value as { kind?: unknown }).kind !== "string")
    throw new TrellisError(
      ErrorCodes.INVALID_PROMISE,
      `a promise must be made by LimitedSpawns(), MaxParallelism(), NoNewNodes(), NoNewEdges(), OnlySpecificNodesAllowed() or OnlySpecificEdgesAllowed(), got ${show(value)}`,
    );
  const v = value as Record<string, unknown>;
  const options = { scope: v["scope"] as PromiseScope };
  const kind = v["kind"] as string;
  switch (kind) {
    case "LimitedSpawns":
      return LimitedSpawns(v["task"] as string, v["limit"] as number, options);
    case "MaxParallelism":
      return MaxParallelism(v["label"] as string, v["limit"] as number, options);
    case "NoNewNodes":
      return NoNewNodes(options);
    case "NoNewEdges":
      return NoNewEdges(options);
    case "OnlySpecificNodesAllowed":
      return OnlySpecificNodesAllowed(v["tasks"] as string[], options);
    case "OnlySpecificEdgesAllowed":
      return OnlySpecificEdgesAllowed(v["edges"] as [string, string][], options);
    default:
      throw new TrellisError(ErrorCodes.INVALID_PROMISE, `unknown promise kind ${show(kind)}`, { promise: kind });
  }
}

/** Definition names a promise refers to (checked against the registry when declared). */
export function referencedTasks(spec: PromiseSpec): string[] {
  switch (spec.kind) {
    case "LimitedSpawns":
      return [spec.task];
    case "OnlySpecificNodesAllowed":
      return [...spec.tasks];
    case "OnlySpecificEdgesAllowed":
      return [...new Set(spec.edges.flatMap((e) => [e[0], e[1]]))];
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
