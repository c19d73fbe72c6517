/**
 * A queue of outgoing messages flushed as one batch per turn. Posting a
 * message across a thread costs tens of microseconds whatever its size, so
 * batching the fire-and-forget traffic (spawn, log, emit, run, resume) is what
 * makes small tasks cheap.
 */
export type FlushTiming = (flush: () => void) => void;

/** Flush after the current microtasks: the host's engine step queues every start synchronously. */
export const afterMicrotasks: FlushTiming = (flush) => queueMicrotask(flush);

/** Flush in the next check phase: inside a worker, many attempts finish across several microtask hops. */
export const afterTurn: FlushTiming = (flush) => void setImmediate(flush);

export class Outbox<T> {
  #items: T[] = [];
  #scheduled = false;
  readonly #send: (batch: T[]) => void;
  readonly #schedule: FlushTiming;

  constructor(send: (batch: T[]) => void, schedule: FlushTiming) {
    this.#send = send;
    this.#schedule = schedule;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => this.flush());
  }

  /** Sends what is queued now (also used right before the worker exits). */
  flush(): void {
    this.#scheduled = false;
    if (this.#items.length === 0) return;
    const batch = this.#items;
    this.#items = [];
    this.#send(batch);
  }

  /** Drops what is queued (the other end is gone). */
  clear(): void {
    this.#items = [];
  }
}
