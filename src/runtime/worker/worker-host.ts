/**
 * The code that runs inside a worker (thread or child process). It imports
 * the modules that define the tasks, then hosts many attempts at once: a task
 * suspended in `waitForAll` stays here while others run, which is what lets a
 * parent wait for its children whatever the number of workers.
 *
 * Each attempt gets a {@link TaskPort} that turns `ctx` calls into protocol
 * messages; the engine's answers (`resume`, `abort`) are routed back to it.
 *
 * Each attempt runs in its own async context ({@link executing}), which its
 * awaits, timers and callbacks inherit: when one of them ends the worker
 * (`process.exit`, an error nobody catches), the worker names that attempt as
 * the culprit, and the pool runs the others again elsewhere instead of
 * failing them.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ErrorCodes, TrellisError, deserializeError, serializeError } from "../../errors.ts";
import { registry } from "../../task/registry.ts";
import type { Json } from "../../events/codec.ts";
import type { PromiseSpec } from "../../events/types.ts";
import type { SpawnRequest, StartTask, TaskOutcome, WaitOutcome } from "../executor.ts";
import type { TaskPort } from "../task-runner.ts";
import { LazyAbort, runAttempt } from "../task-runner.ts";
import { Outbox, afterTurn } from "./outbox.ts";
import { importModule } from "../loader/typescript.ts";
import type { AttemptRef, HostToWorker, StopMessage, WorkerChannel, WorkerToHost } from "./protocol.ts";
import { unreachable } from "./protocol.ts";

/** One attempt in this worker, and its port to the engine (a class, not closures: this is the hot path). */
class Hosted implements TaskPort {
  readonly abort = new LazyAbort();
  waits: Map<number, (outcome: WaitOutcome) => void> | undefined;
  /** When it started (performance.now()), or -1 once it waited on others. */
  startedAt = performance.now();

  constructor(
    readonly id: string,
    readonly attempt: number,
    readonly out: Outbox<WorkerToHost>,
    /** Queues a `wait` or `finished` and tells the channel (see {@link WorkerChannel.stopped}). */
    readonly stop: (m: StopMessage) => void,
  ) {}

  spawn(child: SpawnRequest): void {
    this.out.push({ type: "spawn", id: this.id, attempt: this.attempt, child });
  }

  wait(waitId: number, ids: readonly string[], timeoutMs: number | null): Promise<WaitOutcome> {
    return new Promise<WaitOutcome>((resolve) => {
      this.startedAt = -1;
      (this.waits ??= new Map()).set(waitId, resolve);
      this.stop({ type: "wait", id: this.id, attempt: this.attempt, waitId, ids, timeoutMs });
    });
  }

  abortWait(waitId: number): void {
    if (this.waits?.has(waitId)) this.out.push({ type: "abortWait", id: this.id, attempt: this.attempt, waitId });
  }

  promise(promises: readonly PromiseSpec[]): void {
    this.out.push({ type: "promise", id: this.id, attempt: this.attempt, promises });
  }

  log(message: string, fields: Json): void {
    this.out.push({ type: "log", id: this.id, attempt: this.attempt, message, fields });
  }

  emit(output: Json): void {
    this.out.push({ type: "emit", id: this.id, attempt: this.attempt, output });
  }
}

/** The attempt whose code (or a callback it left) runs now. */
const executing = new AsyncLocalStorage<Hosted>();

export class WorkerHost {
  readonly #out: Outbox<WorkerToHost>;
  readonly #channel: WorkerChannel;
  readonly #hosted = new Map<string, Hosted>();
  #modules: readonly string[] = [];
  /** The module being imported (the last one until `ready`), to name it when loading crashes. */
  #loading: string | null = null;
  /** Set while closing: exits once the last attempt settled. */
  #onIdle: (() => void) | undefined;

  /** Bound once: every attempt's `wait` and end go through it. */
  readonly #stop = (m: StopMessage): void => {
    this.#out.push(m);
    this.#channel.stopped?.(m);
  };

  constructor(channel: WorkerChannel) {
    this.#channel = channel;
    this.#out = new Outbox((batch) => channel.send(batch), afterTurn);
    channel.onMessage((batch) => {
      for (const message of batch) this.#handle(message);
    });
  }

  /** The attempt whose code runs now (called from an error or exit handler), or null outside any attempt. */
  culprit(): AttemptRef | null {
    const hosted = executing.getStore();
    return hosted === undefined ? null : { id: hosted.id, attempt: hosted.attempt };
  }

  /** Reports an uncaught error at once; the caller exits the worker after. */
  fatal(error: unknown): void {
    this.#out.push({ type: "fatal", error: serializeError(error), module: this.#loading, culprit: this.culprit() });
    this.#out.flush();
  }

  /** A task calls `process.exit(code)`: what is queued leaves as far as it can, then the host is told who, synchronously. */
  exiting(code: number, culprit: AttemptRef): void {
    this.#out.flush();
    this.#channel.lastWords({ type: "exiting", code, culprit });
  }

  #handle(m: HostToWorker): void {
    switch (m.type) {
      case "run":
        this.#run(m.task);
        return;
      case "resume": {
        const hosted = this.#find(m.id, m.attempt);
        const resolve = hosted?.waits?.get(m.waitId);
        if (!hosted || !resolve) return;
        hosted.waits?.delete(m.waitId);
        resolve(m.outcome);
        return;
      }
      case "abort":
        this.#find(m.id, m.attempt)?.abort.abort(deserializeError(m.reason));
        return;
      case "ping":
        this.#out.push({ type: "pong", seq: m.seq });
        return;
      case "close":
        this.#close(m.graceMs);
        return;
      default:
        unreachable(m);
    }
  }

  /** Imports the task modules, then reports `ready` or `loadFailed`. */
  /** Imports the task modules in order (see `importModule` for `loadPackageEntry`), then says `ready`. */
  async load(modules: readonly string[], loadPackageEntry: () => Promise<unknown>): Promise<void> {
    this.#modules = modules;
    for (const module of modules) {
      this.#loading = module;
      try {
        await importModule(module, loadPackageEntry);
      } catch (error) {
        this.#out.push({ type: "loadFailed", module, error: serializeError(error) });
        return;
      }
    }
    // A module may have started a promise that rejects a moment later (a
    // top-level `void run(...)`): let it surface as `fatal` before `ready`.
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#loading = null;
    this.#out.push({ type: "ready", tasks: registry.all().length });
  }

  #run(start: StartTask): void {
    const { id, attempt } = start;
    const def = registry.get(start.task);
    if (!def) {
      const error = new TrellisError(
        ErrorCodes.UNKNOWN_TASK,
        `${id}: no task named "${start.task}" is defined in the worker, which imported ${this.#modules.length === 0 ? "no module" : this.#modules.join(", ")}. ` +
          `Define the task with task() at the top level of a module that is not a test file, or pass \`module: import.meta.url\` to task() so workers import the right file`,
        { id, task: start.task },
      );
      this.#stop({ type: "finished", id, attempt, outcome: { ok: false, error: serializeError(error) }, runMs: 0 });
      return;
    }
    const hosted = new Hosted(id, attempt, this.#out, this.#stop);
    this.#hosted.set(id, hosted);
    const outcome = executing.run(hosted, runAttempt, def, start, hosted, hosted.abort);
    if (outcome instanceof Promise) void outcome.then((settled) => this.#settled(hosted, settled));
    else this.#settled(hosted, outcome);
  }

  /** The attempt, by id: a newer attempt of the same id replaces a stale (aborted) one. */
  #find(id: string, attempt: number): Hosted | undefined {
    const hosted = this.#hosted.get(id);
    return hosted !== undefined && hosted.attempt === attempt ? hosted : undefined;
  }

  #settled(hosted: Hosted, outcome: TaskOutcome): void {
    if (this.#hosted.get(hosted.id) === hosted) this.#hosted.delete(hosted.id);
    const runMs = hosted.startedAt < 0 ? -1 : performance.now() - hosted.startedAt;
    this.#stop({ type: "finished", id: hosted.id, attempt: hosted.attempt, outcome, runMs });
    if (this.#hosted.size === 0) this.#onIdle?.();
  }

  /** Aborts what is left, gives it up to `graceMs` to settle (async cleanup in abort listeners), then exits. */
  #close(graceMs: number): void {
    const reason = new TrellisError(
      ErrorCodes.TASK_CANCELLED,
      "the executor was closed while the task was still running",
    );
    for (const hosted of this.#hosted.values()) hosted.abort.abort(reason);
    const exit = (): void => {
      this.#out.flush();
      this.#channel.exit(0);
    };
    if (this.#hosted.size === 0) return exit();
    this.#onIdle = exit;
    setTimeout(exit, graceMs).unref();
  }
}
