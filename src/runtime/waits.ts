/**
 * The waits of running tasks (`ctx.waitForAll`): who waits on which instance,
 * which waits have a time limit armed, and the errors a wait can end with.
 * The engine decides when a wait is answered; this module keeps the records
 * and their timers so that the decision has what it needs.
 */
import {
  DeadlockError,
  ErrorCodes,
  TaskFailedError,
  TrellisError,
  WaitAbortedError,
  WaitTimeoutError,
  serializeError,
} from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import { isFinished } from "../events/types.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { isAvailable } from "../scheduler/readiness.ts";
import { WaitIndex } from "./wait-index.ts";

/** One `waitForAll` of one attempt. */
export interface WaitRecord {
  readonly task: string;
  readonly attempt: number;
  readonly waitId: number;
  /** The instances waited on, in the order asked (their outputs are the answer). */
  readonly nodes: PlanNode[];
  remaining: number;
  done: boolean;
  /** The wait's `timeoutMs` timer, while it is armed. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

export function newWaitRecord(task: string, attempt: number, waitId: number): WaitRecord {
  return { task, attempt, waitId, nodes: [], remaining: 0, done: false, timer: undefined };
}

/** The waits of one run. */
export class Waits {
  readonly #index = new WaitIndex<WaitRecord>();
  /** Waits whose time limit is armed: the run is not deadlocked while one may still fire. */
  readonly #armed = new Set<WaitRecord>();

  /** Waits with an armed time limit. */
  get armed(): number {
    return this.#armed.size;
  }

  /**
   * Registers the wait `record` of `record.task` on `ids` (in `plan`): the
   * instances it names go to `record.nodes`, those without output yet are
   * indexed and counted in `record.remaining`. Returns the ids it now waits
   * on (none: every output is there, answer at once), or the error it is
   * refused with (then nothing stays registered).
   */
  register(plan: Plan, record: WaitRecord, ids: readonly string[]): string[] | SerializedError {
    const waitingOn: string[] = [];
    for (const id of ids) {
      const node = plan.nodes.get(id);
      const problem = id === record.task ? selfWaitError(id) : node ? null : unknownWaitError(record.task, id);
      if (problem) return this.#drop(record, problem);
      const n = node as PlanNode;
      record.nodes.push(n);
      if (isAvailable(n)) continue;
      if (isFinished(n.status)) return this.#drop(record, failedChildError(n));
      if (!this.#index.add(n.order, record)) continue; // the same id twice in one wait
      record.remaining++;
      waitingOn.push(id);
    }
    return waitingOn;
  }

  /** Removes and returns the waits on `node`. */
  take(node: PlanNode): WaitRecord | WaitRecord[] | undefined {
    return this.#index.take(node.order);
  }

  /**
   * Un-registers a wait refused half way through its ids. Each instance it
   * registered on has it as its latest waiter (nothing ran in between); the
   * others in `record.nodes` (available, finished, an id met twice) do not,
   * and `removeLatest` leaves them alone.
   */
  #drop(record: WaitRecord, error: SerializedError): SerializedError {
    record.done = true;
    for (const node of record.nodes) this.#index.removeLatest(node.order, record);
    return error;
  }

  /** Un-registers a wait that ends before its instances finished (timeout, abort), so a later wait on them starts clean. */
  remove(record: WaitRecord): void {
    for (const node of record.nodes) this.#index.remove(node.order, record);
  }

  /** The open wait `waitId` of an attempt, if it is still open. */
  find(task: string, attempt: number, waitId: number): WaitRecord | undefined {
    for (const r of this.#index.records())
      if (r.task === task && r.attempt === attempt && r.waitId === waitId && !r.done) return r;
    return undefined;
  }

  /** Closes the open waits of `task` (a deadlock answers them); returns their ids. */
  close(task: string): number[] {
    const out: number[] = [];
    for (const r of this.#index.records())
      if (r.task === task && !r.done) {
        r.done = true;
        out.push(r.waitId);
      }
    return out;
  }

  /** Starts the time limit of a registered wait; `fire` runs when it passes first. */
  arm(record: WaitRecord, timeoutMs: number, fire: (record: WaitRecord) => void): void {
    this.#armed.add(record);
    record.timer = setTimeout(() => {
      record.timer = undefined;
      this.#armed.delete(record);
      fire(record);
    }, timeoutMs);
  }

  disarm(record: WaitRecord): void {
    if (record.timer === undefined) return;
    clearTimeout(record.timer);
    record.timer = undefined;
    this.#armed.delete(record);
  }

  disarmAll(): void {
    for (const r of [...this.#armed]) this.disarm(r);
  }
}

/** The ids a wait still waits for, in the order asked, each once. */
export function unfinishedOf(record: WaitRecord): string[] {
  const ids: string[] = [];
  for (const n of record.nodes) if (!isAvailable(n) && !ids.includes(n.id)) ids.push(n.id);
  return ids;
}

/** Up to ten ids for a message, then how many more. */
function listIds(ids: readonly string[]): string {
  return ids.length <= 10 ? ids.join(", ") : `${ids.slice(0, 10).join(", ")} and ${ids.length - 10} more`;
}

export function selfWaitError(id: string): SerializedError {
  return serializeError(new DeadlockError(ErrorCodes.DEADLOCK, `${id} waits for itself; it can never finish`, { id }));
}

export function unknownWaitError(by: string, id: string): SerializedError {
  return serializeError(
    new TrellisError(
      ErrorCodes.UNKNOWN_INSTANCE,
      `${by} waits for ${id}, which is not an instance of this run (it was never spawned, or its spawn was refused)`,
      { id },
    ),
  );
}

/** What a wait on `node` gets when `node` finished without an output. */
export function failedChildError(node: PlanNode): SerializedError {
  const cause = node.error;
  const what =
    node.status === "failed"
      ? `failed: ${cause?.message ?? "unknown error"}`
      : `was ${node.status}${node.reason ? ` (${node.reason})` : ""}`;
  const error = new TaskFailedError(
    ErrorCodes.TASK_FAILED,
    `${node.id} ${what}`,
    { id: node.id, status: node.status },
    { cause: undefined },
  );
  const s = serializeError(error);
  return cause ? { ...s, cause } : s;
}

export function waitTimeoutError(record: WaitRecord, timeoutMs: number): SerializedError {
  const pending = unfinishedOf(record);
  return serializeError(
    new WaitTimeoutError(
      ErrorCodes.WAIT_TIMEOUT,
      `${record.task} waited ${timeoutMs} ms (its timeoutMs) and ${pending.length} of the instances it waits for did not finish: ${listIds(pending)}. ` +
        "They keep running: wait for them again, or go on without them",
      { id: record.task, timeoutMs, pending },
    ),
  );
}

export function waitAbortedError(record: WaitRecord): SerializedError {
  const pending = unfinishedOf(record);
  return serializeError(
    new WaitAbortedError(
      ErrorCodes.WAIT_ABORTED,
      `${record.task}: its wait was aborted by the signal passed to waitForAll, with ${pending.length} of the instances it waits for unfinished: ${listIds(pending)}. They keep running`,
      { id: record.task, pending },
    ),
  );
}
