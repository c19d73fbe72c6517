/**
 * Cost of the results cache: a parent spawns N leaf tasks with distinct
 * inputs and waits for them (inline executor, event log on, snapshots off),
 * without a cache, with a cold cache (every lookup misses and every output is
 * written) and with a warm one (every lookup hits: `task.cached`, nothing
 * runs). Each mode runs `--repeat` times in this process (fresh folders each
 * time); the table shows the median.
 *
 *   npx tsx bench/cache.ts                 # N = 10,000, 3 repeats
 *   npx tsx bench/cache.ts --n 2000 --repeat 5
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, task } from "trellis";
import type { RunOptions } from "trellis";
import { fmt } from "./lib/table.ts";

const leaf = task({ name: "bench_cache_leaf" }, (_ctx, { i }: { i: number }) => ({ i, squared: i * i }));
const fanout = task({ name: "bench_cache_fanout" }, async (ctx, { n }: { n: number }) => {
  const handles = [];
  for (let i = 0; i < n; i++) handles.push(ctx.spawn(leaf, { i }));
  return (await ctx.waitForAll(handles)).length;
});

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const n = arg("n", 10_000);
const repeat = arg("repeat", 3);

async function timed(options: RunOptions): Promise<{ ms: number; cached: number }> {
  const out = mkdtempSync(join(tmpdir(), "trellis-bench-cache-out-"));
  try {
    const t0 = performance.now();
    const r = await run(fanout, { n }, { executor: "inline", snapshots: "none", out, ...options });
    const ms = performance.now() - t0;
    if (r.status !== "succeeded") throw new Error(`run ${r.status}: ${r.error?.message ?? ""}`);
    return { ms, cached: r.cached };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const samples = { none: [] as number[], cold: [] as number[], warm: [] as number[] };
await timed({ cache: false }); // warm-up: JIT, module loading
for (let k = 0; k < repeat; k++) {
  samples.none.push((await timed({ cache: false })).ms);
  const dir = mkdtempSync(join(tmpdir(), "trellis-bench-cache-"));
  try {
    samples.cold.push((await timed({ cache: { dir } })).ms);
    const warm = await timed({ cache: { dir } });
    if (warm.cached !== n) throw new Error(`warm run: ${warm.cached} of ${n} cached`);
    samples.warm.push(warm.ms);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const base = median(samples.none);
console.log(`Results cache, inline, parent + ${fmt(n)} leaves (median of ${repeat}; node ${process.version})`);
console.log("mode                      run ms    µs per leaf   vs no cache");
for (const [mode, label] of [
  ["none", "no cache"],
  ["cold", "cold (miss + write)"],
  ["warm", "warm (all task.cached)"],
] as const) {
  const ms = median(samples[mode]);
  console.log(
    `${label.padEnd(24)}${fmt(ms).padStart(8)}${fmt((ms * 1000) / n).padStart(14)}${`${fmt(ms / base, 2)}×`.padStart(14)}`,
  );
}
