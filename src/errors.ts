/**
 * Errors with stable codes. Every error Trellis raises is a {@link TrellisError}
 * with a `code` callers and tests can match on; messages say what happened,
 * which ids are involved, and how to fix it.
 *
 * Errors that cross a thread or process boundary travel as a
 * {@link SerializedError} and are rebuilt with {@link deserializeError} as the
 * right class on the other side.
 */

/** Every code a Trellis error can carry. */
export const ErrorCodes = {
  TASK_DEFINITION: "TASK_DEFINITION",
  DUPLICATE_TASK: "DUPLICATE_TASK",
  UNKNOWN_TASK: "UNKNOWN_TASK",
  UNKNOWN_INSTANCE: "UNKNOWN_INSTANCE",
  INVALID_INPUT: "INVALID_INPUT",
  NOT_SERIALIZABLE: "NOT_SERIALIZABLE",
  UNENCODABLE_INPUT: "UNENCODABLE_INPUT",
  UNENCODABLE_OUTPUT: "UNENCODABLE_OUTPUT",
  TASK_FAILED: "TASK_FAILED",
  TASK_TIMEOUT: "TASK_TIMEOUT",
  TASK_CANCELLED: "TASK_CANCELLED",
  WAIT_TIMEOUT: "WAIT_TIMEOUT",
  WAIT_ABORTED: "WAIT_ABORTED",
  WORKER_CRASH: "WORKER_CRASH",
  PROCESS_EXIT: "PROCESS_EXIT",
  WORKER_LOAD: "WORKER_LOAD",
  WORKER_UNKNOWN_TASK: "WORKER_UNKNOWN_TASK",
  OUTPUT_TOO_LARGE: "OUTPUT_TOO_LARGE",
  REDIS_UNREACHABLE: "REDIS_UNREACHABLE",
  RUN_IN_WORKER: "RUN_IN_WORKER",
  DEADLOCK: "DEADLOCK",
  PROMISE_VIOLATION: "PROMISE_VIOLATION",
  INVALID_PROMISE: "INVALID_PROMISE",
  INVALID_OPTION: "INVALID_OPTION",
  CONTEXT_CLOSED: "CONTEXT_CLOSED",
  LOG_FORMAT: "LOG_FORMAT",
  OUTPUT_DIR: "OUTPUT_DIR",
  RENDER: "RENDER",
  USAGE: "USAGE",
  USER_ERROR: "USER_ERROR",
  NON_DETERMINISTIC: "NON_DETERMINISTIC",
  RUN_FINISHED: "RUN_FINISHED",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Plain-data form of an error, safe to log and to post to another thread. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code: string;
  readonly stack?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: SerializedError;
}

/** Base class of every error Trellis raises. */
export class TrellisError extends Error {
  override name = "TrellisError";
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** A task definition or its options are wrong (duplicate name, bad `edges`, bad option). */
export class TaskDefinitionError extends TrellisError {
  override name = "TaskDefinitionError";
}

/** A task the caller waited for did not succeed. `details.id` is the child's id. */
export class TaskFailedError extends TrellisError {
  override name = "TaskFailedError";
}

/** A task ran longer than its `timeoutMs`. */
export class TaskTimeoutError extends TrellisError {
  override name = "TaskTimeoutError";
}

/**
 * `ctx.waitForAll(handles, { timeoutMs })` ran out of time. `details`: `id`
 * (the waiting task), `timeoutMs`, `pending` (the handles' ids still
 * unfinished; they keep running).
 */
export class WaitTimeoutError extends TrellisError {
  override name = "WaitTimeoutError";
}

/**
 * The `signal` passed to `ctx.waitForAll(handles, { signal })` aborted the
 * wait. `details`: `id` (the waiting task), `pending` (the handles' ids still
 * unfinished; they keep running). `cause` is the signal's reason, when it has one.
 */
export class WaitAbortedError extends TrellisError {
  override name = "WaitAbortedError";
}

/** The worker running a task exited, crashed or ran out of memory. */
export class WorkerCrashError extends TrellisError {
  override name = "WorkerCrashError";
}

/** Instances wait on each other (or on something that will never finish). */
export class DeadlockError extends TrellisError {
  override name = "DeadlockError";
}

/** A plan diff broke a promise; raised in the offending task under the `reject` policy. */
export class PromiseViolationError extends TrellisError {
  override name = "PromiseViolationError";
}

/** A value could not be encoded (inputs or outputs must be data). */
export class SerializationError extends TrellisError {
  override name = "SerializationError";
}

/**
 * The task was cancelled: the run was halted by a broken promise or cancelled
 * (its `signal` option, Ctrl-C). A cancelled task sees it as the reason of
 * `ctx.signal`, so `ctx.signal.throwIfAborted()` throws it; the run's error
 * is one too when the run was cancelled. (A task past its `timeoutMs` gets a
 * {@link TaskTimeoutError} instead.)
 *
 * @example
 * for (const item of items) {
 *   ctx.signal.throwIfAborted(); // TaskCancelledError once the run is halted
 *   await handle(item);
 * }
 */
export class TaskCancelledError extends TrellisError {
  override name = "TaskCancelledError";
}

const classes: Record<
  string,
  new (
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ) => TrellisError
> = {
  TrellisError,
  TaskDefinitionError,
  TaskFailedError,
  TaskTimeoutError,
  WaitTimeoutError,
  WaitAbortedError,
  WorkerCrashError,
  DeadlockError,
  PromiseViolationError,
  SerializationError,
  TaskCancelledError,
};

function plainDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined {
  const keys = Object.keys(details);
  if (keys.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = details[k];
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) out[k] = v;
    else {
      try {
        out[k] = JSON.parse(JSON.stringify(v)) as unknown;
      } catch {
        out[k] = String(v);
      }
    }
  }
  return out;
}

/** Turns anything thrown into plain data: name, message, code, stack, cause. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (error instanceof Error) {
    const own = (error as unknown as { code?: unknown }).code;
    const code = error instanceof TrellisError ? error.code : typeof own === "string" ? own : ErrorCodes.USER_ERROR;
    const base: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
      name: error.name,
      message: error.message,
      code,
    };
    if (error.stack !== undefined) base.stack = error.stack;
    if (error instanceof TrellisError) {
      const d = plainDetails(error.details);
      if (d) base.details = d;
    }
    if (error.cause !== undefined && depth < 4) base.cause = serializeError(error.cause, depth + 1);
    return base;
  }
  let message: string;
  try {
    message = typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    message = String(error);
  }
  return { name: "NonErrorThrown", message: `a non-Error value was thrown: ${message}`, code: ErrorCodes.USER_ERROR };
}

/**
 * Rebuilds an error from {@link serializeError}'s output: Trellis errors come
 * back as their own class; user errors as an `Error` with the same name,
 * message, stack and `code`.
 */
export function deserializeError(data: SerializedError): Error {
  const Cls = classes[data.name];
  let error: Error;
  if (Cls && (Object.values(ErrorCodes) as string[]).includes(data.code)) {
    error = new Cls(data.code as ErrorCode, data.message, data.details ? { ...data.details } : {});
  } else {
    error = new Error(data.message);
    error.name = data.name;
    (error as Error & { code: string }).code = data.code;
  }
  if (data.stack !== undefined) error.stack = data.stack;
  if (data.cause) error.cause = deserializeError(data.cause);
  return error;
}

/** True when `error` is a Trellis error with the given code. */
export function hasCode(error: unknown, code: ErrorCode): error is TrellisError {
  return error instanceof TrellisError && error.code === code;
}
