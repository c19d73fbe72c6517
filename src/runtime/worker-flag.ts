/** Set by the worker entry so `run()` can refuse to start a run inside a worker. */
export const IN_WORKER = Symbol.for("trellis.inWorker");

export function inWorker(): boolean {
  return (globalThis as Record<symbol, unknown>)[IN_WORKER] === true;
}
