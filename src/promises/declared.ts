/**
 * The promises an instance of a definition declares when it starts: its
 * `promises: [...]`, plus NoNewNodes and NoNewEdges when it is `static`. One
 * place, so the engine and the preview agree.
 */
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { PromiseSpec } from "../events/types.ts";
import type { Plan } from "../plan/plan.ts";
import type { AnyTask } from "../task/define.ts";
import { checkPromiseSpec, NoNewEdges, NoNewNodes, referencedTasks } from "./constructors.ts";

export interface DefinitionPromise {
  readonly spec: PromiseSpec;
  readonly source: "definition" | "static";
}

export function declaredPromises(def: AnyTask): DefinitionPromise[] {
  const out: DefinitionPromise[] = def.promises.map((spec) => ({ spec, source: "definition" }));
  if (def.static) out.push({ spec: NoNewNodes(), source: "static" }, { spec: NoNewEdges(), source: "static" });
  return out;
}

/** True when `owner` has declared its definition's promises (`definition` or `static`) in `plan`. */
export function ownsDefinitionPromises(plan: Plan, owner: string): boolean {
  return plan.promisesByOwner.get(owner)?.some((p) => p.source !== "context") ?? false;
}

/**
 * Why `spec` cannot be declared in a run whose definitions `isRegistered`
 * knows, or null when it can. A promise may arrive as data from a worker, or
 * be built by hand, so its shape is checked again here.
 */
export function promiseProblem(spec: PromiseSpec, isRegistered: (name: string) => boolean): TrellisError | null {
  try {
    checkPromiseSpec(spec);
  } catch (error) {
    return error as TrellisError;
  }
  for (const name of referencedTasks(spec))
    if (!isRegistered(name))
      return new TrellisError(
        ErrorCodes.INVALID_PROMISE,
        `${spec.kind} refers to "${name}", which is not a registered task`,
        { task: name },
      );
  return null;
}
