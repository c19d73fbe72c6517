/**
 * What the viewer's panels show, computed from the events up to a step and
 * the plan folded from them: one instance in detail, every promise with its
 * use, the task stream (one lane per slot), and the search. Pure: data in,
 * data out, every value already turned into text for the page.
 */
import type { Json } from "../events/codec.ts";
import { decode, encode, getPath } from "../events/codec.ts";
import type { TrellisEvent } from "../events/types.ts";
import type { DeclaredPromise, Plan, PlanNode } from "../plan/plan.ts";
import { describePromise, describeViolation } from "../promises/describe.ts";
import { scopeOf } from "../promises/scope-index.ts";
import { violationReason } from "../render/refused.ts";
import { valueBlock } from "./describe-event.ts";

/** A promise with how much of it is used, as the panels show it. */
export interface PromiseUse {
  readonly pid: number;
  readonly text: string;
  readonly owner: string;
  readonly scope: string;
  readonly source: string;
  readonly used: number | null;
  readonly limit: number | null;
  /** More words on the use: `taken: mult3, positive`. */
  readonly note: string;
  readonly violations: number;
}

export interface StatusChange {
  readonly seq: number;
  readonly ts: string;
  readonly status: string;
  readonly note: string;
}

export interface NodeDetails {
  readonly id: string;
  readonly task: string;
  readonly parent: string | null;
  readonly labels: readonly string[];
  readonly status: string;
  /** True when it succeeded from the results cache without running. */
  readonly cached: boolean;
  readonly history: readonly StatusChange[];
  readonly attempts: number;
  readonly retries: readonly {
    readonly seq: number;
    readonly ts: string;
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: string;
  }[];
  /** From the first start to the end (or to the step shown), in ms; null before it started. */
  readonly durationMs: number | null;
  /** Time holding a slot (running), in ms. */
  readonly runningMs: number;
  readonly inputs: string;
  /** Each `From` in the inputs: the producer, the part of its output taken, and that value once the producer has an output. */
  readonly froms: readonly FromView[];
  readonly output: string | null;
  readonly logs: readonly {
    readonly seq: number;
    readonly ts: string;
    readonly message: string;
    readonly fields: string | null;
  }[];
  readonly warnings: readonly string[];
  readonly error: {
    readonly name: string;
    readonly message: string;
    readonly code: string;
    readonly stack: string;
  } | null;
  readonly reason: string | null;
  readonly waitingOn: readonly string[];
  readonly children: readonly string[];
  readonly promises: readonly PromiseUse[];
}

/** A `From` reference in a task's inputs, as the node panel shows it. */
export interface FromView {
  /** The producer's instance id. */
  readonly id: string;
  /** The path into its output (empty: all of it). */
  readonly path: readonly (string | number)[];
  /** The producer's status at the step; null when it is not in the plan. */
  readonly status: string | null;
  /** The value the reference resolves to, decoded; null while the producer has no output. */
  readonly value: string | null;
}

/** The `From` references inside encoded inputs, in order, each once. */
function fromsIn(plan: Plan, inputs: Json): FromView[] {
  const out: FromView[] = [];
  const seen = new Set<string>();
  const walk = (v: Json): void => {
    if (v === null || typeof v !== "object") return;
    if (Array.isArray(v)) return v.forEach(walk);
    if (v["$t"] === "from" && typeof v["id"] === "string") {
      const path = Array.isArray(v["path"])
        ? (v["path"].filter((p) => typeof p === "string" || typeof p === "number") as (string | number)[])
        : [];
      const key = JSON.stringify([v["id"], path]);
      if (seen.has(key)) return;
      seen.add(key);
      const producer = plan.nodes.get(v["id"]);
      let value: string | null = null;
      if (producer?.output !== undefined) {
        try {
          value = valueBlock(
            path.length === 0 ? producer.output : encode(getPath(decode(producer.output), path), { strict: false }),
          );
        } catch {
          value = valueBlock(producer.output);
        }
      }
      out.push({ id: v["id"], path, status: producer?.status ?? null, value });
      return;
    }
    for (const k of Object.keys(v)) walk(v[k] as Json);
  };
  walk(inputs);
  return out;
}

function time(ts: string): number {
  const t = Date.parse(ts);
  return Number.isNaN(t) ? 0 : t;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

/** The instance and everything under it. */
function subtree(plan: Plan, id: string): PlanNode[] {
  const out: PlanNode[] = [];
  const stack = [id];
  while (stack.length > 0) {
    const node = plan.nodes.get(stack.pop() as string);
    if (!node) continue;
    out.push(node);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i] as string);
  }
  return out;
}

function scopeNodes(plan: Plan, p: DeclaredPromise): PlanNode[] {
  return p.spec.scope === "global" ? [...plan.nodes.values()] : subtree(plan, p.owner);
}

/** How much of one promise is used at this step. */
export function promiseUse(plan: Plan, p: DeclaredPromise, violations: number): PromiseUse {
  const base = {
    pid: p.pid,
    text: describePromise(p.spec),
    owner: p.owner,
    scope: p.spec.scope,
    source: p.source,
    violations,
  };
  const spec = p.spec;
  switch (spec.kind) {
    case "LimitedSpawns": {
      let used = 0;
      let parent = "";
      for (const n of scopeNodes(plan, p)) {
        const c = n.childCounts.get(spec.task) ?? 0;
        if (c > used) [used, parent] = [c, n.id];
      }
      return {
        ...base,
        used,
        limit: spec.limit,
        note: used > 0 ? `${used} ${spec.task} under ${parent}` : `no ${spec.task} yet`,
      };
    }
    case "MaxParallelism": {
      const running = scopeNodes(plan, p).filter((n) => n.status === "running" && n.labels.includes(spec.label)).length;
      return { ...base, used: running, limit: spec.limit, note: `${running} running with label ${spec.label}` };
    }
    case "OnlySpecificNodesAllowed": {
      const taken = new Set<string>();
      for (const n of scopeNodes(plan, p)) if (n.id !== p.owner && spec.tasks.includes(n.task)) taken.add(n.task);
      return {
        ...base,
        used: taken.size,
        limit: spec.tasks.length,
        note: taken.size > 0 ? `taken: ${[...taken].join(", ")}` : "no branch taken yet",
      };
    }
    case "OnlySpecificEdgesAllowed":
    case "NoNewNodes":
    case "NoNewEdges":
      return { ...base, used: null, limit: null, note: violations > 0 ? "broken" : "kept so far" };
    default: {
      const never: never = spec;
      return never;
    }
  }
}

export interface ViolationView {
  readonly seq: number;
  readonly ts: string;
  readonly pid: number | null;
  readonly text: string;
  readonly reason: string;
  readonly by: string;
  readonly owner: string;
  readonly policy: string;
  /** Ids of the nodes the refused diff would have added. */
  readonly refused: readonly string[];
}

export interface PromisePanel {
  readonly promises: readonly PromiseUse[];
  readonly violations: readonly ViolationView[];
}

function violationsOf(events: readonly TrellisEvent[]): ViolationView[] {
  const out: ViolationView[] = [];
  for (const e of events) {
    if (e.type !== "promise.violated") continue;
    let text: string;
    try {
      text = describeViolation(e.data);
    } catch {
      text = `${str(e.data.promise)} broken by ${str(e.data.by)}`;
    }
    const nodes: unknown = (e.data.diff as { nodes?: unknown } | undefined)?.nodes;
    const refused = Array.isArray(nodes)
      ? nodes.map((n) => str((n as { id?: unknown } | null)?.id)).filter((id) => id !== "")
      : [];
    out.push({
      seq: e.seq,
      ts: e.ts,
      pid: typeof e.data.pid === "number" ? e.data.pid : null,
      text,
      reason: violationReason(e.data),
      by: str(e.data.by),
      owner: str(e.data.owner),
      policy: str(e.data.policy),
      refused,
    });
  }
  return out;
}

/** Violations per promise id. */
function brokenCounts(events: readonly TrellisEvent[]): Map<number, number> {
  const broken = new Map<number, number>();
  for (const e of events)
    if (e.type === "promise.violated" && typeof e.data.pid === "number")
      broken.set(e.data.pid, (broken.get(e.data.pid) ?? 0) + 1);
  return broken;
}

/** Every promise declared up to the step, with its use, and every violation. */
export function promisePanel(plan: Plan, events: readonly TrellisEvent[]): PromisePanel {
  const violations = violationsOf(events);
  const broken = brokenCounts(events);
  return { promises: plan.promises.map((p) => promiseUse(plan, p, broken.get(p.pid) ?? 0)), violations };
}

function errorView(e: unknown): NodeDetails["error"] {
  if (typeof e !== "object" || e === null) return null;
  const r = e as Record<string, unknown>;
  return { name: str(r["name"]) || "Error", message: str(r["message"]), code: str(r["code"]), stack: str(r["stack"]) };
}

/** One instance in detail at the step, or null when it does not exist then. */
export function nodeDetails(plan: Plan, events: readonly TrellisEvent[], id: string): NodeDetails | null {
  const node = plan.nodes.get(id);
  if (!node) return null;
  const history: StatusChange[] = [];
  const retries: { seq: number; ts: string; attempt: number; delayMs: number; error: string }[] = [];
  const logs: { seq: number; ts: string; message: string; fields: string | null }[] = [];
  const warnings: string[] = [];
  let error: NodeDetails["error"] = null;
  let firstStart: number | null = null;
  let end: number | null = null;
  let runningSince: number | null = null;
  let runningMs = 0;
  let last = 0;
  for (const e of events) {
    last = time(e.ts);
    const d = e.data as Record<string, unknown>;
    if (d["id"] !== id) continue;
    const t = time(e.ts);
    const change = (status: string, note = "") => history.push({ seq: e.seq, ts: e.ts, status, note });
    const stopRunning = () => {
      if (runningSince !== null) runningMs += t - runningSince;
      runningSince = null;
    };
    switch (e.type) {
      case "task.created":
        change("pending", e.data.parent === null ? "the root" : `spawned by ${e.data.parent}`);
        break;
      case "task.started":
        firstStart ??= t;
        runningSince = t;
        change("running", `attempt ${e.data.attempt}`);
        break;
      case "task.waiting":
        stopRunning();
        change("waiting", `on ${e.data.on.join(", ")}`);
        break;
      case "task.resumed":
        runningSince = t;
        change("running", `resumed${e.data.reason ? ` (${e.data.reason})` : ""}`);
        break;
      case "task.rehosted":
        runningSince ??= t;
        change("running", `ran again from the start: its worker ${e.data.worker} died (${e.data.reason})`);
        break;
      case "task.retrying": {
        stopRunning();
        const err = errorView(e.data.error);
        retries.push({
          seq: e.seq,
          ts: e.ts,
          attempt: e.data.attempt,
          delayMs: Number(e.data.delayMs),
          error: err ? `${err.name}: ${err.message}` : "",
        });
        change("pending", `retry as attempt ${e.data.attempt}`);
        break;
      }
      case "task.log":
        logs.push({
          seq: e.seq,
          ts: e.ts,
          message: str(e.data.message),
          fields: e.data.fields === undefined ? null : valueBlock(e.data.fields, 4_000),
        });
        break;
      case "task.warning":
        warnings.push(`${str(e.data.code)}: ${str(e.data.message)}`);
        break;
      case "task.emitted":
        change(node.status === "running" ? "running" : node.status, "emitted its output");
        break;
      case "task.cached":
        end = t;
        change("succeeded", `from the cache (key ${e.data.key.slice(0, 12)}…)`);
        break;
      case "task.succeeded":
      case "task.skipped":
      case "task.cancelled":
      case "task.failed":
        stopRunning();
        end = t;
        if (e.type === "task.failed") error = errorView(e.data.error);
        change(
          e.type.slice("task.".length),
          e.type === "task.skipped" ? str(e.data.because) : e.type === "task.cancelled" ? str(e.data.reason) : "",
        );
        break;
      default:
        break;
    }
  }
  if (runningSince !== null) runningMs += last - runningSince;
  const broken = brokenCounts(events);
  const promises = scopeOf(plan, id).promises.map((p) => promiseUse(plan, p, broken.get(p.pid) ?? 0));
  return {
    id: node.id,
    task: node.task,
    parent: node.parent,
    labels: node.labels,
    status: node.status,
    cached: node.cached,
    history,
    attempts: node.attempt,
    retries,
    durationMs: firstStart === null ? null : (end ?? last) - firstStart,
    runningMs,
    inputs: valueBlock(node.inputs),
    froms: fromsIn(plan, node.inputs),
    output: node.output === undefined ? null : valueBlock(node.output),
    logs,
    warnings,
    error: error ?? (node.error ? errorView(node.error) : null),
    reason: node.reason ?? null,
    waitingOn: node.waitingOn ?? [],
    children: node.children,
    promises,
  };
}

/** One stretch of time a task held a slot. Times are ms from the first start. */
interface Stretch {
  readonly id: string;
  readonly task: string;
  readonly lane: number;
  readonly start: number;
  readonly end: number;
  /** How the stretch ended: `succeeded`, `failed`, `waiting`, `retrying`, `cancelled`, or `running`. */
  readonly how: string;
}

/** A bar of the task stream at the step shown. */
export interface LaneBar extends Stretch {
  /** False while it still holds its slot at the step shown. */
  readonly ended: boolean;
  /** Stretches drawn as this one bar (narrower than the page can show apart); 1 for a single stretch. */
  readonly count: number;
}

/** The lanes, the same at every step. */
interface Lanes {
  readonly lanes: number;
  /** Each lane's name: the worker's (`worker w1`, and `· 2` for its second slot) when the log says who ran what, else `slot N`. */
  readonly names: readonly string[];
  /** True when the lanes are the workers the log names (`task.started` with `worker`), false when they are inferred slots. */
  readonly workers: boolean;
}

export interface TaskStream extends Lanes {
  readonly bars: readonly LaneBar[];
  /** Ms from the first start to the step shown. */
  readonly span: number;
}

/** A stretch with the steps it began and ended at (1-based; `endStep` null while it holds its slot at the end of the log). */
interface IndexedBar extends Stretch {
  readonly startStep: number;
  readonly endStep: number | null;
}

/**
 * The task stream of a whole log, computed once and cut at any step by
 * {@link taskStreamAt}: a bar keeps its lane at every step, so lanes do not
 * change as the slider moves.
 */
export interface TaskStreamIndex extends Lanes {
  readonly bars: readonly IndexedBar[];
  /** `now[n]`: ms from the first start to step n (0 before it); `now[0]` is 0. */
  readonly now: Float64Array;
}

const ENDS_A_STRETCH = new Set([
  "task.waiting",
  "task.retrying",
  "task.succeeded",
  "task.failed",
  "task.cancelled",
  "task.skipped",
]);

/** The `worker` a `task.started` or `task.resumed` names (the distributed executor writes it), if any. */
function workerOf(e: TrellisEvent): string | null {
  const w = (e.data as Record<string, unknown>)["worker"];
  return typeof w === "string" && w !== "" ? w : null;
}

/**
 * The task stream: each stretch a task held a slot (started or resumed, to
 * waiting, retrying or its end). When the log names the worker that ran a
 * task (`worker` on `task.started`), there is one lane per slot of each
 * worker, a worker's lanes side by side in the order the workers first
 * appear. Otherwise the log does not say who ran what, and a stretch goes in
 * the lowest lane free when it began: as many lanes as tasks ran at once.
 * Either way no two bars of a lane overlap.
 */
export function taskStreamIndex(events: readonly TrellisEvent[]): TaskStreamIndex {
  const now = new Float64Array(events.length + 1);
  const t0 = ((): number | null => {
    for (const e of events) if (e.type === "task.started") return time(e.ts);
    return null;
  })();
  const byWorker = events.some((e) => e.type === "task.started" && workerOf(e) !== null);
  /** Free slots per worker ("" for the inferred slots), and how many each has. */
  const pools = new Map<string, { free: number[]; size: number; order: number }>();
  const open = new Map<string, { worker: string; slot: number; start: number; startStep: number; task: string }>();
  const lastWorker = new Map<string, string>();
  const taskOf = new Map<string, string>();
  const raw: {
    id: string;
    task: string;
    worker: string;
    slot: number;
    start: number;
    startStep: number;
    end: number;
    endStep: number | null;
    how: string;
  }[] = [];
  let t = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TrellisEvent;
    if (t0 !== null) t = Math.max(t, time(e.ts) - t0);
    now[i + 1] = t;
    const id = (e.data as Record<string, unknown>)["id"];
    if (typeof id !== "string") continue;
    if (e.type === "task.created") taskOf.set(id, e.data.task);
    else if (e.type === "task.started" || e.type === "task.resumed" || e.type === "task.rehosted") {
      if (open.has(id)) continue;
      const worker = byWorker ? (workerOf(e) ?? lastWorker.get(id) ?? "?") : "";
      lastWorker.set(id, worker);
      let pool = pools.get(worker);
      if (!pool) pools.set(worker, (pool = { free: [], size: 0, order: pools.size }));
      pool.free.sort((a, b) => a - b);
      const slot = pool.free.length > 0 ? (pool.free.shift() as number) : pool.size++;
      open.set(id, { worker, slot, start: t, startStep: i + 1, task: taskOf.get(id) ?? "" });
    } else if (ENDS_A_STRETCH.has(e.type)) {
      const o = open.get(id);
      if (!o) continue;
      open.delete(id);
      (pools.get(o.worker) as { free: number[] }).free.push(o.slot);
      raw.push({ id, ...o, end: t, endStep: i + 1, how: e.type.slice("task.".length) });
    }
  }
  for (const [id, o] of open) raw.push({ id, ...o, end: t, endStep: null, how: "running" });
  // Lanes: each worker's slots side by side, workers in the order they first appear.
  const first = new Map<string, number>();
  const names: string[] = [];
  for (const [worker, pool] of [...pools].sort((a, b) => a[1].order - b[1].order)) {
    first.set(worker, names.length);
    for (let slot = 0; slot < pool.size; slot++)
      names.push(byWorker ? `worker ${worker}${slot > 0 ? ` · ${slot + 1}` : ""}` : `slot ${slot + 1}`);
  }
  const bars = raw
    .map(({ worker, slot, ...b }) => ({ ...b, lane: (first.get(worker) as number) + slot }))
    .sort((a, b) => a.startStep - b.startStep);
  return { lanes: names.length, names, workers: byWorker, bars, now };
}

/** How bad a way of ending is, to colour a bar that stands for several. */
const SEVERITY = ["succeeded", "skipped", "cancelled", "waiting", "running", "retrying", "failed"];

/** The narrowest a bar is drawn, in pixels (the page's `.bar` min-width). */
export const BAR_MIN_PX = 3;

/**
 * The task stream at step `n`: the bars begun by then, a bar still open then
 * drawn up to then. With `px` (the width the page draws it in), a bar that
 * would be drawn over the one before it in its lane (both at least
 * {@link BAR_MIN_PX} wide) is drawn as one with it, with their count: a lane
 * holds at most `px / BAR_MIN_PX` bars, none over another, so a run of
 * 10,000 tasks is a few hundred elements.
 */
export function taskStreamAt(index: TaskStreamIndex, n: number, px?: number): TaskStream {
  const span = index.now[Math.min(n, index.now.length - 1)] ?? 0;
  const scale = px !== undefined && px > 0 && span > 0 ? px / span : null;
  const bars: LaneBar[] = [];
  /** Per lane, the index of the bar drawn last. */
  const lastIn = new Map<number, number>();
  const drawnEnd = (b: LaneBar, k: number): number => Math.max(b.end * k, b.start * k + BAR_MIN_PX);
  for (const b of index.bars) {
    if (b.startStep > n) break;
    const ended = b.endStep !== null && b.endStep <= n;
    const bar: LaneBar = {
      id: b.id,
      task: b.task,
      lane: b.lane,
      start: b.start,
      end: ended ? b.end : span,
      ended,
      how: ended ? b.how : "running",
      count: 1,
    };
    if (scale === null) {
      bars.push(bar);
      continue;
    }
    const at = lastIn.get(b.lane);
    const before = at === undefined ? undefined : (bars[at] as LaneBar);
    if (at !== undefined && before !== undefined && bar.start * scale < drawnEnd(before, scale)) {
      bars[at] = {
        ...before,
        end: Math.max(before.end, bar.end),
        ended: before.ended && bar.ended,
        how: SEVERITY.indexOf(bar.how) > SEVERITY.indexOf(before.how) ? bar.how : before.how,
        count: before.count + 1,
      };
      continue;
    }
    lastIn.set(b.lane, bars.length);
    bars.push(bar);
  }
  return { lanes: index.lanes, names: index.names, workers: index.workers, bars, span };
}

/** The task stream of the events given, at their last step (see {@link taskStreamIndex}). */
export function taskStream(events: readonly TrellisEvent[]): TaskStream {
  return taskStreamAt(taskStreamIndex(events), events.length);
}

/** Instances whose id or definition holds `query` (case-insensitive), in creation order, at most `limit`. */
export function searchNodes(plan: Plan, query: string, limit = 50): { id: string; task: string; status: string }[] {
  const q = query.trim().toLowerCase();
  if (q === "") return [];
  const out: { id: string; task: string; status: string }[] = [];
  for (const n of plan.nodes.values()) {
    if (n.id.toLowerCase().includes(q) || n.task.toLowerCase().includes(q))
      out.push({ id: n.id, task: n.task, status: n.status });
    if (out.length >= limit) break;
  }
  return out;
}
