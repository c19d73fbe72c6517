/**
 * Placeholders: the declared shape of a definition (`calls`, `edges`),
 * expanded recursively into preview nodes under an instance or under a
 * definition alone (`trellis preview`). Pure.
 */
import type { PlaceholderSpec } from "../events/types.ts";
import type { AnyTask } from "../task/define.ts";

/** How deep previews of previews go; also stops recursive definitions. */
export const MAX_PREVIEW_DEPTH = 6;

export interface Preview {
  readonly placeholders: PlaceholderSpec[];
  readonly edges: { from: string; to: string }[];
}

/**
 * The placeholders of `def` under `ownerId`, recursively. Placeholder ids are
 * `<parent>/<name>~<n>` (n counts per definition under one parent), so they
 * are deterministic and never collide with real ids (`<parent>/<name>#<n>`).
 */
export function expandPreview(def: AnyTask, ownerId: string): Preview {
  const placeholders: PlaceholderSpec[] = [];
  const edges: { from: string; to: string }[] = [];
  const walk = (d: AnyTask, parentId: string, chain: readonly string[]): void => {
    if (d.calls.length === 0 || chain.length >= MAX_PREVIEW_DEPTH) return;
    const counters = new Map<string, number>();
    const byDef = new Map<AnyTask, string[]>();
    for (const c of d.calls) {
      const n = (counters.get(c.name) ?? 0) + 1;
      counters.set(c.name, n);
      const id = `${parentId}/${c.name}~${n}`;
      placeholders.push({ id, task: c.name, parent: parentId });
      const list = byDef.get(c) ?? [];
      list.push(id);
      byDef.set(c, list);
    }
    for (const [a, b] of d.edges) {
      const froms = byDef.get(a) ?? [];
      const tos = byDef.get(b) ?? [];
      // An edge between two entries of one definition (a chain: [leaf, leaf])
      // goes from each placeholder to the later ones only, never back: a
      // preview must stay acyclic.
      froms.forEach((from, i) => tos.forEach((to, j) => (a !== b || j > i) && edges.push({ from, to })));
    }
    for (const c of d.calls) {
      if (chain.includes(c.name)) continue; // a definition that calls itself: one level is enough
      for (const id of byDef.get(c) ?? []) walk(c, id, [...chain, c.name]);
      byDef.delete(c); // expand each placeholder once even if listed twice in calls
    }
  };
  walk(def, ownerId, [def.name]);
  return { placeholders, edges };
}
