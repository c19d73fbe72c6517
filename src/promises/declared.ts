/**
 * The promises an instance of a definition declares when it starts: its
 * `promises: [...]`, plus NoNewNodes and NoNewEdges when it is `static`. One
 * place, so the engine and the preview agree.
 */
import type { PromiseSpec } from "../events/types.ts";
import type { AnyTask } from "../task/define.ts";
import { NoNewEdges, NoNewNodes } from "./constructors.ts";

export interface DefinitionPromise {
  readonly spec: PromiseSpec;
  readonly source: "definition" | "static";
}

export function declaredPromises(def: AnyTask): DefinitionPromise[] {
  const out: DefinitionPromise[] = def.promises.map((spec) => ({ spec, source: "definition" }));
  if (def.static) out.push({ spec: NoNewNodes(), source: "static" }, { spec: NoNewEdges(), source: "static" });
  return out;
}
