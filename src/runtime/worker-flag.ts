import { ErrorCodes, TrellisError } from "../errors.ts";

/** Set by the worker entry so `run()` can refuse to start a run inside a worker. */
export const IN_WORKER = Symbol.for("trellis.inWorker");

export function inWorker(): boolean {
  return (globalThis as Record<symbol, unknown>)[IN_WORKER] === true;
}

/** Refuses to start a run inside a Trellis worker (`RUN_IN_WORKER`). */
export function refuseInWorker(what: "run" | "resume"): void {
  if (inWorker())
    throw new TrellisError(
      ErrorCodes.RUN_IN_WORKER,
      `${what}() was called inside a Trellis worker: the workflow module starts a run when it is imported. Guard the call with \`runIfMain(import.meta.url, task, inputs)\` (or \`if (isMain(import.meta.url))\`), or move it to another file`,
    );
}
