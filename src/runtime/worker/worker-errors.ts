/**
 * The errors a worker pool raises: a worker that cannot load the task modules
 * (`WORKER_LOAD`) and a worker that died under running attempts
 * (`WORKER_CRASH`). Each message says what happened, to which ids, and what
 * to change.
 */
import { ErrorCodes, TrellisError, WorkerCrashError, deserializeError, serializeError } from "../../errors.ts";
import type { SerializedError } from "../../errors.ts";
import type { TaskRef } from "../executor.ts";

/** Why a worker is gone, as the pool saw it. */
export type WorkerLoss =
  | {
      readonly kind: "exit";
      readonly code: number | null;
      readonly signal: string | null;
      readonly error: SerializedError | null;
      readonly stderr: string;
    }
  | { readonly kind: "fatal"; readonly error: SerializedError }
  | { readonly kind: "unresponsive"; readonly aborted: string; readonly graceMs: number }
  /** A remote worker (`bullmq`) whose lease ran out: `why` says what the coordinator saw. */
  | { readonly kind: "lost"; readonly why: string };

function withCause(error: TrellisError, cause: SerializedError | null | undefined): SerializedError {
  const s = serializeError(error);
  return cause ? { ...s, cause } : s;
}

const OOM = /out of memory|heap limit|ERR_WORKER_OUT_OF_MEMORY/i;

/** Why a worker died, in `details.reason` of a `WORKER_CRASH` error. */
export type CrashReason = "exit" | "signal" | "out-of-memory" | "uncaught-error" | "unresponsive" | "lost";

/** What a signal that ended a worker process usually means. */
function signalWords(signal: string): { what: string; fix: string } {
  switch (signal) {
    case "SIGABRT":
      return {
        what: "aborted (SIGABRT: process.abort() or a crash in native code)",
        fix: "look for process.abort() or a native addon in the task; the native trace is in the log (the error's details.stderr)",
      };
    case "SIGSEGV":
    case "SIGBUS":
    case "SIGILL":
    case "SIGFPE":
      return {
        what: `crashed in native code (${signal})`,
        fix: "look for a native addon in the task; the native trace, if any, is in the log (the error's details.stderr)",
      };
    case "SIGKILL":
      return {
        what: "was killed by SIGKILL (the system's out-of-memory killer, or another process)",
        fix: "check the machine's memory and what else may kill processes",
      };
    default:
      return { what: `was killed by ${signal}`, fix: "something outside the task stopped its process" };
  }
}

/** Words for how a worker went away, and the matching advice. */
export function describeLoss(loss: WorkerLoss): {
  reason: CrashReason;
  what: string;
  fix: string;
  cause: SerializedError | null;
} {
  switch (loss.kind) {
    case "lost":
      return {
        reason: "lost",
        what: `${loss.why}: it was killed, crashed, lost its machine or network, or blocked its event loop for longer than the lease`,
        fix: "keep synchronous work in a task under the lease (the bullmq executor's leaseMs), and check the worker's machine and its output",
        cause: null,
      };
    case "fatal":
      return {
        reason: "uncaught-error",
        what: `hit an error no task awaited (${loss.error.name}: ${loss.error.message})`,
        fix: "await every promise a task starts and catch errors thrown in timers and callbacks",
        cause: loss.error,
      };
    case "unresponsive":
      return {
        reason: "unresponsive",
        what: `stopped responding: ${loss.aborted} was aborted and the worker did not answer within ${loss.graceMs} ms (a synchronous loop?)`,
        fix: "make long loops check ctx.signal.aborted, or split them with await",
        cause: null,
      };
    case "exit": {
      const oom =
        (loss.error !== null && OOM.test(`${loss.error.code} ${loss.error.message}`)) || OOM.test(loss.stderr);
      if (oom)
        return {
          reason: "out-of-memory",
          what: "ran out of memory",
          fix: "use less memory in the task or raise the executor's maxOldGenerationSizeMb (V8's report is in the log: the error's details.stderr)",
          cause: loss.error,
        };
      if (loss.signal !== null) {
        const words = signalWords(loss.signal);
        return {
          reason: "signal",
          what: `${words.what}${loss.error ? ` (${loss.error.message})` : ""}`,
          fix: words.fix,
          cause: loss.error,
        };
      }
      const tail = loss.stderr.trim().split("\n").slice(-3).join(" | ");
      return {
        reason: "exit",
        what: `exited with code ${String(loss.code)}${loss.error ? ` (${loss.error.message})` : ""}${tail ? `; last stderr: ${tail}` : ""}`,
        fix: "do not call process.exit() in a task; throw an error instead",
        cause: loss.error,
      };
    }
    default: {
      const never: never = loss;
      return never;
    }
  }
}

/** `1st`, `2nd`, `3rd`, `4th`… */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}

/**
 * The error an attempt fails with when it broke its worker (`crashes`: dying
 * workers its task has been on, this one included; `limit`: when it fails for good).
 */
export function crashError(
  ref: TaskRef,
  worker: string,
  loss: WorkerLoss,
  crashes = 1,
  limit = Number.POSITIVE_INFINITY,
): SerializedError {
  const { reason, what, fix, cause } = describeLoss(loss);
  // A pool starts a replacement; a remote worker is replaced by whoever runs the workers.
  const next =
    loss.kind === "lost" ? `${fix[0]?.toUpperCase() ?? ""}${fix.slice(1)}` : `The pool replaced the worker; ${fix}`;
  const count =
    crashes > 1
      ? ` It was the ${ordinal(crashes)} worker to die under ${ref.id}; it fails for good on the ${ordinal(limit)} (maxWorkerCrashes).`
      : "";
  const error = new WorkerCrashError(
    ErrorCodes.WORKER_CRASH,
    `${ref.id} (attempt ${ref.attempt}) failed because its worker (${worker}) ${what}. ${next}.${count}`,
    // What the worker printed as it died (a native trace) goes to the log, not into the one-line message.
    loss.kind === "exit" && loss.stderr.trim() !== ""
      ? { id: ref.id, attempt: ref.attempt, worker, reason, crashes, stderr: loss.stderr }
      : { id: ref.id, attempt: ref.attempt, worker, reason, crashes },
  );
  return withCause(error, cause);
}

/**
 * The error of a task that has been on `limit` dying workers: it is not
 * retried (`details.final`), whatever its `retries`.
 */
export function crashLimitError(ref: TaskRef, worker: string, loss: WorkerLoss, limit: number): SerializedError {
  const { reason, what, fix, cause } = describeLoss(loss);
  const error = new WorkerCrashError(
    ErrorCodes.WORKER_CRASH,
    `${ref.id} (attempt ${ref.attempt}) has been on ${limit} workers that died (maxWorkerCrashes: ${limit}), so it is not run again; the last one (${worker}) ${what}. ${fix[0]?.toUpperCase() ?? ""}${fix.slice(1)}, or raise the executor's maxWorkerCrashes`,
    loss.kind === "exit" && loss.stderr.trim() !== ""
      ? { id: ref.id, attempt: ref.attempt, worker, reason, crashes: limit, final: true, stderr: loss.stderr }
      : { id: ref.id, attempt: ref.attempt, worker, reason, crashes: limit, final: true },
  );
  return withCause(error, cause);
}

/** A worker could not import a task module. */
export function loadError(kind: string, module: string, cause: SerializedError): TrellisError {
  const hint =
    cause.code === ErrorCodes.RUN_IN_WORKER
      ? ""
      : ". Every module that defines tasks is imported by each worker on its own: make it importable without the main program, or pass `module` to task() to name the file that defines the task";
  return new TrellisError(
    ErrorCodes.WORKER_LOAD,
    `a ${kind} worker could not import ${module}: ${cause.message}${hint}`,
    { module },
    { cause: deserializeError(cause) },
  );
}

/** A worker died or hung while importing the task modules. */
export function loadLostError(
  kind: string,
  modules: readonly string[],
  module: string | null,
  loss: WorkerLoss | "timeout",
  timeoutMs: number,
): TrellisError {
  const where = module ?? (modules.length === 0 ? "(no module)" : modules.join(", "));
  if (loss === "timeout") {
    return new TrellisError(
      ErrorCodes.WORKER_LOAD,
      `a ${kind} worker did not finish importing ${where} within ${timeoutMs} ms; a task module must not wait on the main program at top level`,
      { module: where },
    );
  }
  if (loss.kind === "fatal" && loss.error.code === ErrorCodes.RUN_IN_WORKER) return loadError(kind, where, loss.error);
  const { what, cause } = describeLoss(loss);
  return new TrellisError(
    ErrorCodes.WORKER_LOAD,
    `a ${kind} worker ${what} while importing ${where}; a module that defines tasks must import cleanly on its own`,
    { module: where },
    cause ? { cause: deserializeError(cause) } : undefined,
  );
}
