/**
 * `task(options, fn)`: typed task definitions with their preview metadata,
 * checked when they are defined.
 */
import { ErrorCodes, TaskDefinitionError } from "../errors.ts";
import { moduleOfCaller } from "./module-of-caller.ts";
import { registry } from "./registry.ts";
import type { AnyTask, TaskDefinition, TaskFn, TaskOptions } from "./types.ts";

export type { AnyTask, InputsOf, OutputOf, TaskDefinition, TaskFn, TaskOptions } from "./types.ts";

// eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
const NAME_FORBIDDEN = /[/#\u0000-\u001f\u007f]/;

function fail(name: string, message: string): never {
  throw new TaskDefinitionError(ErrorCodes.TASK_DEFINITION, `task "${name}": ${message}`, { task: name });
}

function nonNegativeInt(name: string, option: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    fail(name, `option \`${option}\` must be a non-negative integer, got ${JSON.stringify(value) ?? String(value)}`);
  return value;
}

export function isTaskDefinition(value: unknown): value is AnyTask {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "trellis.task";
}

const KNOWN_OPTIONS = new Set([
  "name",
  "labels",
  "static",
  "calls",
  "edges",
  "promises",
  "retries",
  "retryDelayMs",
  "timeoutMs",
  "priority",
  "module",
  "cache",
  "version",
]);

/**
 * Defines and registers a task.
 *
 * @example
 * export const square = task({ name: "square", labels: ["squares"] },
 *   async (_ctx, { x }: { x: number }) => x * x);
 *
 * @throws TaskDefinitionError (code `TASK_DEFINITION`) for a bad option, or an
 *   `edges` endpoint that is not in `calls`; (code `DUPLICATE_TASK`) when the
 *   name is taken.
 */
export function task<I, O>(options: TaskOptions, fn: TaskFn<I, O>): TaskDefinition<I, Awaited<O>> {
  if (typeof options !== "object" || options === null)
    throw new TaskDefinitionError(
      ErrorCodes.TASK_DEFINITION,
      "task(options, fn): options must be an object with at least a `name`",
    );
  const name = options.name as unknown;
  if (typeof name !== "string" || name.length === 0)
    throw new TaskDefinitionError(
      ErrorCodes.TASK_DEFINITION,
      `task(options, fn): \`name\` must be a non-empty string, got ${JSON.stringify(name) ?? String(name)}`,
    );
  if (NAME_FORBIDDEN.test(name))
    fail(name, "a name may not contain '/', '#' or control characters (they separate the parts of instance ids)");
  for (const key of Object.keys(options))
    if (!KNOWN_OPTIONS.has(key)) fail(name, `unknown option \`${key}\` (known: ${[...KNOWN_OPTIONS].join(", ")})`);
  if (typeof fn !== "function") fail(name, `the second argument must be the task function, got ${typeof fn}`);

  const labels = options.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string" || l.length === 0))
    fail(name, "option `labels` must be an array of non-empty strings");
  const calls = options.calls ?? [];
  if (!Array.isArray(calls)) fail(name, "option `calls` must be an array of task definitions");
  calls.forEach((c, i) => {
    if (!isTaskDefinition(c)) fail(name, `calls[${i}] is not a task definition (define it with task() first)`);
  });
  const edges = options.edges ?? [];
  if (!Array.isArray(edges)) fail(name, "option `edges` must be an array of [from, to] pairs of definitions");
  edges.forEach((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || !isTaskDefinition(e[0]) || !isTaskDefinition(e[1]))
      fail(name, `edges[${i}] must be a [from, to] pair of task definitions`);
    for (const end of e)
      if (!calls.includes(end))
        fail(name, `edges[${i}] uses "${end.name}", which is not in \`calls\`; add it to \`calls\` or remove the edge`);
  });
  const promises = options.promises ?? [];
  if (!Array.isArray(promises)) fail(name, "option `promises` must be an array of promises (LimitedSpawns(...), ...)");
  const retries = options.retries === undefined ? 0 : nonNegativeInt(name, "retries", options.retries);
  const retryDelayMs =
    options.retryDelayMs === undefined ? 100 : nonNegativeInt(name, "retryDelayMs", options.retryDelayMs);
  let timeoutMs: number | undefined;
  if (options.timeoutMs !== undefined) {
    if (typeof options.timeoutMs !== "number" || !(options.timeoutMs > 0) || !Number.isFinite(options.timeoutMs))
      fail(name, `option \`timeoutMs\` must be a positive number of milliseconds, got ${String(options.timeoutMs)}`);
    timeoutMs = options.timeoutMs;
  }
  const priority = options.priority ?? 0;
  if (typeof priority !== "number" || !Number.isFinite(priority))
    fail(name, "option `priority` must be a finite number");
  if (options.static !== undefined && typeof options.static !== "boolean")
    fail(name, "option `static` must be a boolean");
  if (options.cache !== undefined && typeof options.cache !== "boolean")
    fail(name, `option \`cache\` must be a boolean, got ${JSON.stringify(options.cache) ?? String(options.cache)}`);
  const version = options.version as unknown;
  if (
    version !== undefined &&
    !(typeof version === "string" || (typeof version === "number" && Number.isFinite(version)))
  )
    fail(
      name,
      `option \`version\` must be a string or a finite number, got ${JSON.stringify(version) ?? String(version)}`,
    );

  const def: TaskDefinition<I, Awaited<O>> = {
    kind: "trellis.task",
    name,
    fn: fn as TaskFn<I, Awaited<O>>,
    labels: [...labels],
    static: options.static ?? false,
    calls: [...calls],
    edges: edges.map((e) => [e[0], e[1]] as const),
    promises: [...promises],
    retries,
    retryDelayMs,
    timeoutMs,
    priority,
    module: options.module ?? moduleOfCaller(),
    cache: options.cache,
    version: options.version,
  };
  registry.add(def);
  return def;
}
