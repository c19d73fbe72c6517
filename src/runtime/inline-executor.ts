/**
 * The inline executor: task functions run in the engine's own thread. No
 * isolation and no parallel CPU work, but no transport cost either; meant for
 * tests, debugging and I/O-bound workflows. Values still go through the codec
 * so a workflow behaves the same here as in workers.
 */
import type { SerializedError } from "../errors.ts";
import { deserializeError } from "../errors.ts";
import { registry as defaultRegistry } from "../task/registry.ts";
import type { TaskRegistry } from "../task/registry.ts";
import type { EngineLink, Executor, StartTask, TaskOutcome, TaskRef, WaitOutcome } from "./executor.ts";
import type { PromiseSpec } from "../events/types.ts";
import type { Json } from "../events/codec.ts";
import type { SpawnRequest } from "./executor.ts";
import type { TaskPort } from "./task-runner.ts";
import { LazyAbort, runAttempt } from "./task-runner.ts";

/**
 * One attempt in progress: its ref, its port to the engine and its abort
 * signal in one object (a class, not closures: this is the hot path).
 */
class Running extends LazyAbort implements TaskPort, TaskRef {
  waits: Map<number, (outcome: WaitOutcome) => void> | undefined;

  constructor(
    readonly id: string,
    readonly attempt: number,
    readonly link: EngineLink,
  ) {
    super();
  }

  spawn(child: SpawnRequest): void {
    this.link.spawn(this, child);
  }

  wait(waitId: number, ids: readonly string[], timeoutMs: number | null): Promise<WaitOutcome> {
    return new Promise<WaitOutcome>((resolve) => {
      (this.waits ??= new Map()).set(waitId, resolve);
      this.link.wait(this, waitId, ids, timeoutMs);
    });
  }

  abortWait(waitId: number): void {
    if (this.waits?.has(waitId)) this.link.abortWait(this, waitId);
  }

  promise(promises: readonly PromiseSpec[]): void {
    this.link.promise(this, promises);
  }

  log(message: string, fields: Json): void {
    this.link.log(this, message, fields);
  }

  emit(output: Json): void {
    this.link.emit(this, output);
  }
}

export class InlineExecutor implements Executor {
  readonly kind = "inline" as const;
  readonly concurrency: number;
  get workers(): number {
    return this.concurrency;
  }
  #link: EngineLink | undefined;
  /**
   * The attempts that outlived their call (their function returned a
   * promise), and a called one that another call interrupted. A task that
   * ends within its call (most do) is only ever {@link #calling}: no Map
   * entry set and deleted per task.
   */
  readonly #running = new Map<string, Running>();
  /** The attempt whose task function is being called (its synchronous part). */
  #calling: Running | null = null;
  readonly #registry: TaskRegistry;

  constructor(options: { concurrency?: number; registry?: TaskRegistry } = {}) {
    this.concurrency = options.concurrency ?? 1;
    this.#registry = options.registry ?? defaultRegistry;
  }

  async start(link: EngineLink): Promise<void> {
    this.#link = link;
  }

  run(task: StartTask): void {
    const link = this.#link;
    if (!link) throw new Error("InlineExecutor.run before start");
    const running = new Running(task.id, task.attempt, link);
    const def = this.#registry.require(task.task);
    const outer = this.#calling;
    if (outer !== null) this.#running.set(outer.id, outer); // not reachable as #calling during this call
    this.#calling = running;
    const outcome = runAttempt(def, task, running, running);
    this.#calling = outer;
    if (outcome instanceof Promise) {
      this.#running.set(task.id, running);
      void outcome.then((settled) => this.#settled(running, settled));
      return;
    }
    // As if it had been registered for its call: an earlier attempt of the id left registered is replaced, so gone too.
    if (this.#running.size > 0) this.#running.delete(task.id);
    link.finished(running, outcome);
  }

  #settled(running: Running, outcome: TaskOutcome): void {
    if (this.#running.get(running.id) === running) this.#running.delete(running.id);
    running.link.finished(running, outcome);
  }

  /** The attempt of instance `id` in progress: the one being called, or one that outlived its call. */
  #find(id: string): Running | undefined {
    const calling = this.#calling;
    return calling !== null && calling.id === id ? calling : this.#running.get(id);
  }

  resume(ref: TaskRef, waitId: number, outcome: WaitOutcome): void {
    const running = this.#find(ref.id);
    if (!running || running.attempt !== ref.attempt) return;
    const resolve = running.waits?.get(waitId);
    if (!resolve) return;
    running.waits?.delete(waitId);
    resolve(outcome);
  }

  abort(ref: TaskRef, reason: SerializedError): void {
    const running = this.#find(ref.id);
    if (!running || running.attempt !== ref.attempt) return;
    running.abort(deserializeError(reason));
  }

  executing(): readonly TaskRef[] {
    if (this.#calling !== null) return [this.#calling];
    const out: TaskRef[] = [];
    for (const r of this.#running.values()) if (r.waits === undefined || r.waits.size === 0) out.push(r);
    return out;
  }

  async close(): Promise<void> {
    this.#calling?.abort();
    for (const r of this.#running.values()) r.abort();
    this.#running.clear();
  }
}
