/**
 * Where the inline engine spends its time: runs the overhead fan-out (inline,
 * N children) under `node --cpu-prof` in a fresh process and groups the
 * samples by function: self time (the function's own code) and inclusive
 * time for Trellis's own functions (`src/`, or `dist/` as the benchmarks run it).
 *
 *   npx tsx bench/profile.ts [--quick]   # N = 100,000 (quick: 10,000)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCase } from "./lib/child.ts";
import { isEntry, parseArgs } from "./lib/cli.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { caseArgs } from "./overhead.ts";

export const GROUP = "Profile: inline fan-out, where the time goes";
/** Trellis's own code: the sources, or the built package the benchmarks import (dist/). */
const OWN = /^(src|dist)\//;
const FILE = "bench/profile.ts";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

export interface HotSpot {
  readonly fn: string;
  /** % of busy samples (idle excluded) in the function's own code. */
  readonly selfPct: number;
  /** % of busy samples with the function on the stack. */
  readonly inclusivePct: number;
}

function label(node: ProfileNode, root: string): string {
  const url = node.callFrame.url.replace(/^file:\/\//, "").replace(root, "");
  const fn = node.callFrame.functionName || "(anonymous)";
  return url ? `${url}:${fn}` : fn;
}

/**
 * Self and inclusive shares per function. Only the samples between the first
 * and the last one with Trellis code (`src/` or `dist/`) on the stack count, so start-up
 * (tsx compiling modules) stays out, while garbage collection during the run
 * (which has no stack) stays in.
 */
export function hotSpots(profile: CpuProfile, root: string): { busy: number; spots: HotSpot[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownCode = new Map<number, boolean>();
  const isOwn = (id: number): boolean => {
    const known = ownCode.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const own = (node !== undefined && OWN.test(label(node, root))) || (up !== undefined && isOwn(up));
    ownCode.set(id, own);
    return own;
  };
  const first = profile.samples.findIndex(isOwn);
  const last = profile.samples.findLastIndex(isOwn);
  const hits = new Map<number, number>();
  for (const s of first < 0 ? [] : profile.samples.slice(first, last + 1)) hits.set(s, (hits.get(s) ?? 0) + 1);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const [id, count] of hits) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    busy += count;
    const key = label(node, root);
    self.set(key, (self.get(key) ?? 0) + count);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur) as ProfileNode, root);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + count);
    }
  }
  const spots = [...new Set([...self.keys(), ...inclusive.keys()])].map((fn) => ({
    fn,
    selfPct: (100 * (self.get(fn) ?? 0)) / Math.max(1, busy),
    inclusivePct: (100 * (inclusive.get(fn) ?? 0)) / Math.max(1, busy),
  }));
  return { busy, spots };
}

/** The top functions by self time, and Trellis's own functions by inclusive time. */
export async function profileRows(options: BenchOptions): Promise<BenchRow[]> {
  const n = options.quick ? 10_000 : 100_000;
  const command = `npx tsx ${FILE}${options.quick ? " --quick" : ""}`;
  const dir = mkdtempSync(join(tmpdir(), "trellis-prof-"));
  try {
    await runCase("bench/overhead.ts", caseArgs("inline", n, 1), {
      nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
    });
    // One profile per thread (tsx's loader thread is mostly idle): keep the busiest.
    let best: { busy: number; spots: HotSpot[] } | undefined;
    const root = join(process.cwd(), "/");
    for (const f of readdirSync(dir)) {
      const p = hotSpots(JSON.parse(readFileSync(join(dir, f), "utf8")) as CpuProfile, root);
      if (!best || p.busy > best.busy) best = p;
    }
    if (!best) throw new Error("node --cpu-prof wrote no profile");
    const rows: BenchRow[] = [];
    const bySelf = [...best.spots].sort((a, b) => b.selfPct - a.selfPct).slice(0, 12);
    const ownInclusive = best.spots
      .filter((s) => OWN.test(s.fn) && !bySelf.includes(s))
      .sort((a, b) => b.inclusivePct - a.inclusivePct)
      .slice(0, 8);
    for (const s of bySelf)
      rows.push({
        group: GROUP,
        name: s.fn,
        metrics: { "self %": s.selfPct, "inclusive %": s.inclusivePct },
        met: null,
        command,
        note: "top self time",
      });
    for (const s of ownInclusive)
      rows.push({
        group: GROUP,
        name: s.fn,
        metrics: { "self %": s.selfPct, "inclusive %": s.inclusivePct },
        met: null,
        command,
        note: "Trellis code by inclusive time",
      });
    return rows;
  } catch (error) {
    return [missingRow(GROUP, `inline fan-out, N = ${n}`, command, (error as Error).message)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  console.log(textTable(GROUP, await profileRows({ quick: args.has("quick") })));
}
