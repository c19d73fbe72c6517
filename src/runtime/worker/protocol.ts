/**
 * The messages between the engine's thread (the host) and a worker (a thread
 * or a child process), named by direction. Both directions travel in batches:
 * one `postMessage` / `send` carries an array of messages, flushed once per
 * turn, so a parent that spawns a thousand children costs one message, not a
 * thousand.
 *
 * Every value in a message is JSON-safe (inputs and outputs are already
 * encoded by `events/codec.ts`, errors are `SerializedError`s), so the same
 * protocol works over structured clone (threads) and JSON IPC (processes).
 * Attempts are correlated by `(id, attempt)`; waits by `waitId`.
 */
import type { SerializedError } from "../../errors.ts";
import type { Json } from "../../events/codec.ts";
import type { PromiseSpec } from "../../events/types.ts";
import type { EngineLink, SpawnRequest, StartTask, TaskOutcome, WaitOutcome } from "../executor.ts";

/** Host → worker. */
export type HostToWorker =
  /** Start an attempt. */
  | { readonly type: "run"; readonly task: StartTask }
  /** The engine's answer to a `wait`. */
  | {
      readonly type: "resume";
      readonly id: string;
      readonly attempt: number;
      readonly waitId: number;
      readonly outcome: WaitOutcome;
    }
  /** Fire the attempt's AbortSignal with `reason`. */
  | { readonly type: "abort"; readonly id: string; readonly attempt: number; readonly reason: SerializedError }
  /** Liveness check after an abort: a worker stuck in a synchronous loop never answers. */
  | { readonly type: "ping"; readonly seq: number }
  /** Abort what is left, wait up to `graceMs` for it to settle, and exit. */
  | { readonly type: "close"; readonly graceMs: number };

/** Worker → host. */
export type WorkerToHost =
  /** Every module of {@link WorkerBoot} was imported; `tasks` definitions are registered. */
  | { readonly type: "ready"; readonly tasks: number }
  | { readonly type: "loadFailed"; readonly module: string; readonly error: SerializedError }
  | { readonly type: "spawn"; readonly id: string; readonly attempt: number; readonly child: SpawnRequest }
  | {
      readonly type: "wait";
      readonly id: string;
      readonly attempt: number;
      readonly waitId: number;
      readonly ids: readonly string[];
      /** Null: no limit. */
      readonly timeoutMs: number | null;
    }
  /** The signal of wait `waitId` aborted. */
  | { readonly type: "abortWait"; readonly id: string; readonly attempt: number; readonly waitId: number }
  | {
      readonly type: "promise";
      readonly id: string;
      readonly attempt: number;
      readonly promises: readonly PromiseSpec[];
    }
  | {
      readonly type: "log";
      readonly id: string;
      readonly attempt: number;
      readonly message: string;
      readonly fields: Json;
    }
  | { readonly type: "emit"; readonly id: string; readonly attempt: number; readonly output: Json }
  /** `runMs`: how long the attempt ran in the worker, or -1 when it waited on others (its time says nothing of its own cost). */
  | {
      readonly type: "finished";
      readonly id: string;
      readonly attempt: number;
      readonly outcome: TaskOutcome;
      readonly runMs: number;
    }
  | { readonly type: "pong"; readonly seq: number }
  /**
   * An uncaught exception or unhandled rejection: the worker is about to exit.
   * `module` is the task module being imported when it happened during loading, else null;
   * `culprit` the attempt whose code raised it (its async context), when known.
   */
  | {
      readonly type: "fatal";
      readonly error: SerializedError;
      readonly module: string | null;
      readonly culprit: AttemptRef | null;
    }
  /** A task called `process.exit(code)`: the worker exits right after this message (sent by {@link WorkerChannel.lastWords}). */
  | { readonly type: "exiting"; readonly code: number; readonly culprit: AttemptRef };

/** An attempt, named inside a worker. */
export interface AttemptRef {
  readonly id: string;
  readonly attempt: number;
}

/**
 * What a worker gets when it starts (`workerData` for threads, an argument for
 * processes), so it can import the task modules before any message can be lost.
 */
export interface WorkerBoot {
  /** URLs of the modules that define the tasks, imported in order. */
  readonly modules: readonly string[];
}

/** The worker's end of the link to the host (see `threads/thread-channel.ts`, `processes/process-channel.ts`). */
export interface WorkerChannel {
  readonly boot: WorkerBoot;
  send(batch: readonly WorkerToHost[]): void;
  onMessage(handler: (batch: readonly HostToWorker[]) => void): void;
  /** Exits the worker once what was sent has left. */
  exit(code: number): void;
  /**
   * Sends one message synchronously, for a worker about to exit at once
   * (a task's `process.exit`): a thread posts it (delivered after the thread
   * ends); a process writes it to stderr as one marked line, which its
   * transport takes out of the stream.
   */
  lastWords(message: WorkerToHost): void;
  /**
   * Told synchronously when an attempt stops running here: it waits on
   * others (`m` is its `wait`) or it ended (`finished`). The message itself
   * leaves with the next batch, in the next turn. The bullmq worker frees
   * the attempt's slot here, so the next attempt of a batch starts in the
   * same turn and their results travel together.
   */
  stopped?(m: StopMessage): void;
}

/** What an attempt sends when it stops running: it waits, or it ended (see {@link WorkerChannel.stopped}). */
export type StopMessage = Extract<WorkerToHost, { type: "wait" | "finished" }>;

/** Ends a switch over a union: a new message type is a compile error until handled. */
/** A running task's call that goes to the engine as it is, whatever carried it (a worker's channel, a Redis stream). */
export type ForwardedCall = Extract<WorkerToHost, { type: "spawn" | "abortWait" | "promise" | "log" | "emit" }>;

/** Hands a task's `spawn`, `abortWait`, `promise`, `log` or `emit` to the engine. */
export function forwardCall(link: EngineLink, m: ForwardedCall): void {
  switch (m.type) {
    case "spawn":
      return link.spawn(m, m.child);
    case "abortWait":
      return link.abortWait(m, m.waitId);
    case "promise":
      return link.promise(m, m.promises);
    case "log":
      return link.log(m, m.message, m.fields);
    case "emit":
      return link.emit(m, m.output);
    default:
      return unreachable(m);
  }
}

export function unreachable(value: never): never {
  throw new Error(`unhandled message ${JSON.stringify(value)}`);
}
