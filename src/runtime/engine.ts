/**
 * The run loop. It owns one plan and changes it only by committing events
 * (appended to the log, then folded); it reacts to calls from running tasks
 * (the {@link EngineLink}), asks the scheduler what to start next, and hands
 * attempts to an executor.
 */
import {
  DeadlockError,
  ErrorCodes,
  PromiseViolationError,
  TaskCancelledError,
  TaskFailedError,
  TaskTimeoutError,
  TrellisError,
  WaitAbortedError,
  WaitTimeoutError,
  serializeError,
} from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import { decode, encode, getPath } from "../events/codec.ts";
import type { EventDataMap, EventType, PlanDiff, PromiseSpec, RunStatus, TrellisEvent, ViolationPolicy, WaitEndReason } from "../events/types.ts";
import { EVENT_VERSION, isFinished } from "../events/types.ts";
import type { EventSink } from "../events/writer.ts";
import { applyEvent } from "../plan/fold.ts";
import type { RunObserver } from "../plan/observer.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { createPlan, nextOpenPlaceholder } from "../plan/plan.ts";
import { expandPreview } from "../preview/placeholders.ts";
import { checkPromiseSpec, referencedTasks } from "../promises/constructors.ts";
import { declaredPromises } from "../promises/declared.ts";
import { capsFor, validateDiff } from "../promises/validate.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import type { AnyTask } from "../task/define.ts";
import type { TaskRegistry } from "../task/registry.ts";
import type { EngineLink, Executor, SpawnRequest, TaskOutcome, TaskRef, WaitOutcome } from "./executor.ts";
import { WaitIndex } from "./wait-index.ts";

/** A definition's labels plus a spawn's extra ones; the definition's own array when there are none (no copy per instance). */
function mergeLabels(own: readonly string[], extra: readonly string[]): readonly string[] {
  return extra.length === 0 ? own : [...new Set([...own, ...extra])];
}

/** The outputs of available instances, in order, as a wait answers them. */
function outputsOf(nodes: readonly PlanNode[]): Json[] {
  const out: Json[] = new Array<Json>(nodes.length);
  for (let i = 0; i < nodes.length; i++) out[i] = outputOf(nodes[i] as PlanNode);
  return out;
}

/** An available instance's output as a wait or a `From` sees it (`undefined` is tagged). */
function outputOf(node: PlanNode): Json {
  return node.output === undefined ? { $t: "undefined" } : node.output;
}

/** Up to ten ids for a message, then how many more. */
function listIds(ids: readonly string[]): string {
  return ids.length <= 10 ? ids.join(", ") : `${ids.slice(0, 10).join(", ")} and ${ids.length - 10} more`;
}

/** True for the codec's encoding of `undefined` (what a task that returns nothing gives). */
function isUndefinedTag(v: Json): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && v["$t"] === "undefined";
}

/** Consecutive microtask steps before one goes through the event loop. */
const MICRO_STEPS = 512;

export interface EngineOptions {
  readonly runId: string;
  readonly executor: Executor;
  readonly registry: TaskRegistry;
  readonly sink: EventSink;
  readonly onViolation: ViolationPolicy;
  readonly observers: readonly RunObserver[];
  readonly signal: AbortSignal | undefined;
  /** Epoch milliseconds for event timestamps. */
  readonly now: () => number;
}

interface WaitRecord {
  readonly task: string;
  readonly attempt: number;
  readonly waitId: number;
  /** The instances waited on, in the order asked (their outputs are the answer). */
  readonly nodes: PlanNode[];
  remaining: number;
  done: boolean;
  /** The wait's `timeoutMs` timer, while it is armed. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A queued resume of a suspended task (a start is queued as the plan node itself: no entry object per task). */
interface ResumeEntry {
  readonly id: string;
  readonly priority: number;
  readonly order: number;
  readonly resume: true;
}

interface LiveTask {
  readonly node: PlanNode;
  readonly attempt: number;
  holdsSlot: boolean;
  resumeQueued: boolean;
  /** Waits answered while the task was suspended, delivered when it resumes (the first one's reason is logged). */
  answered: { waitId: number; outcome: WaitOutcome; reason: WaitEndReason }[] | null;
  /** Its waits with a time limit (armed or not), so its end disarms them. */
  timed: WaitRecord[] | null;
  /** Errors of refused spawns and promises (reject policy), raised at the next wait or at the end. */
  errors: SerializedError[] | null;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The summary of a finished run, as the engine sees it. */
export interface EngineResult {
  readonly status: RunStatus;
  readonly output: Json;
  readonly error: SerializedError | null;
  readonly plan: Plan;
  readonly durationMs: number;
}

export class Engine implements EngineLink {
  readonly plan: Plan;
  readonly #o: EngineOptions;
  readonly #scheduler: Scheduler<PlanNode | ResumeEntry>;
  readonly #live = new Map<string, LiveTask>();
  readonly #blockers = new Map<string, number>();
  readonly #waiters = new WaitIndex<WaitRecord>();
  #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Waits whose time limit is armed: the run is not deadlocked while one may still fire. */
  readonly #armedWaits = new Set<WaitRecord>();
  #seq = 0;
  #pid = 0;
  #pumpQueued = false;
  #tickQueued = false;
  #microSteps = 0;
  #ending: RunStatus | null = null;
  #error: SerializedError | null = null;
  #startedAt = 0;
  #resolve!: (r: EngineResult) => void;
  readonly #done: Promise<EngineResult>;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.plan = createPlan(options.runId);
    this.#scheduler = new Scheduler<PlanNode | ResumeEntry>(Math.max(1, options.executor.concurrency), (id) => capsFor(this.plan, id));
    this.#done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  // ---------------------------------------------------------------- events

  /** Appends an event and folds it; `about` is the instance it is about, when the caller holds it (see {@link applyEvent}). */
  #commit<K extends EventType>(type: K, data: EventDataMap[K], about?: PlanNode): void {
    const event = {
      v: EVENT_VERSION,
      seq: ++this.#seq,
      ts: this.#timestamp(),
      runId: this.#o.runId,
      type,
      data,
    } as unknown as TrellisEvent;
    this.#o.sink.write(event);
    applyEvent(this.plan, event, about);
    const observers = this.#o.observers; // indexed loops on the per-event path: no iterator object per event
    for (let i = 0; i < observers.length; i++) (observers[i] as RunObserver).onEvent?.(event, this.plan);
  }

  #lastMs = Number.NaN;
  #lastTs = "";

  /** ISO time of now; formatted once per millisecond (many events share one). */
  #timestamp(): string {
    const ms = this.#o.now();
    if (ms !== this.#lastMs) {
      this.#lastMs = ms;
      this.#lastTs = new Date(ms).toISOString();
    }
    return this.#lastTs;
  }

  // ---------------------------------------------------------------- start

  /** Starts the run from `root` and resolves when it ended. */
  async start(root: AnyTask, inputs: unknown, modules: readonly string[]): Promise<EngineResult> {
    this.#startedAt = performance.now();
    const o = this.#o;
    let encoded: Json;
    try {
      encoded = encode(inputs, { strict: true, role: "inputs", label: `inputs of ${root.name}` });
    } catch (error) {
      this.#commitStarted(root, null);
      this.#error = serializeError(error);
      this.#finish("failed");
      return this.#done;
    }
    this.#commitStarted(root, encoded);
    try {
      await o.executor.start(this, modules);
    } catch (error) {
      this.#error = serializeError(error);
      this.#finish("failed");
      return this.#done;
    }
    if (o.signal) {
      if (o.signal.aborted) this.#stopAll("cancelled", "the run was cancelled before it started");
      else o.signal.addEventListener("abort", () => this.#stopAll("cancelled", "the run was cancelled"), { once: true });
    }
    if (this.#ending === null) {
      this.#create(null, root.name, root, encoded, [], root.labels, null);
      this.#pump();
    }
    return this.#done;
  }

  #commitStarted(root: AnyTask, inputs: Json): void {
    const o = this.#o;
    this.#commit("run.started", {
      root: root.name,
      task: root.name,
      inputs,
      options: { executor: o.executor.kind, workers: o.executor.workers, onViolation: o.onViolation },
    });
  }

  // ---------------------------------------------------------------- plan growth

  /** Adds an instance (already validated) with its edges and preview, and queues it when ready. */
  #create(
    parent: PlanNode | null,
    id: string,
    def: AnyTask,
    inputs: Json,
    producers: readonly string[],
    /** The definition's labels plus the spawn's (see {@link mergeLabels}); shared, never copied per instance. */
    labels: readonly string[],
    priority: number | null,
    placeholder: string | null = null,
  ): void {
    this.#commit("task.created", {
      id,
      task: def.name,
      parent: parent ? parent.id : null,
      labels: labels as string[],
      inputs,
      placeholder,
      priority: priority ?? def.priority,
    });
    if (parent) this.#commit("edge.created", { from: parent.id, to: id, kind: "lineage" });
    for (let i = 0; i < producers.length; i++) this.#commit("edge.created", { from: producers[i] as string, to: id, kind: "data" });
    if (def.calls.length > 0) {
      const preview = expandPreview(def, id);
      this.#commit("preview.materialized", { owner: id, placeholders: preview.placeholders, edges: preview.edges });
    }
    let blocking = 0;
    for (let i = 0; i < producers.length; i++) {
      const p = producers[i] as string;
      const producer = this.plan.nodes.get(p) as PlanNode;
      if (producer.status === "succeeded" || producer.emitted) continue;
      if (isFinished(producer.status)) {
        this.#settle(this.plan.nodes.get(id) as PlanNode, "skipped", `producer ${p} ${producer.status}`);
        return;
      }
      blocking++;
    }
    if (blocking > 0) this.#blockers.set(id, blocking);
    else this.#queueStart(this.plan.nodes.get(id) as PlanNode);
  }

  #queueStart(node: PlanNode): void {
    this.#scheduler.push(node);
  }

  #diffFor(parent: PlanNode, req: SpawnRequest, def: AnyTask, placeholder: string | null, labels: readonly string[]): PlanDiff {
    const plan = this.plan;
    const edges: PlanDiff["edges"][number][] = [
      { from: parent.id, to: req.id, kind: "lineage", fromTask: parent.task, toTask: def.name, declared: placeholder !== null },
    ];
    const declaredEdges = plan.placeholderEdges.get(parent.id);
    for (const p of req.producers) {
      const producer = plan.nodes.get(p) as PlanNode;
      const declared =
        placeholder !== null &&
        producer.placeholder !== null &&
        declaredEdges !== undefined &&
        declaredEdges.some((e) => e.from === producer.placeholder && e.to === placeholder);
      edges.push({ from: p, to: req.id, kind: "data", fromTask: producer.task, toTask: def.name, declared });
    }
    return { by: parent.id, nodes: [{ id: req.id, task: def.name, parent: parent.id, labels, placeholder }], edges };
  }

  spawn(ref: TaskRef, req: SpawnRequest): void {
    const live = this.#current(ref);
    if (!live) return;
    const parent = live.node;
    const existing = this.plan.nodes.get(req.id);
    if (existing) {
      // A retried attempt spawns the same ids again: keep the earlier child.
      if (existing.parent === ref.id && existing.task === req.task && ref.attempt > 1) return;
      this.#deferError(live, new TrellisError(ErrorCodes.INVALID_INPUT, `${ref.id}: an instance ${req.id} already exists`, { id: req.id }));
      return;
    }
    const def = this.#o.registry.get(req.task);
    if (!def) {
      this.#deferError(
        live,
        new TrellisError(
          ErrorCodes.UNKNOWN_TASK,
          `${ref.id} spawned "${req.task}", which is not registered in the engine; define it with task() at the top level of a module the workflow imports`,
          { id: ref.id, task: req.task },
        ),
      );
      return;
    }
    for (let i = 0; i < req.producers.length; i++) {
      const p = req.producers[i] as string;
      if (!this.plan.nodes.has(p)) {
        this.#deferError(
          live,
          new TrellisError(ErrorCodes.UNKNOWN_INSTANCE, `${ref.id}: From(${p}) in the inputs of ${req.id} refers to no instance of this run`, {
            id: req.id,
            producer: p,
          }),
        );
        return;
      }
    }
    const labels = mergeLabels(def.labels, req.labels);
    const placeholder = nextOpenPlaceholder(this.plan, parent.id, def.name)?.id ?? null;
    // No promise anywhere in the run: nothing to validate, skip building the diff.
    const diff = this.plan.promises.length > 0 ? this.#diffFor(parent, req, def, placeholder, labels) : null;
    const violation = diff ? validateDiff(this.plan, diff) : null;
    if (diff && violation) {
      const p = violation.promise;
      this.#commit("promise.violated", {
        pid: p.pid,
        promise: p.spec.kind,
        spec: p.spec,
        owner: p.owner,
        by: ref.id,
        diff,
        details: violation.details,
        policy: this.#o.onViolation,
      });
      const error = new PromiseViolationError(
        ErrorCodes.PROMISE_VIOLATION,
        `${ref.id} broke ${p.spec.kind} (declared by ${p.owner}) by spawning ${req.task}: ${JSON.stringify(violation.details)}`,
        { promise: p.spec.kind, owner: p.owner, by: ref.id, ...violation.details },
      );
      if (this.#o.onViolation === "halt") {
        this.#error = serializeError(error);
        this.#stopAll("halted", `halted: ${p.spec.kind} of ${p.owner} was broken by ${ref.id}`);
      } else this.#deferError(live, error);
      return;
    }
    this.#create(parent, req.id, def, req.inputs, req.producers, labels, req.priority, placeholder);
    this.#pump();
  }

  promise(ref: TaskRef, promises: readonly PromiseSpec[]): void {
    const live = this.#current(ref);
    if (!live) return;
    for (const spec of promises) {
      const error = this.#checkPromise(spec);
      if (error) {
        this.#deferError(live, error);
        continue;
      }
      this.#declare(ref.id, "context", spec);
    }
    this.#pump();
  }

  /** Commits a promise. A MaxParallelism also counts the instances in its scope that are running now. */
  #declare(owner: string, source: "definition" | "context" | "static", spec: PromiseSpec): void {
    this.#commit("promise.declared", { pid: ++this.#pid, owner, source, promise: spec });
    if (spec.kind !== "MaxParallelism") return;
    for (const [id, live] of this.#live) if (live.holdsSlot) this.#scheduler.adopt(id, capsFor(this.plan, id));
  }

  #checkPromise(spec: PromiseSpec): TrellisError | null {
    try {
      checkPromiseSpec(spec); // a promise may arrive as data from a worker, or be built by hand
    } catch (error) {
      return error as TrellisError;
    }
    for (const name of referencedTasks(spec))
      if (!this.#o.registry.has(name))
        return new TrellisError(ErrorCodes.INVALID_PROMISE, `${spec.kind} refers to "${name}", which is not a registered task`, { task: name });
    return null;
  }

  /** Keeps an error for the task's next wait (or its end): how `reject` reaches a task in a worker. */
  #deferError(live: LiveTask, error: unknown): void {
    (live.errors ??= []).push(serializeError(error));
  }

  log(ref: TaskRef, message: string, fields: Json): void {
    if (!this.#current(ref)) return;
    this.#commit("task.log", { id: ref.id, message, fields });
  }

  emit(ref: TaskRef, output: Json): void {
    if (!this.#current(ref)) return;
    const node = this.plan.nodes.get(ref.id) as PlanNode;
    if (node.emitted) {
      this.#commit("task.warning", { id: ref.id, code: "EMIT_TWICE", message: `${ref.id} called emit() again; only the first value is kept` });
      return;
    }
    this.#commit("task.emitted", { id: ref.id, output });
    this.#available(node);
    this.#pump();
  }

  // ---------------------------------------------------------------- waits

  wait(ref: TaskRef, waitId: number, ids: readonly string[], timeoutMs: number | null): void {
    const live = this.#current(ref);
    if (!live) return;
    const pendingError = live.errors?.shift();
    if (pendingError) return this.#o.executor.resume(ref, waitId, { ok: false, error: pendingError });
    const record: WaitRecord = { task: ref.id, attempt: ref.attempt, waitId, nodes: [], remaining: 0, done: false, timer: undefined };
    const waitingOn: string[] = [];
    const registered: PlanNode[] = [];
    for (const id of ids) {
      const node = this.plan.nodes.get(id);
      const problem = id === ref.id ? this.#selfWaitError(id) : node ? null : this.#unknownWaitError(ref.id, id);
      if (problem) {
        this.#dropWait(record, registered);
        return this.#o.executor.resume(ref, waitId, { ok: false, error: problem });
      }
      const n = node as PlanNode;
      record.nodes.push(n);
      if (n.status === "succeeded" || n.emitted) continue;
      if (isFinished(n.status)) {
        this.#dropWait(record, registered);
        return this.#o.executor.resume(ref, waitId, { ok: false, error: this.#failedChildError(n) });
      }
      if (!this.#waiters.add(n.order, record)) continue; // the same id twice in one wait
      record.remaining++;
      waitingOn.push(id);
      registered.push(n);
    }
    if (record.remaining === 0) return this.#o.executor.resume(ref, waitId, { ok: true, outputs: outputsOf(record.nodes) });
    if (timeoutMs !== null) this.#arm(live, record, timeoutMs);
    if (live.holdsSlot) {
      live.holdsSlot = false;
      this.#scheduler.release(ref.id);
      this.#commit("task.waiting", { id: ref.id, on: waitingOn }, live.node);
    }
    this.#pump();
  }

  /** Starts the time limit of a wait that is now registered. */
  #arm(live: LiveTask, record: WaitRecord, timeoutMs: number): void {
    (live.timed ??= []).push(record);
    this.#armedWaits.add(record);
    record.timer = setTimeout(() => {
      record.timer = undefined;
      this.#armedWaits.delete(record);
      if (record.done || this.#ending !== null) return;
      const pending = this.#unfinished(record);
      const error = new WaitTimeoutError(
        ErrorCodes.WAIT_TIMEOUT,
        `${record.task} waited ${timeoutMs} ms (its timeoutMs) and ${pending.length} of the instances it waits for did not finish: ${listIds(pending)}. ` +
          "They keep running: wait for them again, or go on without them",
        { id: record.task, timeoutMs, pending },
      );
      this.#endWait(record, { ok: false, error: serializeError(error) }, "timeout");
      this.#pump();
    }, timeoutMs);
  }

  #disarm(record: WaitRecord): void {
    if (record.timer === undefined) return;
    clearTimeout(record.timer);
    record.timer = undefined;
    this.#armedWaits.delete(record);
  }

  abortWait(ref: TaskRef, waitId: number): void {
    if (!this.#current(ref)) return;
    let record: WaitRecord | undefined;
    for (const r of this.#waiters.records())
      if (r.task === ref.id && r.attempt === ref.attempt && r.waitId === waitId && !r.done) {
        record = r;
        break;
      }
    if (!record) return; // answered already: the answer stands
    const pending = this.#unfinished(record);
    const error = new WaitAbortedError(
      ErrorCodes.WAIT_ABORTED,
      `${ref.id}: its wait was aborted by the signal passed to waitForAll, with ${pending.length} of the instances it waits for unfinished: ${listIds(pending)}. They keep running`,
      { id: ref.id, pending },
    );
    this.#endWait(record, { ok: false, error: serializeError(error) }, "aborted");
    this.#pump();
  }

  /** Ends a wait before its instances finished (timeout, abort): it leaves the index, so a later wait on them starts clean. */
  #endWait(record: WaitRecord, outcome: WaitOutcome, reason: WaitEndReason): void {
    for (const node of record.nodes) this.#waiters.remove(node.order, record);
    this.#answerWait(record, outcome, reason);
  }

  /** The ids a wait still waits for, in the order asked, each once. */
  #unfinished(record: WaitRecord): string[] {
    const ids: string[] = [];
    for (const n of record.nodes) if (!(n.status === "succeeded" || n.emitted) && !ids.includes(n.id)) ids.push(n.id);
    return ids;
  }

  /** Un-registers a wait refused half way through its ids. */
  #dropWait(record: WaitRecord, registered: readonly PlanNode[]): void {
    record.done = true;
    for (const node of registered) this.#waiters.removeLatest(node.order, record);
  }

  #selfWaitError(id: string): SerializedError {
    return serializeError(new DeadlockError(ErrorCodes.DEADLOCK, `${id} waits for itself; it can never finish`, { id }));
  }

  #unknownWaitError(by: string, id: string): SerializedError {
    return serializeError(
      new TrellisError(
        ErrorCodes.UNKNOWN_INSTANCE,
        `${by} waits for ${id}, which is not an instance of this run (it was never spawned, or its spawn was refused)`,
        { id },
      ),
    );
  }

  #isAvailable(id: string): boolean {
    const n = this.plan.nodes.get(id);
    return n !== undefined && (n.status === "succeeded" || n.emitted);
  }


  #failedChildError(node: PlanNode): SerializedError {
    const cause = node.error;
    const what =
      node.status === "failed"
        ? `failed: ${cause?.message ?? "unknown error"}`
        : `was ${node.status}${node.reason ? ` (${node.reason})` : ""}`;
    const error = new TaskFailedError(ErrorCodes.TASK_FAILED, `${node.id} ${what}`, { id: node.id, status: node.status }, { cause: undefined });
    const s = serializeError(error);
    return cause ? { ...s, cause } : s;
  }

  /** Answers a wait, once: whichever of its instances, its timer or its signal comes first decides. */
  #answerWait(record: WaitRecord, outcome: WaitOutcome, reason: WaitEndReason): void {
    if (record.done) return;
    record.done = true;
    this.#disarm(record);
    const live = this.#live.get(record.task);
    if (!live || live.attempt !== record.attempt) return;
    const ref = { id: record.task, attempt: record.attempt };
    if (live.holdsSlot) {
      this.#o.executor.resume(ref, record.waitId, outcome);
      return;
    }
    (live.answered ??= []).push({ waitId: record.waitId, outcome, reason });
    if (!live.resumeQueued) {
      live.resumeQueued = true;
      const node = live.node;
      this.#scheduler.push({ id: node.id, priority: node.priority, order: node.order, resume: true });
    }
  }

  /** `node`'s output became available (it succeeded or emitted). */
  #available(node: PlanNode): void {
    const consumers = this.plan.consumers.get(node.id);
    if (consumers)
      for (const c of consumers) {
        const left = this.#blockers.get(c);
        if (left === undefined) continue;
        if (left <= 1) {
          this.#blockers.delete(c);
          const consumer = this.plan.nodes.get(c) as PlanNode;
          if (consumer.status === "pending") this.#queueStart(consumer);
        } else this.#blockers.set(c, left - 1);
      }
    const records = this.#waiters.take(node.order);
    if (records === undefined) return;
    if (Array.isArray(records)) for (const r of records) this.#oneLess(r);
    else this.#oneLess(records);
  }

  /** One instance `r` waits on became available: answer the wait when it was the last. */
  #oneLess(r: WaitRecord): void {
    if (r.done) return;
    r.remaining--;
    if (r.remaining <= 0) this.#answerWait(r, { ok: true, outputs: outputsOf(r.nodes) }, "completed");
  }

  /** `node` finished without an output: its consumers are skipped and its waiters fail. */
  #dead(node: PlanNode): void {
    const consumers = this.plan.consumers.get(node.id);
    if (consumers)
      for (const c of consumers)
        if (this.#blockers.has(c)) {
          this.#blockers.delete(c);
          this.#settle(this.plan.nodes.get(c) as PlanNode, "skipped", `producer ${node.id} ${node.status}`);
        }
    const records = this.#waiters.take(node.order);
    if (records === undefined) return;
    const outcome: WaitOutcome = { ok: false, error: this.#failedChildError(node) };
    if (Array.isArray(records)) for (const r of records) this.#answerWait(r, outcome, "failed");
    else this.#answerWait(records, outcome, "failed");
  }

  // ---------------------------------------------------------------- running

  #current(ref: TaskRef): LiveTask | undefined {
    const live = this.#live.get(ref.id);
    return live && live.attempt === ref.attempt && this.#ending === null ? live : undefined;
  }

  /**
   * Schedules a scheduler step. Steps run as microtasks so tasks that finish
   * without I/O (the inline executor) chain without a trip through the event
   * loop; every {@link MICRO_STEPS} steps one goes through `setImmediate` so
   * timers and I/O still get their turn. A "tick" (flush of the log and the
   * observers' `onStep`) happens once per event-loop turn.
   */
  #pump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    if (++this.#microSteps < MICRO_STEPS) queueMicrotask(this.#runStep);
    else {
      this.#microSteps = 0;
      setImmediate(this.#runStep);
    }
    if (!this.#tickQueued) {
      this.#tickQueued = true;
      setImmediate(this.#runTick);
    }
  }

  readonly #runStep = (): void => {
    this.#pumpQueued = false;
    this.#step();
  };

  readonly #runTick = (): void => {
    this.#tickQueued = false;
    this.#microSteps = 0;
    if (this.#ending !== null) return;
    if (this.#o.sink.tick) this.#o.sink.tick();
    else this.#o.sink.flush();
    for (const ob of this.#o.observers) ob.onStep?.(this.plan);
  };

  #step(): void {
    if (this.#ending !== null) return;
    this.#scheduler.slots = Math.max(1, this.#o.executor.concurrency);
    for (let entry = this.#scheduler.next(); entry; entry = this.#scheduler.next()) {
      if ("resume" in entry) this.#resumeTask(entry.id);
      else this.#startAttempt(entry);
      if (this.#ending !== null) return;
    }
    this.#checkEnd();
  }

  #startAttempt(node: PlanNode): void {
    const id = node.id;
    if (node.status !== "pending") {
      this.#scheduler.release(id);
      return;
    }
    const def = this.#o.registry.require(node.task);
    const attempt = node.attempt + 1;
    const inputs = this.#resolveInputs(node);
    this.#commit("task.started", { id, attempt }, node);
    const live: LiveTask = { node, attempt, holdsSlot: true, resumeQueued: false, answered: null, timed: null, errors: null, timer: undefined };
    this.#live.set(id, live);
    if (attempt === 1 && (def.promises.length > 0 || def.static)) {
      for (const { spec, source } of declaredPromises(def)) {
        const error = this.#checkPromise(spec);
        if (error) this.#deferError(live, error);
        else this.#declare(id, source, spec);
      }
    }
    if (def.timeoutMs !== undefined) {
      const ms = def.timeoutMs;
      live.timer = setTimeout(() => {
        if (this.#live.get(id) !== live || this.#ending !== null) return;
        const error = serializeError(
          new TaskTimeoutError(ErrorCodes.TASK_TIMEOUT, `${id} did not finish within its timeoutMs of ${ms} ms (attempt ${attempt})`, {
            id,
            timeoutMs: ms,
            attempt,
          }),
        );
        this.#o.executor.abort({ id, attempt }, error);
        this.finished({ id, attempt }, { ok: false, error });
      }, ms);
    }
    this.#o.executor.run({ id, attempt, runId: this.#o.runId, task: node.task, inputs });
  }

  #resolveInputs(node: PlanNode): Json {
    if (!this.plan.producers.has(node.id)) return node.inputs;
    const walk = (v: Json): Json => {
      if (v === null || typeof v !== "object") return v;
      if (Array.isArray(v)) return v.map(walk);
      if (v["$t"] === "from") {
        const out = outputOf(this.plan.nodes.get(v["id"] as string) as PlanNode);
        const path = v["path"] as (string | number)[];
        return path.length === 0 ? out : encode(getPath(decode(out), path), { strict: false });
      }
      const o: { [k: string]: Json } = {};
      for (const k of Object.keys(v)) o[k] = walk(v[k] as Json);
      return o;
    };
    return walk(node.inputs);
  }

  #resumeTask(id: string): void {
    const live = this.#live.get(id);
    if (!live) {
      this.#scheduler.release(id);
      return;
    }
    live.holdsSlot = true;
    live.resumeQueued = false;
    const answered = live.answered ?? [];
    this.#commit("task.resumed", { id, reason: answered[0]?.reason ?? "completed" }, live.node);
    const ref = { id, attempt: live.attempt };
    live.answered = null;
    for (const a of answered) this.#o.executor.resume(ref, a.waitId, a.outcome);
  }

  finished(ref: TaskRef, outcome: TaskOutcome): void {
    const live = this.#current(ref);
    if (!live) return;
    const node = live.node;
    if (outcome.ok && live.errors && live.errors.length > 0) outcome = { ok: false, error: live.errors[0] as SerializedError };
    if (outcome.ok) {
      if (!node.emitted) this.#settle(node, "succeeded", undefined, outcome.output);
      else {
        if (!isUndefinedTag(outcome.output))
          this.#commit("task.warning", {
            id: ref.id,
            code: "RETURN_AFTER_EMIT",
            message: `${ref.id} returned a value after emit(); the emitted value is its output and the return value is ignored`,
          });
        // The emit fixed the output: the log records it, not the return value.
        this.#settle(node, "succeeded", undefined, outputOf(node));
      }
    } else {
      const def = this.#o.registry.get(node.task);
      const retryable = outcome.error.code !== ErrorCodes.PROMISE_VIOLATION && outcome.error.code !== ErrorCodes.TASK_CANCELLED;
      if (def && retryable && live.attempt <= def.retries) {
        this.#retry(node, live, outcome.error, def.retryDelayMs * 2 ** (live.attempt - 1));
      } else this.#settle(node, "failed", undefined, undefined, outcome.error);
    }
    this.#pump();
  }

  #retry(node: PlanNode, live: LiveTask, error: SerializedError, delay: number): void {
    const delayMs = Math.min(delay, 30_000);
    this.#endAttempt(node.id, live);
    this.#commit("task.retrying", { id: node.id, attempt: live.attempt + 1, delayMs, error }, node);
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      if (this.#ending !== null || node.status !== "pending") return;
      this.#queueStart(node);
      this.#pump();
    }, delayMs);
    this.#retryTimers.add(timer);
  }

  #endAttempt(id: string, live: LiveTask): void {
    if (live.timer !== undefined) clearTimeout(live.timer);
    if (live.timed !== null) for (const r of live.timed) this.#disarm(r);
    if (live.holdsSlot) this.#scheduler.release(id);
    live.holdsSlot = false;
    this.#live.delete(id);
  }

  /** Moves an instance to a finished status, with everything that follows from it. */
  #settle(node: PlanNode, status: "succeeded" | "failed" | "skipped" | "cancelled", reason?: string, output?: Json, error?: SerializedError): void {
    if (isFinished(node.status)) return;
    const id = node.id;
    const live = this.#live.get(id);
    if (live) this.#endAttempt(id, live);
    if (this.#blockers.size > 0) this.#blockers.delete(id);
    const emittedBefore = node.emitted;
    switch (status) {
      case "succeeded":
        this.#commit("task.succeeded", { id, output: output ?? null }, node);
        break;
      case "failed":
        this.#commit("task.failed", { id, attempt: node.attempt, error: error ?? serializeError(new Error("unknown failure")) }, node);
        break;
      case "skipped":
        this.#commit("task.skipped", { id, because: reason ?? "a producer did not succeed" }, node);
        break;
      case "cancelled":
        this.#commit("task.cancelled", { id, reason: reason ?? "cancelled" }, node);
        break;
    }
    if (this.plan.placeholderChildren.size > 0) {
      const open = this.#openPlaceholders(id);
      if (open.length > 0) this.#commit("preview.pruned", { owner: id, placeholders: open });
    }
    if (status === "succeeded") {
      if (!emittedBefore) this.#available(node);
    } else if (!emittedBefore) this.#dead(node);
  }

  #openPlaceholders(id: string): string[] {
    const list = this.plan.placeholderChildren.get(id);
    if (!list) return [];
    return list.filter((p) => this.plan.placeholders.get(p)?.state === "open");
  }

  // ---------------------------------------------------------------- ending

  /** Halt (a broken promise) or cancel: every unfinished instance is cancelled. */
  #stopAll(status: "halted" | "cancelled", reason: string): void {
    if (this.#ending !== null) return;
    this.#scheduler.drain();
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    // The reason of every cancelled task's ctx.signal (what signal.throwIfAborted() throws).
    const cancelled = serializeError(new TaskCancelledError(ErrorCodes.TASK_CANCELLED, reason));
    for (const node of [...this.plan.nodes.values()]) {
      if (isFinished(node.status)) continue;
      const live = this.#live.get(node.id);
      if (live) this.#o.executor.abort({ id: node.id, attempt: live.attempt }, cancelled);
      this.#blockers.delete(node.id);
      this.#settle(node, "cancelled", reason);
    }
    if (status === "cancelled" && this.#error === null) this.#error = cancelled;
    this.#finish(status);
  }

  #checkEnd(): void {
    if (this.#ending !== null) return;
    const c = this.plan.counts;
    const unfinished = c.pending + c.running + c.waiting;
    if (unfinished === 0 && this.#retryTimers.size === 0) {
      const root = this.plan.root ? this.plan.nodes.get(this.plan.root) : undefined;
      const status: RunStatus = root?.status === "succeeded" ? "succeeded" : "failed";
      if (status === "failed" && this.#error === null && root?.error) this.#error = root.error;
      if (status === "failed" && this.#error === null && root)
        this.#error = serializeError(new TaskFailedError(ErrorCodes.TASK_FAILED, `root ${root.id} was ${root.status}${root.reason ? ` (${root.reason})` : ""}`));
      this.#finish(status);
      return;
    }
    // An armed wait timer will wake its task: not a deadlock (yet).
    if (this.#scheduler.running === 0 && this.#scheduler.queued === 0 && this.#retryTimers.size === 0 && this.#armedWaits.size === 0)
      this.#deadlock();
  }

  /** Nothing runs and nothing can start: report who waits on what and fail them. */
  #deadlock(): void {
    const stuck = [...this.plan.nodes.values()].filter((n) => !isFinished(n.status));
    const instances = stuck.map((n) => ({
      id: n.id,
      status: n.status,
      waitingOn: n.status === "waiting" ? [...(n.waitingOn ?? [])] : [...(this.plan.producers.get(n.id) ?? [])].filter((p) => !this.#isAvailable(p)),
    }));
    const message = `deadlock: ${instances.map((i) => `${i.id} (${i.status}) waits on ${i.waitingOn.join(", ") || "nothing"}`).join("; ")}`;
    this.#commit("run.deadlock", { instances, message });
    const error = new DeadlockError(ErrorCodes.DEADLOCK, message, { instances: instances.map((i) => i.id) });
    this.#error = serializeError(error);
    for (const n of stuck) {
      if (n.status !== "waiting") continue;
      const live = this.#live.get(n.id);
      if (live) {
        for (const r of this.#waiters.records())
          if (r.task === n.id && !r.done) {
            r.done = true;
            this.#o.executor.resume({ id: n.id, attempt: live.attempt }, r.waitId, { ok: false, error: this.#error });
          }
        this.#o.executor.abort({ id: n.id, attempt: live.attempt }, this.#error);
      }
      this.#settle(n, "failed", undefined, undefined, this.#error);
    }
    for (const n of stuck) if (!isFinished(n.status)) this.#settle(n, "skipped", "deadlock");
    this.#finish("failed");
  }

  #finish(status: RunStatus): void {
    if (this.#ending !== null) return;
    this.#ending = status;
    for (const r of [...this.#armedWaits]) this.#disarm(r);
    const root = this.plan.root ? this.plan.nodes.get(this.plan.root) : undefined;
    const output = status === "succeeded" && root?.output !== undefined ? root.output : null;
    const durationMs = performance.now() - this.#startedAt;
    this.#commit("run.finished", {
      status,
      output,
      counts: { ...this.plan.counts },
      durationMs: Math.round(durationMs * 1000) / 1000,
      violations: this.plan.violations,
      error: status === "succeeded" ? null : this.#error,
    });
    this.#o.sink.flush();
    this.#resolve({ status, output, error: status === "succeeded" ? null : this.#error, plan: this.plan, durationMs });
  }
}
