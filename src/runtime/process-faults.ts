/**
 * Faults that end the engine's own process while a run is active: on the
 * inline executor a task that calls `process.exit`, or an error nobody
 * caught, takes the engine with it. {@link ProcessFaults} listens for them
 * from the start of a run to its end, so that the run ends in the log
 * (the task that did it fails with `PROCESS_EXIT`, then `run.finished`),
 * synchronously, before the process is gone. On the threads and processes
 * executors the same faults end only a worker (`runtime/worker/`).
 */
import { ErrorCodes, TrellisError, serializeError } from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import type { Executor, TaskRef } from "./executor.ts";

/**
 * What the run does when the process exits under it: `culprit` is the one
 * attempt whose code was running (null when it cannot be told), `error` the
 * error the run ends with (see {@link processExitError}).
 */
export type OnProcessExit = (culprit: TaskRef | null, error: SerializedError) => void;

/** Watches the process for the faults that end it during a run. */
export class ProcessFaults {
  /** An error nobody caught is about to end the process (unless a handler of the program keeps it alive: then it is forgotten next turn). */
  #uncaught: SerializedError | null = null;

  /**
   * @param executor asked which attempts were running (`executing`) when the process exits
   * @param isLive false for an attempt that is not the live one of its instance (it cannot be blamed)
   * @param onExit ends the run, synchronously
   */
  constructor(
    private readonly executor: Executor,
    private readonly isLive: (ref: TaskRef) => boolean,
    private readonly onExit: OnProcessExit,
  ) {}

  /** Starts listening (when the run starts). */
  watch(): void {
    // Ahead of the log's own exit handler, which then writes what the run commits.
    process.prependListener("exit", this.#onExit);
    process.on("uncaughtExceptionMonitor", this.#onUncaught);
  }

  /** Stops listening (when the run ended). */
  unwatch(): void {
    process.off("exit", this.#onExit);
    process.off("uncaughtExceptionMonitor", this.#onUncaught);
  }

  readonly #onExit = (code: number): void => {
    const running = this.executor.executing?.() ?? [];
    const one = running.length === 1 ? (running[0] as TaskRef) : null;
    const culprit = one !== null && this.isLive(one) ? one : null;
    const ids = running.map((r) => r.id);
    this.onExit(culprit, processExitError(code, culprit?.id ?? null, ids, this.#uncaught));
  };

  readonly #onUncaught = (error: unknown): void => {
    this.#uncaught = serializeError(error);
    setImmediate(() => (this.#uncaught = null)).unref();
  };
}

/**
 * The error a run ends with when the process exits under it: `culprit` is the
 * one attempt whose code was running (it fails with this error), or null
 * when it cannot be told (`running` lists who may have done it); `uncaught`
 * the error nobody caught that ends the process, or null for `process.exit`.
 */
export function processExitError(
  code: number,
  culprit: string | null,
  running: readonly string[],
  uncaught: SerializedError | null,
): SerializedError {
  const list = `${running.slice(0, 5).join(", ")}${running.length > 5 ? ` and ${running.length - 5} more` : ""}`;
  const details = culprit !== null ? { id: culprit, exitCode: code } : { exitCode: code, running: [...running] };
  if (uncaught !== null) {
    const where = culprit !== null ? ` while ${culprit} ran` : running.length > 0 ? ` while ${list} ran` : "";
    const error = serializeError(
      new TrellisError(
        ErrorCodes.PROCESS_EXIT,
        `an error nobody caught (${uncaught.name}: ${uncaught.message}) ended the process${where}, and the run with it. ` +
          "Await every promise a task starts and catch errors thrown in timers and callbacks (on the threads or processes executor it would end only its worker)",
        details,
      ),
    );
    return { ...error, cause: uncaught };
  }
  const who = culprit !== null ? ` by ${culprit}` : running.length > 0 ? ` while ${list} ran` : "";
  return serializeError(
    new TrellisError(
      ErrorCodes.PROCESS_EXIT,
      `process.exit(${code}) was called${who} during the run, so the process ends here and the run with it. ` +
        "Do not call process.exit() in a task: throw an error instead (on the threads or processes executor it would end only its worker)",
      details,
    ),
  );
}
