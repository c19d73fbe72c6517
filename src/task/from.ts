/**
 * Typed handles and `From` references: how one task's output is wired into
 * another's inputs.
 */
import { ErrorCodes, TrellisError } from "../errors.ts";
import { FROM_BRAND, HANDLE_MARK } from "../events/brand.ts";

declare const outputType: unique symbol;

/**
 * A spawned child, typed by its output. Returned by `ctx.spawn`; pass it to
 * `ctx.waitForAll` or wrap it in {@link From} inside another child's inputs.
 */
export interface TaskHandle<O> {
  readonly id: string;
  readonly task: string;
  readonly runId: string;
  /** Phantom: carries the output type for the compiler; never set. */
  readonly [outputType]?: O;
}

/** A handle, marked so the codec can tell it from data (the mark is a symbol key: invisible to JSON, spread and `Object.keys`). */
export function makeHandle<O>(id: string, task: string, runId: string): TaskHandle<O> {
  return { id, task, runId, [FROM_BRAND]: HANDLE_MARK } as TaskHandle<O>;
}

/**
 * A stand-in for another instance's output (or a part of it, with `path`).
 * Resolved by the engine just before the consumer starts.
 */
export interface FromRef<T> {
  readonly [FROM_BRAND]: true;
  readonly id: string;
  readonly runId: string;
  readonly path: readonly (string | number)[];
  /** Phantom: the type this reference resolves to. */
  readonly [outputType]?: T;
}

function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[1] !== undefined) out.push(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
  }
  return out;
}

/** A path into an output deeper than one key (`"a.b"`, `"items[0]"`); a single key is checked against the output type. */
export type DeepPath = `${string}.${string}` | `${string}[${number}]${string}`;

/**
 * References a child's output inside another child's inputs; the consumer
 * waits for the producer and a data edge is drawn between them.
 *
 * @example
 * const parts = numbers.map((x) => ctx.spawn(square, { x }));
 * ctx.spawn(sumReduce, { parts: parts.map((p) => From(p)) });
 * ctx.spawn(report, { total: From(stats, "summary.total") }); // a part of the output
 */
export function From<O>(handle: TaskHandle<O>): FromRef<O>;
export function From<O, K extends keyof O & (string | number)>(handle: TaskHandle<O>, key: K): FromRef<O[K]>;
export function From<T = unknown>(
  handle: TaskHandle<unknown>,
  path: DeepPath | readonly (string | number)[],
): FromRef<T>;
export function From(
  handle: TaskHandle<unknown>,
  path?: string | number | readonly (string | number)[],
): FromRef<unknown> {
  if (handle === null || typeof handle !== "object" || typeof (handle as { id?: unknown }).id !== "string")
    throw new TrellisError(
      ErrorCodes.INVALID_INPUT,
      `From() expects a handle returned by ctx.spawn, got ${handle === null ? "null" : typeof handle}`,
    );
  const parts =
    path === undefined
      ? []
      : typeof path === "number"
        ? [path]
        : typeof path === "string"
          ? parsePath(path)
          : [...path];
  return { [FROM_BRAND]: true, id: handle.id, runId: handle.runId, path: parts };
}

export function isFromRef(value: unknown): value is FromRef<unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[FROM_BRAND] === true;
}

/** What an input field may hold: the value itself, a `From` of the right type, or a structure of those. */
export type Wired<T> =
  | T
  | FromRef<T>
  | (T extends readonly (infer E)[] ? readonly Wired<E>[] : T extends object ? { [K in keyof T]: Wired<T[K]> } : never);

/** Output types of a tuple of handles, in order. */
export type OutputsOf<H extends readonly TaskHandle<unknown>[]> = {
  -readonly [K in keyof H]: H[K] extends TaskHandle<infer O> ? O : never;
};
