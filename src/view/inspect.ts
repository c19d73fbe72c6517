/**
 * What the viewer's panels show, computed from the events up to a step and
 * the plan folded from them: one instance in detail, every promise with its
 * use, the task stream (one lane per slot), and the search. Pure: data in,
 * data out, every value already turned into text for the page.
 */
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
  readonly history: readonly StatusChange[];
  readonly attempts: number;
  readonly retries: readonly { readonly seq: number; readonly ts: string; readonly attempt: number; readonly delayMs: number; readonly error: string }[];
  /** From the first start to the end (or to the step shown), in ms; null before it started. */
  readonly durationMs: number | null;
  /** Time holding a slot (running), in ms. */
  readonly runningMs: number;
  readonly inputs: string;
  readonly output: string | null;
  readonly logs: readonly { readonly seq: number; readonly ts: string; readonly message: string; readonly fields: string | null }[];
  readonly warnings: readonly string[];
  readonly error: { readonly name: string; readonly message: string; readonly code: string; readonly stack: string } | null;
  readonly reason: string | null;
  readonly waitingOn: readonly string[];
  readonly children: readonly string[];
  readonly promises: readonly PromiseUse[];
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
  const base = { pid: p.pid, text: describePromise(p.spec), owner: p.owner, scope: p.spec.scope, source: p.source, violations };
  const spec = p.spec;
  switch (spec.kind) {
    case "LimitedSpawns": {
      let used = 0;
      let parent = "";
      for (const n of scopeNodes(plan, p)) {
        const c = n.childCounts.get(spec.task) ?? 0;
        if (c > used) [used, parent] = [c, n.id];
      }
      return { ...base, used, limit: spec.limit, note: used > 0 ? `${used} ${spec.task} under ${parent}` : `no ${spec.task} yet` };
    }
    case "MaxParallelism": {
      const running = scopeNodes(plan, p).filter((n) => n.status === "running" && n.labels.includes(spec.label)).length;
      return { ...base, used: running, limit: spec.limit, note: `${running} running with label ${spec.label}` };
    }
    case "OnlySpecificNodesAllowed": {
      const taken = new Set<string>();
      for (const n of scopeNodes(plan, p)) if (n.id !== p.owner && spec.tasks.includes(n.task)) taken.add(n.task);
      return { ...base, used: taken.size, limit: spec.tasks.length, note: taken.size > 0 ? `taken: ${[...taken].join(", ")}` : "no branch taken yet" };
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
    const refused = Array.isArray(nodes) ? nodes.map((n) => str((n as { id?: unknown } | null)?.id)).filter((id) => id !== "") : [];
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
  for (const e of events) if (e.type === "promise.violated" && typeof e.data.pid === "number") broken.set(e.data.pid, (broken.get(e.data.pid) ?? 0) + 1);
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
        retries.push({ seq: e.seq, ts: e.ts, attempt: e.data.attempt, delayMs: Number(e.data.delayMs), error: err ? `${err.name}: ${err.message}` : "" });
        change("pending", `retry as attempt ${e.data.attempt}`);
        break;
      }
      case "task.log":
        logs.push({ seq: e.seq, ts: e.ts, message: str(e.data.message), fields: e.data.fields === undefined ? null : valueBlock(e.data.fields, 4_000) });
        break;
      case "task.warning":
        warnings.push(`${str(e.data.code)}: ${str(e.data.message)}`);
        break;
      case "task.emitted":
        change(node.status === "running" ? "running" : node.status, "emitted its output");
        break;
      case "task.succeeded":
      case "task.skipped":
      case "task.cancelled":
      case "task.failed":
        stopRunning();
        end = t;
        if (e.type === "task.failed") error = errorView(e.data.error);
        change(e.type.slice("task.".length), e.type === "task.skipped" ? str(e.data.because) : e.type === "task.cancelled" ? str(e.data.reason) : "");
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
    history,
    attempts: node.attempt,
    retries,
    durationMs: firstStart === null ? null : (end ?? last) - firstStart,
    runningMs,
    inputs: valueBlock(node.inputs),
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
export interface LaneBar {
  readonly id: string;
  readonly task: string;
  readonly lane: number;
  readonly start: number;
  readonly end: number;
  /** False while it still holds its slot at the step shown. */
  readonly ended: boolean;
  /** How the stretch ended: `succeeded`, `failed`, `waiting`, `retrying`, `cancelled`, or `running`. */
  readonly how: string;
}

export interface TaskStream {
  readonly lanes: number;
  readonly bars: readonly LaneBar[];
  /** Ms from the first start to the step shown. */
  readonly span: number;
}

/**
 * The task stream: each stretch a task held a slot (started or resumed, to
 * waiting, retrying or its end), put in the lowest lane free when it began.
 * The log does not say which worker ran what, so lanes are slots, not
 * workers: as many lanes as tasks ran at once.
 */
export function taskStream(events: readonly TrellisEvent[]): TaskStream {
  // Time counts from the first start: loading workers before it is not the stream's business.
  const first = events.find((e) => e.type === "task.started");
  if (first === undefined) return { lanes: 0, bars: [], span: 0 };
  const t0 = time(first.ts);
  const open = new Map<string, { lane: number; start: number; task: string }>();
  const taskOf = new Map<string, string>();
  const free: number[] = [];
  let lanes = 0;
  const bars: LaneBar[] = [];
  let now = 0;
  for (const e of events) {
    now = Math.max(now, time(e.ts) - t0);
    const id = (e.data as Record<string, unknown>)["id"];
    if (typeof id !== "string") continue;
    if (e.type === "task.created") taskOf.set(id, e.data.task);
    else if (e.type === "task.started" || e.type === "task.resumed" || e.type === "task.rehosted") {
      if (open.has(id)) continue;
      free.sort((a, b) => a - b);
      const lane = free.length > 0 ? (free.shift() as number) : lanes++;
      open.set(id, { lane, start: now, task: taskOf.get(id) ?? "" });
    } else if (
      e.type === "task.waiting" ||
      e.type === "task.retrying" ||
      e.type === "task.succeeded" ||
      e.type === "task.failed" ||
      e.type === "task.cancelled" ||
      e.type === "task.skipped"
    ) {
      const o = open.get(id);
      if (!o) continue;
      open.delete(id);
      free.push(o.lane);
      bars.push({ id, task: o.task, lane: o.lane, start: o.start, end: now, ended: true, how: e.type.slice("task.".length) });
    }
  }
  for (const [id, o] of open) bars.push({ id, task: o.task, lane: o.lane, start: o.start, end: now, ended: false, how: "running" });
  return { lanes, bars, span: now };
}

/** Instances whose id or definition holds `query` (case-insensitive), in creation order, at most `limit`. */
export function searchNodes(plan: Plan, query: string, limit = 50): { id: string; task: string; status: string }[] {
  const q = query.trim().toLowerCase();
  if (q === "") return [];
  const out: { id: string; task: string; status: string }[] = [];
  for (const n of plan.nodes.values()) {
    if (n.id.toLowerCase().includes(q) || n.task.toLowerCase().includes(q)) out.push({ id: n.id, task: n.task, status: n.status });
    if (out.length >= limit) break;
  }
  return out;
}
