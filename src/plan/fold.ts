/**
 * The event fold: the only code that changes a plan. The engine appends an
 * event and folds it; `trellis render` folds the same lines from the log, so
 * the live plan and a replayed plan are equal at every step.
 */
import type { Counts, TaskStatus, TrellisEvent } from "../events/types.ts";
import { isFinished } from "../events/types.ts";
import type { Plan, PlanNode } from "./plan.ts";
import { NO_CHILDREN, NO_CHILD_COUNTS, createPlan, isAvailable } from "./plan.ts";

function setStatus(plan: Plan, node: PlanNode, status: TaskStatus): void {
  count(plan.counts, node.status, -1);
  count(plan.counts, status, 1);
  node.status = status;
}

/**
 * `counts[status] += by`, one named field per status: `counts[status]`, a
 * keyed access whose key changes from call to call, is megamorphic (a
 * stub-cache lookup each time) on a path every task takes a few times.
 */
function count(counts: Counts, status: TaskStatus, by: number): void {
  switch (status) {
    case "pending":
      counts.pending += by;
      return;
    case "running":
      counts.running += by;
      return;
    case "waiting":
      counts.waiting += by;
      return;
    case "succeeded":
      counts.succeeded += by;
      return;
    case "failed":
      counts.failed += by;
      return;
    case "skipped":
      counts.skipped += by;
      return;
    case "cancelled":
      counts.cancelled += by;
      return;
    default: {
      const unknown: never = status;
      void unknown;
    }
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** `node`'s output just became available: each consumer has one producer less to wait for. */
function produced(plan: Plan, node: PlanNode): void {
  const consumers = plan.consumers.get(node.id);
  if (consumers === undefined) return;
  for (let i = 0; i < consumers.length; i++) {
    const consumer = plan.nodes.get(consumers[i] as string);
    if (consumer !== undefined) consumer.producersLeft--;
  }
}

function removePlaceholderTree(plan: Plan, id: string, state: "taken" | "removed"): void {
  const p = plan.placeholders.get(id);
  if (!p) return;
  if (p.state === "open") p.state = state;
  for (const child of p.children) removePlaceholderTree(plan, child, "removed");
}

/** The instance `id`: `about` itself when it is that instance, else a lookup. */
function nodeOf(plan: Plan, id: string, about: PlanNode | undefined): PlanNode | undefined {
  return about !== undefined && about.id === id ? about : plan.nodes.get(id);
}

/**
 * Applies one event to the plan. Unknown event types are ignored (forward
 * compatibility). `about` is the instance the event is about, when the
 * caller already holds it (the engine does): it saves a lookup and changes
 * nothing else, so a replay without it folds to the same plan.
 */
export function applyEvent(plan: Plan, event: TrellisEvent, about?: PlanNode): void {
  plan.seq = event.seq;
  switch (event.type) {
    case "run.started":
      plan.runId = event.runId;
      plan.root = event.data.root;
      plan.status = "running";
      return;
    case "run.resumed":
      resumeNodes(plan, event.data.retryFailed);
      plan.status = "running";
      return;
    case "task.created": {
      const d = event.data;
      const node: PlanNode = {
        id: d.id,
        task: d.task,
        parent: d.parent,
        labels: d.labels,
        inputs: d.inputs,
        inputsHash: d.inputsHash,
        priority: d.priority,
        order: event.seq,
        status: "pending",
        attempt: 0,
        output: undefined,
        emitted: false,
        cached: false,
        error: undefined,
        waitingOn: undefined,
        placeholder: d.placeholder,
        children: NO_CHILDREN as string[],
        childCounts: NO_CHILD_COUNTS as Map<string, number>,
        reason: undefined,
        producersLeft: 0,
      };
      plan.nodes.set(d.id, node);
      plan.counts.pending++;
      if (d.parent !== null) {
        const parent = plan.nodes.get(d.parent);
        if (parent) {
          if (parent.children === NO_CHILDREN) {
            parent.children = [];
            parent.childCounts = new Map();
          }
          parent.children.push(d.id);
          parent.childCounts.set(d.task, (parent.childCounts.get(d.task) ?? 0) + 1);
        }
      }
      if (d.placeholder !== null) {
        const p = plan.placeholders.get(d.placeholder);
        if (p) {
          removePlaceholderTree(plan, p.id, "taken");
          p.takenBy = d.id;
        }
      }
      return;
    }
    case "edge.created": {
      // The engine never writes an edge twice (one lineage edge per child,
      // producers are de-duplicated per spawn), so no set of seen edges is kept.
      const { from, to, kind } = event.data;
      plan.edges.push({ from, to, kind });
      if (kind === "data") {
        push(plan.producers, to, from);
        push(plan.consumers, from, to);
        const producer = plan.nodes.get(from);
        const consumer = plan.nodes.get(to);
        if (consumer !== undefined && (producer === undefined || !isAvailable(producer))) consumer.producersLeft++;
      }
      return;
    }
    case "preview.materialized": {
      const { owner, placeholders, edges } = event.data;
      for (const p of placeholders) {
        plan.placeholders.set(p.id, {
          id: p.id,
          task: p.task,
          parent: p.parent,
          owner,
          state: "open",
          takenBy: null,
          children: [],
        });
        const parentPh = plan.placeholders.get(p.parent);
        if (parentPh) parentPh.children.push(p.id);
        push(plan.placeholderChildren, p.parent, p.id);
      }
      for (const e of edges) push(plan.placeholderEdges, owner, { from: e.from, to: e.to });
      return;
    }
    case "preview.pruned":
      for (const id of event.data.placeholders) removePlaceholderTree(plan, id, "removed");
      return;
    case "promise.declared": {
      const declared = {
        pid: event.data.pid,
        owner: event.data.owner,
        source: event.data.source,
        spec: event.data.promise,
      };
      plan.promises.push(declared);
      push(plan.promisesByOwner, declared.owner, declared);
      return;
    }
    case "task.started": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node) return;
      node.attempt = event.data.attempt;
      setStatus(plan, node, "running");
      return;
    }
    case "task.waiting": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node) return;
      node.waitingOn = event.data.on;
      setStatus(plan, node, "waiting");
      return;
    }
    case "task.resumed":
    case "task.rehosted": {
      // Running again: after a wait, or from the start on another worker (same attempt).
      const node = nodeOf(plan, event.data.id, about);
      if (!node) return;
      node.waitingOn = undefined;
      setStatus(plan, node, "running");
      return;
    }
    case "task.emitted": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node || node.emitted) return; // only the first emit counts (the engine never writes a second)
      node.output = event.data.output;
      node.emitted = true;
      produced(plan, node);
      return;
    }
    case "task.retrying": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node) return;
      node.error = event.data.error;
      node.waitingOn = undefined;
      setStatus(plan, node, "pending");
      return;
    }
    case "task.succeeded": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node || isFinished(node.status)) return;
      node.output = event.data.output; // for a task that emitted, the engine writes the emitted value here
      node.waitingOn = undefined;
      setStatus(plan, node, "succeeded");
      if (!node.emitted) produced(plan, node); // an emit made the output available already
      if (node.id === plan.root) plan.output = node.output;
      return;
    }
    case "task.cached": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node || isFinished(node.status)) return;
      node.output = event.data.output;
      node.cached = true;
      plan.cached++;
      setStatus(plan, node, "succeeded");
      produced(plan, node); // a cached instance never ran, so never emitted
      if (node.id === plan.root) plan.output = node.output;
      return;
    }
    case "task.failed": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node || isFinished(node.status)) return;
      node.error = event.data.error;
      node.waitingOn = undefined;
      setStatus(plan, node, "failed");
      return;
    }
    case "task.skipped":
    case "task.cancelled": {
      const node = nodeOf(plan, event.data.id, about);
      if (!node || isFinished(node.status)) return;
      node.reason = event.type === "task.skipped" ? event.data.because : event.data.reason;
      node.waitingOn = undefined;
      setStatus(plan, node, event.type === "task.skipped" ? "skipped" : "cancelled");
      return;
    }
    case "promise.violated":
      plan.violations++;
      return;
    case "run.finished":
      plan.status = event.data.status;
      return;
    case "task.log":
    case "task.placed":
    case "task.warning":
    case "run.deadlock":
      return;
    default: {
      const unknown: never = event;
      void unknown;
      return;
    }
  }
}

/**
 * What `run.resumed` does to the plan: the attempts that were running or
 * waiting died with the engine, so those instances are pending again (a new
 * attempt will start them); with `retryFailed`, so are the instances that
 * failed, were skipped or cancelled. Succeeded instances keep their output.
 */
function resumeNodes(plan: Plan, retryFailed: boolean): void {
  for (const node of plan.nodes.values()) {
    const s = node.status;
    if (
      s === "running" ||
      s === "waiting" ||
      (retryFailed && (s === "failed" || s === "skipped" || s === "cancelled"))
    ) {
      node.waitingOn = undefined;
      node.reason = undefined;
      setStatus(plan, node, "pending");
    }
  }
}

/** Folds a sequence of events into a fresh plan. */
export function foldEvents(events: Iterable<TrellisEvent>): Plan {
  const plan = createPlan();
  for (const e of events) applyEvent(plan, e);
  return plan;
}
