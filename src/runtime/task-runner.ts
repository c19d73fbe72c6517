/**
 * Runs one attempt of a task function with its ExecutionContext. Shared by
 * every executor: the inline executor calls it in the engine's thread, the
 * worker entry calls it inside threads and processes. It only talks to the
 * engine through a {@link TaskPort}.
 */
import { ErrorCodes, TrellisError, WaitAbortedError, deserializeError, hasCode, serializeError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import { decode, encode, encodeSimple } from "../events/codec.ts";
import type { PromiseSpec } from "../events/types.ts";
import type { ExecutionContext, SpawnOptions, WaitOptions } from "../task/types.ts";
import type { AnyTask, TaskDefinition } from "../task/define.ts";
import { isTaskDefinition } from "../task/define.ts";
import type { OutputsOf, TaskHandle } from "../task/from.ts";
import { FROM_BRAND } from "../events/brand.ts";
import { makeHandle } from "../task/from.ts";
import type { SpawnRequest, StartTask, TaskOutcome, WaitOutcome } from "./executor.ts";

/** The engine, as seen from inside one attempt. */
export interface TaskPort {
  spawn(child: SpawnRequest): void;
  /** Resolves with the engine's answer to wait `waitId` (unique within the attempt); `timeoutMs` null: no limit. */
  wait(waitId: number, ids: readonly string[], timeoutMs: number | null): Promise<WaitOutcome>;
  /** Asks the engine to end wait `waitId` with `WAIT_ABORTED` (ignored once it was answered). */
  abortWait(waitId: number): void;
  promise(promises: readonly PromiseSpec[]): void;
  log(message: string, fields: Json): void;
  emit(output: Json): void;
}

function collectProducers(value: unknown, runId: string, out: string[], seen: Set<object>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  const rec = value as Record<string | symbol, unknown>;
  if (rec[FROM_BRAND] === true) {
    const id = rec["id"] as string;
    const refRun = rec["runId"] as string;
    if (refRun !== runId)
      throw new TrellisError(
        ErrorCodes.UNKNOWN_INSTANCE,
        `From(${id}) refers to a handle of another run (${refRun}); From only wires handles spawned in the same run`,
        { id },
      );
    if (!out.includes(id)) out.push(id);
    return;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      collectProducers(k, runId, out, seen);
      collectProducers(v, runId, out, seen);
    }
    return;
  }
  if (value instanceof Set || Array.isArray(value)) {
    for (const v of value) collectProducers(v, runId, out, seen);
    return;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date) return;
  for (const k of Object.keys(rec)) collectProducers(rec[k], runId, out, seen);
}

/** Shared by every spawn without producers or labels: nothing reads it as mutable. */
const NONE: readonly string[] = Object.freeze([]);

function checkedLabels(id: string, labels: unknown): readonly string[] {
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string"))
    throw new TrellisError(ErrorCodes.INVALID_OPTION, `${id}: spawn option \`labels\` must be an array of strings`);
  return [...(labels as string[])];
}

/**
 * An AbortSignal made only when a task reads `ctx.signal`: creating an
 * AbortController costs microseconds, and most tasks never look at it.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** The largest delay `setTimeout` keeps (a larger one fires at once). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function badWaitOption(id: string, option: string, expected: string, got: unknown): TrellisError {
  let shown: string;
  try {
    shown = typeof got === "number" ? String(got) : (JSON.stringify(got) ?? String(got));
  } catch {
    shown = String(got);
  }
  return new TrellisError(
    ErrorCodes.INVALID_OPTION,
    `${id}: ctx.waitForAll() option \`${option}\` must be ${expected}, got ${shown}`,
    {
      id,
      option,
    },
  );
}

function isAbortSignal(v: unknown): v is AbortSignal {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as AbortSignal).aborted === "boolean" &&
    typeof (v as AbortSignal).addEventListener === "function" &&
    typeof (v as AbortSignal).removeEventListener === "function"
  );
}

/** The checked limits of one wait: `timeoutMs` null when there is none. */
function waitLimits(
  id: string,
  options: WaitOptions | undefined,
): { timeoutMs: number | null; signal: AbortSignal | null } {
  if (options === undefined) return { timeoutMs: null, signal: null };
  if (options === null || typeof options !== "object") throw badWaitOption(id, "options", "an object", options);
  // A misspelt limit (`timeout`) silently ignored would be a wait without one.
  for (const key of Object.keys(options))
    if (key !== "timeoutMs" && key !== "signal")
      throw badWaitOption(
        id,
        key,
        "left out (the options are `timeoutMs` and `signal`)",
        (options as Record<string, unknown>)[key],
      );
  const { timeoutMs, signal } = options;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== "number" ||
      Number.isNaN(timeoutMs) ||
      timeoutMs < 0 ||
      (timeoutMs > MAX_TIMEOUT_MS && timeoutMs !== Infinity))
  )
    throw badWaitOption(
      id,
      "timeoutMs",
      `a number of milliseconds from 0 to ${MAX_TIMEOUT_MS}, or Infinity for no limit`,
      timeoutMs,
    );
  if (signal !== undefined && !isAbortSignal(signal)) throw badWaitOption(id, "signal", "an AbortSignal", signal);
  return { timeoutMs: timeoutMs === undefined || timeoutMs === Infinity ? null : timeoutMs, signal: signal ?? null };
}

class Context implements ExecutionContext {
  readonly id: string;
  readonly runId: string;
  readonly task: string;
  readonly attempt: number;
  closed = false;
  /** Per definition name: the ids of its children start with `prefix` (`<id>/<name>#`), and `n` were spawned. */
  #spawned: Map<string, { readonly prefix: string; n: number }> | undefined;
  #waitIds = 0;
  readonly #port: TaskPort;
  readonly #abort: LazyAbort;

  constructor(start: StartTask, port: TaskPort, abort: LazyAbort) {
    this.id = start.id;
    this.runId = start.runId;
    this.task = start.task;
    this.attempt = start.attempt;
    this.#port = port;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  #open(what: string): void {
    if (this.closed)
      throw new TrellisError(
        ErrorCodes.CONTEXT_CLOSED,
        `${this.id}: ctx.${what}() was called after the task finished; await every spawn and wait before returning`,
        { id: this.id },
      );
  }

  spawn<I, O>(def: TaskDefinition<I, O>, inputs: unknown, options: SpawnOptions = {}): TaskHandle<O> {
    this.#open("spawn");
    if (!isTaskDefinition(def))
      throw new TrellisError(
        ErrorCodes.UNKNOWN_TASK,
        `${this.id}: ctx.spawn() expects a task definition made with task(), got ${def === null ? "null" : typeof def}`,
        { id: this.id },
      );
    // Flat inputs (the common case) hold no From: no walk, no label text.
    let encoded = encodeSimple(inputs);
    let producers: readonly string[] = NONE;
    if (encoded === undefined) {
      const found: string[] = [];
      collectProducers(inputs, this.runId, found, new Set());
      if (found.length > 0) producers = found;
      encoded = encode(inputs, { strict: true, role: "inputs", label: `inputs of ${def.name}` });
    }
    const labels = options.labels === undefined ? NONE : checkedLabels(this.id, options.labels);
    this.#spawned ??= new Map();
    let spawned = this.#spawned.get(def.name);
    if (spawned === undefined) {
      spawned = { prefix: `${this.id}/${def.name}#`, n: 0 };
      this.#spawned.set(def.name, spawned);
    }
    // Joined, not `prefix + n`: a concatenation this long is a ConsString (a pair of pointers), which the
    // engine's first Map lookup flattens into a second string and every later read of the id goes through.
    const id = [spawned.prefix, ++spawned.n].join("");
    this.#port.spawn({ id, task: def.name, inputs: encoded, producers, labels, priority: options.priority ?? null });
    return makeHandle<O>(id, def.name, this.runId);
  }

  async waitForAll<const H extends readonly TaskHandle<unknown>[]>(
    handles: H,
    options?: WaitOptions,
  ): Promise<OutputsOf<H>> {
    this.#open("waitForAll");
    if (!Array.isArray(handles))
      throw new TrellisError(ErrorCodes.INVALID_INPUT, `${this.id}: ctx.waitForAll() expects an array of handles`);
    const ids = handles.map((h: TaskHandle<unknown>, i: number) => {
      if (h === null || typeof h !== "object" || typeof h.id !== "string")
        throw new TrellisError(
          ErrorCodes.INVALID_INPUT,
          `${this.id}: waitForAll: item ${i} is not a handle returned by ctx.spawn`,
        );
      if (h.runId !== this.runId)
        throw new TrellisError(
          ErrorCodes.UNKNOWN_INSTANCE,
          `${this.id}: waitForAll: ${h.id} is a handle of another run (${h.runId})`,
          { id: h.id },
        );
      return h.id;
    });
    const { timeoutMs, signal } = waitLimits(this.id, options);
    if (signal?.aborted)
      throw new WaitAbortedError(
        ErrorCodes.WAIT_ABORTED,
        `${this.id}: ctx.waitForAll() was given a signal that had already aborted, so it did not wait for its ${ids.length} handle(s)`,
        { id: this.id, pending: ids },
        { cause: signal.reason },
      );
    const waitId = ++this.#waitIds;
    const answer = this.#port.wait(waitId, ids, timeoutMs);
    let outcome: WaitOutcome;
    if (signal === null) outcome = await answer;
    else {
      // The engine decides how the wait ends (its answer, a timeout or this abort): exactly one of them reaches the task.
      const onAbort = (): void => this.#port.abortWait(waitId);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        outcome = await answer;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
    if (!outcome.ok) {
      const error = deserializeError(outcome.error);
      if (signal !== null && error.cause === undefined && hasCode(error, ErrorCodes.WAIT_ABORTED))
        error.cause = signal.reason;
      throw error;
    }
    return outcome.outputs.map((o) => decode(o)) as OutputsOf<H>;
  }

  promise(...promises: PromiseSpec[]): void {
    this.#open("promise");
    this.#port.promise(promises);
  }

  log(message: string, fields: Record<string, unknown> = {}): void {
    this.#open("log");
    this.#port.log(String(message), encode(fields, { strict: false }));
  }

  emit(value: unknown): void {
    this.#open("emit");
    this.#port.emit(encode(value, { strict: true, role: "output", label: `output of ${this.id}` }));
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** The outcome of every attempt that returned null (shared: outcomes are only read). */
const NULL_OUTPUT: TaskOutcome = Object.freeze({ ok: true, output: null });

function outcomeOf(start: StartTask, value: unknown): TaskOutcome {
  if (value === null) return NULL_OUTPUT;
  try {
    return {
      ok: true,
      output: encodeSimple(value) ?? encode(value, { strict: true, role: "output", label: `output of ${start.id}` }),
    };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}

async function settleLater(ctx: Context, start: StartTask, pending: PromiseLike<unknown>): Promise<TaskOutcome> {
  try {
    return outcomeOf(start, await pending);
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  } finally {
    ctx.closed = true;
  }
}

/**
 * Runs `def` once: its encoded output or its serialised error. Never throws.
 * A function that returns a plain value (not a promise) settles at once,
 * without a trip through the microtask queue; callers take both forms.
 */
export function runAttempt(
  def: AnyTask,
  start: StartTask,
  port: TaskPort,
  abort: LazyAbort,
): TaskOutcome | Promise<TaskOutcome> {
  const ctx = new Context(start, port, abort);
  let result: unknown;
  try {
    result = def.fn(ctx, decode(start.inputs));
  } catch (error) {
    ctx.closed = true;
    return { ok: false, error: serializeError(error) };
  }
  if (isThenable(result)) return settleLater(ctx, start, result);
  ctx.closed = true;
  return outcomeOf(start, result);
}
