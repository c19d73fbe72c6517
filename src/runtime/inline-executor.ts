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
import type { EngineLink, Executor, StartTask, TaskRef, WaitOutcome } from "./executor.ts";
import type { TaskPort } from "./task-runner.ts";
import { runAttempt } from "./task-runner.ts";

interface Running {
  readonly attempt: number;
  readonly controller: AbortController;
  readonly waits: Map<number, (outcome: WaitOutcome) => void>;
}

export class InlineExecutor implements Executor {
  readonly kind = "inline" as const;
  readonly concurrency: number;
  #link: EngineLink | undefined;
  #waitIds = 0;
  readonly #running = new Map<string, Running>();
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
    const ref: TaskRef = { id: task.id, attempt: task.attempt };
    const running: Running = { attempt: task.attempt, controller: new AbortController(), waits: new Map() };
    this.#running.set(task.id, running);
    const port: TaskPort = {
      spawn: (child) => link.spawn(ref, child),
      wait: (ids) =>
        new Promise<WaitOutcome>((resolve) => {
          const waitId = ++this.#waitIds;
          running.waits.set(waitId, resolve);
          link.wait(ref, waitId, ids);
        }),
      promise: (promises) => link.promise(ref, promises),
      log: (message, fields) => link.log(ref, message, fields),
      emit: (output) => link.emit(ref, output),
    };
    const def = this.#registry.require(task.task);
    void runAttempt(def, task, port, running.controller.signal).then((outcome) => {
      if (this.#running.get(task.id) === running) this.#running.delete(task.id);
      link.finished(ref, outcome);
    });
  }

  resume(ref: TaskRef, waitId: number, outcome: WaitOutcome): void {
    const running = this.#running.get(ref.id);
    if (!running || running.attempt !== ref.attempt) return;
    const resolve = running.waits.get(waitId);
    if (!resolve) return;
    running.waits.delete(waitId);
    resolve(outcome);
  }

  abort(ref: TaskRef, reason: SerializedError): void {
    const running = this.#running.get(ref.id);
    if (!running || running.attempt !== ref.attempt) return;
    running.controller.abort(deserializeError(reason));
  }

  async close(): Promise<void> {
    for (const r of this.#running.values()) r.controller.abort();
    this.#running.clear();
  }
}
