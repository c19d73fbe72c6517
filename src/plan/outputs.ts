/**
 * Outputs as consumers see them: what a wait answers with and what a `From`
 * in a consumer's inputs resolves to. Pure reads of the plan.
 */
import type { Json } from "../events/codec.ts";
import { decode, encode, getPath } from "../events/codec.ts";
import type { Plan, PlanNode } from "./plan.ts";

/** An available instance's output as a wait or a `From` sees it (`undefined` is tagged). */
export function outputOf(node: PlanNode): Json {
  return node.output === undefined ? { $t: "undefined" } : node.output;
}

/** The outputs of available instances, in order, as a wait answers them. */
export function outputsOf(nodes: readonly PlanNode[]): Json[] {
  const out: Json[] = new Array<Json>(nodes.length);
  for (let i = 0; i < nodes.length; i++) out[i] = outputOf(nodes[i] as PlanNode);
  return out;
}

/** True for the codec's encoding of `undefined` (what a task that returns nothing gives). */
export function isUndefinedTag(v: Json): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && v["$t"] === "undefined";
}

/** `node`'s inputs with every `From` replaced by its producer's output (or the part of it at the `From`'s path). */
export function resolveInputs(plan: Plan, node: PlanNode): Json {
  if (!plan.producers.has(node.id)) return node.inputs;
  const walk = (v: Json): Json => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map(walk);
    if (v["$t"] === "from") {
      const out = outputOf(plan.nodes.get(v["id"] as string) as PlanNode);
      const path = v["path"] as (string | number)[];
      return path.length === 0 ? out : encode(getPath(decode(out), path), { strict: false });
    }
    const o: { [k: string]: Json } = {};
    for (const k of Object.keys(v)) o[k] = walk(v[k] as Json);
    return o;
  };
  return walk(node.inputs);
}
