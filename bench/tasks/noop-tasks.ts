/**
 * Task definitions for the overhead benchmarks. This module does nothing but
 * define tasks, so thread and process workers can import it.
 */
import { task } from "trellis";

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Does nothing: what is left to measure is the engine's cost per task. */
export const benchNoop = task({ name: "bench_noop" }, () => null);

/** When the fan-out began and ended, in epoch milliseconds (sub-ms resolution). */
export interface FanoutTimes {
  readonly n: number;
  readonly startMs: number;
  readonly spawnedMs: number;
  readonly endMs: number;
}

/** Spawns `n` no-op children, waits for all of them, and reports when. */
export const benchFanout = task({ name: "bench_fanout" }, async (ctx, { n }: { n: number }): Promise<FanoutTimes> => {
  const startMs = epochMs();
  const handles = [];
  for (let i = 0; i < n; i++) handles.push(ctx.spawn(benchNoop, {}));
  const spawnedMs = epochMs();
  await ctx.waitForAll(handles);
  return { n, startMs, spawnedMs, endMs: epochMs() };
});
