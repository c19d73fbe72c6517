/**
 * The real workflow DAGs of `../shared/workflows/*.dag.json`
 * (`{ name, tasks: [{ id, runtime, parents }] }`, runtime in seconds), and
 * what a schedule is measured against: total work W, critical path CP, and
 * each task's bottom level (the longest path from its start to the end of
 * the DAG, itself included) for longest-remaining-path-first priorities.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "./child.ts";

export interface DagFile {
  readonly name: string;
  readonly tasks: readonly { readonly id: string; readonly runtime: number; readonly parents: readonly string[] }[];
}

/** A DAG in topological order, with parents as indexes into `tasks`. */
export interface Dag {
  readonly name: string;
  readonly tasks: readonly {
    readonly id: string;
    readonly runtime: number;
    readonly parents: readonly number[];
    readonly bottomLevel: number;
  }[];
  readonly edges: number;
  /** Sum of runtimes, seconds. */
  readonly work: number;
  /** Longest path, seconds. */
  readonly criticalPath: number;
  /** Tasks on the longest path from a source (counted in tasks). */
  readonly depth: number;
}

/** The folder of the workflow files: `TRELLIS_WORKFLOWS`, else `../shared/workflows` next to the repository. */
export function workflowsDir(): string {
  return process.env["TRELLIS_WORKFLOWS"] ?? resolve(REPO_ROOT, "../shared/workflows");
}

/** The `*.dag.json` files there, sorted; empty when the folder is absent. */
export function dagFiles(): string[] {
  const dir = workflowsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".dag.json"))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Orders the tasks topologically (Kahn's algorithm; among ready tasks, file
 * order first, so the default ready order is reproducible) and computes W,
 * CP, depth and bottom levels.
 *
 * @throws Error on an unknown parent id or a cycle.
 */
export function analyse(file: DagFile): Dag {
  const index = new Map(file.tasks.map((t, i) => [t.id, i]));
  const children: number[][] = file.tasks.map(() => []);
  const indegree = file.tasks.map((t) => t.parents.length);
  file.tasks.forEach((t, i) => {
    for (const p of t.parents) {
      const pi = index.get(p);
      if (pi === undefined) throw new Error(`${file.name}: ${t.id} has unknown parent ${p}`);
      (children[pi] as number[]).push(i);
    }
  });
  // A min-heap would be O(n log n); the DAGs are ~1,000 tasks, so a sorted insert is plenty.
  const ready = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    const i = ready.shift() as number;
    order.push(i);
    for (const c of children[i] as number[]) {
      indegree[c] = (indegree[c] as number) - 1;
      if (indegree[c] === 0) {
        let at = ready.findIndex((r) => r > c);
        if (at < 0) at = ready.length;
        ready.splice(at, 0, c);
      }
    }
  }
  if (order.length !== file.tasks.length) throw new Error(`${file.name}: the graph has a cycle`);
  const position = new Map(order.map((orig, pos) => [orig, pos]));
  const runtime = (i: number) => (file.tasks[i] as DagFile["tasks"][number]).runtime;
  const bottom = new Array<number>(file.tasks.length).fill(0);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k] as number;
    let best = 0;
    for (const c of children[i] as number[]) best = Math.max(best, bottom[c] as number);
    bottom[i] = runtime(i) + best;
  }
  const levels = new Array<number>(file.tasks.length).fill(0);
  for (const i of order) {
    const t = file.tasks[i] as DagFile["tasks"][number];
    let lv = 0;
    for (const p of t.parents) lv = Math.max(lv, levels[index.get(p) as number] as number);
    levels[i] = lv + 1;
  }
  return {
    name: file.name,
    tasks: order.map((i) => {
      const t = file.tasks[i] as DagFile["tasks"][number];
      return {
        id: t.id,
        runtime: t.runtime,
        parents: t.parents.map((p) => position.get(index.get(p) as number) as number),
        bottomLevel: bottom[i] as number,
      };
    }),
    edges: file.tasks.reduce((s, t) => s + t.parents.length, 0),
    work: file.tasks.reduce((s, t) => s + t.runtime, 0),
    criticalPath: Math.max(0, ...bottom),
    depth: Math.max(0, ...levels),
  };
}

export function loadDag(path: string): Dag {
  return analyse(JSON.parse(readFileSync(path, "utf8")) as DagFile);
}

/** The makespan lower bound with `p` workers: max(CP, W / p), in the DAG's units. */
export function bound(dag: Dag, p: number): number {
  return Math.max(dag.criticalPath, dag.work / p);
}

/**
 * The makespan a zero-overhead list scheduler reaches with `p` slots, taking
 * ready tasks by `priority` (higher first; `null` = all equal) and then
 * creation (topological) order, exactly like Trellis's ready queue. A greedy
 * schedule can stay above max(CP, W / P) whatever the engine does, so this is
 * the figure that isolates the engine's own cost.
 */
export function simulateListSchedule(dag: Dag, p: number, usePriority: boolean): number {
  const n = dag.tasks.length;
  const waiting = dag.tasks.map((t) => t.parents.length);
  const children: number[][] = dag.tasks.map(() => []);
  dag.tasks.forEach((t, i) => {
    for (const q of t.parents) (children[q] as number[]).push(i);
  });
  const prio = (i: number) => (usePriority ? (dag.tasks[i] as Dag["tasks"][number]).bottomLevel : 0);
  const before = (a: number, b: number) => (prio(a) !== prio(b) ? prio(a) > prio(b) : a < b);
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(i);
  // Running tasks as [finish time, index]; a few hundred tasks, so linear scans are fine.
  const running: [number, number][] = [];
  let now = 0;
  let done = 0;
  while (done < n) {
    while (running.length < p && ready.length > 0) {
      let best = 0;
      for (let k = 1; k < ready.length; k++) if (before(ready[k] as number, ready[best] as number)) best = k;
      const i = ready.splice(best, 1)[0] as number;
      running.push([now + (dag.tasks[i] as Dag["tasks"][number]).runtime, i]);
    }
    let first = 0;
    for (let k = 1; k < running.length; k++)
      if ((running[k] as [number, number])[0] < (running[first] as [number, number])[0]) first = k;
    const [end, i] = running.splice(first, 1)[0] as [number, number];
    now = end;
    done++;
    for (const c of children[i] as number[]) {
      waiting[c] = (waiting[c] as number) - 1;
      if (waiting[c] === 0) ready.push(c);
    }
  }
  return now;
}
