/**
 * Attempts of task instances: the live attempt of each running or suspended
 * instance, its time limit, and the retry policy (SPEC section 3: per-task
 * `timeoutMs` and `retries` with backoff). The decisions are pure functions;
 * {@link Attempts} keeps the live records and the timers.
 */
import { ErrorCodes, TaskTimeoutError, serializeError } from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import type { WaitEndReason } from "../events/types.ts";
import type { PlanNode } from "../plan/plan.ts";
import type { AnyTask } from "../task/define.ts";
import type { Rehosting, WaitOutcome } from "./executor.ts";
import type { WaitRecord } from "./waits.ts";

/** The longest delay before a retry, whatever the backoff says. */
export const MAX_RETRY_DELAY_MS = 30_000;

/** The attempt of an instance that is running or suspended in a wait. */
export interface LiveTask {
  readonly node: PlanNode;
  readonly attempt: number;
  holdsSlot: boolean;
  resumeQueued: boolean;
  /** Waits answered while the task was suspended, delivered when it resumes (the first one's reason is logged). */
  answered: { waitId: number; outcome: WaitOutcome; reason: WaitEndReason }[] | null;
  /** Its waits with a time limit (armed or not), so its end disarms them. */
  timed: WaitRecord[] | null;
  /** Errors of refused spawns and promises (reject policy), raised at the next wait or at the end. */
  errors: SerializedError[] | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Set when its worker died and it is to run again from the start (see `rehosting.ts`). */
  rehost: Rehosting | null;
  /** Times it ran again after its worker died; its spawns then re-attach to the instances they made before. */
  replays: number;
}

/**
 * True when a failure with `error` may be retried: a broken promise, a
 * cancellation, a non-deterministic re-run, or a task that has been on too
 * many dying workers (`WORKER_CRASH` with `details.final`) never is.
 */
export function isRetryable(error: SerializedError): boolean {
  return (
    error.code !== ErrorCodes.PROMISE_VIOLATION &&
    error.code !== ErrorCodes.TASK_CANCELLED &&
    error.code !== ErrorCodes.NON_DETERMINISTIC &&
    error.details?.["final"] !== true
  );
}

/** The delay before the attempt after `attempt` failed with `error`, or null when it is not retried. */
export function retryDelay(def: AnyTask | undefined, attempt: number, error: SerializedError): number | null {
  if (!def || !isRetryable(error) || attempt > def.retries) return null;
  return Math.min(def.retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
}

/** The error of an attempt that outlived its definition's `timeoutMs`. */
export function attemptTimeoutError(id: string, timeoutMs: number, attempt: number): SerializedError {
  return serializeError(
    new TaskTimeoutError(
      ErrorCodes.TASK_TIMEOUT,
      `${id} did not finish within its timeoutMs of ${timeoutMs} ms (attempt ${attempt})`,
      {
        id,
        timeoutMs,
        attempt,
      },
    ),
  );
}

/** Keeps an error for the task's next wait (or its end): how a refused spawn or promise (`reject` policy) reaches a task in a worker. */
export function deferError(live: LiveTask, error: unknown): void {
  (live.errors ??= []).push(serializeError(error));
}

/** The live attempts of one run and its pending retries. */
export class Attempts {
  /** Every live attempt but {@link #fresh}, by instance id. */
  readonly #live = new Map<string, LiveTask>();
  /**
   * The attempt started last, while it is live, kept out of {@link #live}
   * until the next one starts: a task that runs and ends before another
   * starts (the inline executor runs a quick task within its start) then
   * costs no Map entry. An entry set and deleted per task made a small Map
   * rehash every few tasks.
   */
  #fresh: LiveTask | null = null;
  readonly #retries = new Set<ReturnType<typeof setTimeout>>();

  /** Retries whose delay has not passed yet. */
  get pendingRetries(): number {
    return this.#retries.size;
  }

  get(id: string): LiveTask | undefined {
    const fresh = this.#fresh;
    if (fresh !== null && fresh.node.id === id) return fresh;
    return this.#live.get(id);
  }

  /** Starts attempt `attempt` of `node`, holding a slot. */
  start(node: PlanNode, attempt: number): LiveTask {
    const live: LiveTask = {
      node,
      attempt,
      holdsSlot: true,
      resumeQueued: false,
      answered: null,
      timed: null,
      errors: null,
      timer: undefined,
      rehost: null,
      replays: 0,
    };
    const before = this.#fresh;
    if (before !== null) this.#live.set(before.node.id, before);
    this.#fresh = live;
    return live;
  }

  /** Fails `live` with a `TASK_TIMEOUT` error through `fire` when it still runs after `timeoutMs` (from now: a timer armed before is replaced). */
  armTimeout(live: LiveTask, timeoutMs: number, fire: (live: LiveTask, error: SerializedError) => void): void {
    const id = live.node.id;
    this.disarmTimeout(live);
    live.timer = setTimeout(() => {
      if (this.get(id) === live) fire(live, attemptTimeoutError(id, timeoutMs, live.attempt));
    }, timeoutMs);
  }

  /** Stops the time limit of `live` (until it is armed again). */
  disarmTimeout(live: LiveTask): void {
    if (live.timer !== undefined) clearTimeout(live.timer);
    live.timer = undefined;
  }

  /** Forgets the attempt of `id` and stops its time limit. */
  end(id: string, live: LiveTask): void {
    this.disarmTimeout(live);
    if (this.#fresh !== null && this.#fresh.node.id === id) this.#fresh = null;
    else this.#live.delete(id);
  }

  /** Attempts holding a slot now, in the order they started. */
  *holdingSlots(): Generator<[string, LiveTask]> {
    for (const entry of this.#live) if (entry[1].holdsSlot) yield entry;
    const fresh = this.#fresh;
    if (fresh !== null && fresh.holdsSlot) yield [fresh.node.id, fresh];
  }

  /** Calls `then` after `delayMs`, counted as a pending retry until then. */
  retryAfter(delayMs: number, then: () => void): void {
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      then();
    }, delayMs);
    this.#retries.add(timer);
  }

  /** Drops every pending retry (a halted or cancelled run). */
  cancelRetries(): void {
    for (const t of this.#retries) clearTimeout(t);
    this.#retries.clear();
  }
}
