/**
 * The registry of task definitions by name. Each thread or process has its
 * own; a worker fills it by importing the modules that define the tasks.
 */
import { ErrorCodes, TaskDefinitionError, TrellisError } from "../errors.ts";
import type { AnyTask } from "./types.ts";

export class TaskRegistry {
  readonly #byName = new Map<string, AnyTask>();

  add(def: AnyTask): void {
    const existing = this.#byName.get(def.name);
    if (existing && existing !== def)
      throw new TaskDefinitionError(
        ErrorCodes.DUPLICATE_TASK,
        `task "${def.name}" is already defined${existing.module ? ` in ${existing.module}` : ""}; task names must be unique, rename one of them`,
        { task: def.name },
      );
    this.#byName.set(def.name, def);
  }

  get(name: string): AnyTask | undefined {
    return this.#byName.get(name);
  }

  /** The definition named `name`, or an `UNKNOWN_TASK` error that says how to fix it. */
  require(name: string): AnyTask {
    const def = this.#byName.get(name);
    if (!def)
      throw new TrellisError(
        ErrorCodes.UNKNOWN_TASK,
        `no task named "${name}" is registered; define it with task({ name: "${name}" }, fn) at the top level of a module the workflow imports`,
        { task: name },
      );
    return def;
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Every registered definition, in registration order. */
  all(): AnyTask[] {
    return [...this.#byName.values()];
  }

  /** Forgets a definition (tests and hot reload only). */
  delete(name: string): boolean {
    return this.#byName.delete(name);
  }
}

/**
 * The registry of this thread or process, shared by every copy of Trellis
 * loaded in it: a TypeScript loader's `require` hook can compile a second,
 * CommonJS copy of the package for a CommonJS workflow, and the tasks that
 * copy defines must be found by the engine of the first.
 */
export const registry: TaskRegistry = ((globalThis as Record<symbol, unknown>)[Symbol.for("trellis.registry.v1")] ??=
  new TaskRegistry()) as TaskRegistry;
