/**
 * Task definitions for the makespan benchmark: a root that spawns one task
 * per DAG node (with `From` for each parent) and a node that sleeps its
 * scaled runtime precisely. This module only defines tasks, so workers can
 * import it.
 */
import { From, task } from "trellis";
import type { TaskHandle } from "trellis";

/** How a node sleeps: `block` holds its thread (threads executor), `async` yields (inline executor). */
export type SleepMode = "block" | "async";

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

const SPIN_MS = 0.25;
let cell: Int32Array | undefined;

/**
 * Sleeps `ms` holding the thread: `Atomics.wait` (no CPU) until 0.25 ms
 * before the deadline, then a spin. Atomics.wait alone oversleeps by 60–200 µs
 * here, which is a large share of the sub-millisecond tasks.
 */
function sleepBlocking(ms: number): void {
  const end = epochMs() + ms;
  const coarse = ms - SPIN_MS;
  if (coarse > 0) {
    cell ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(cell, 0, 0, coarse);
  }
  while (epochMs() < end) {
    // spin: the last quarter millisecond
  }
}

/**
 * Sleeps `ms` without holding the thread: `setTimeout` until 1.5 ms before
 * the deadline (it rounds to whole milliseconds and may fire late by ~1 ms),
 * then `setImmediate` turns until the deadline, so other tasks and the engine
 * keep running meanwhile.
 */
async function sleepAsync(ms: number): Promise<void> {
  const end = epochMs() + ms;
  const coarse = Math.floor(ms - 1.5);
  if (coarse >= 1) await new Promise((resolve) => setTimeout(resolve, coarse));
  while (epochMs() < end) await new Promise((resolve) => setImmediate(resolve));
}

/** When a node ran, in epoch milliseconds. */
export interface NodeSpan {
  readonly s: number;
  readonly e: number;
}

/** One DAG node: sleeps `ms`; `after` holds its parents' outputs (only to make the data edges). */
export const benchDagNode = task(
  { name: "bench_dag_node" },
  async (_ctx, { ms, mode }: { ms: number; mode: SleepMode; after: readonly NodeSpan[] }): Promise<NodeSpan> => {
    const s = epochMs();
    if (mode === "block") sleepBlocking(ms);
    else await sleepAsync(ms);
    return { s, e: epochMs() };
  },
);

/** The DAG handed to the root: tasks in topological order, parents as indexes. */
export interface DagRunSpec {
  readonly tasks: readonly { readonly ms: number; readonly parents: readonly number[]; readonly priority: number }[];
  readonly mode: SleepMode;
  /** Pass each task's `priority` to `ctx.spawn` (else creation order decides). */
  readonly usePriority: boolean;
}

export interface DagRunTimes {
  readonly rootStart: number;
  readonly spawned: number;
  readonly spans: readonly NodeSpan[];
}

/** Spawns every node in topological order, waits for all, returns their spans. */
export const benchDagRoot = task({ name: "bench_dag_root" }, async (ctx, spec: DagRunSpec): Promise<DagRunTimes> => {
  const rootStart = epochMs();
  const handles: TaskHandle<NodeSpan>[] = [];
  for (const t of spec.tasks) {
    const after = t.parents.map((i) => From(handles[i] as TaskHandle<NodeSpan>));
    handles.push(
      ctx.spawn(benchDagNode, { ms: t.ms, mode: spec.mode, after }, spec.usePriority ? { priority: t.priority } : {}),
    );
  }
  const spawned = epochMs();
  const spans = await ctx.waitForAll(handles);
  return { rootStart, spawned, spans };
});
