/**
 * The run loop: a thin shell around pure decisions. It owns one plan and
 * changes it only by committing events (appended to the log, then folded); it
 * reacts to calls from running tasks (the {@link EngineLink}), asks the
 * scheduler what to start next, and hands attempts to an executor.
 *
 * The decisions live beside the data they read: readiness and deadlock in
 * scheduler/ (`readiness.ts`, `deadlock.ts`), a spawn's diff in `plan/diff.ts`,
 * inputs and outputs in `plan/outputs.ts`, promise checks in promises/, the
 * retry policy and the live attempts in `attempts.ts`, the waits in
 * `waits.ts`. What stays here is the order in which things happen.
 */
import { DeadlockError, ErrorCodes, TaskCancelledError, TrellisError, serializeError } from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import { encode } from "../events/codec.ts";
import { canonicalJson, inputsHash } from "../events/input-hash.ts";
import type { PromiseSpec, RunStatus, WaitEndReason } from "../events/types.ts";
import { isFinished } from "../events/types.ts";
import { checkSpawn, mergeLabels, missingCreationEdges, spawnDiff } from "../plan/diff.ts";
import { isUndefinedTag, outputOf, outputsOf, resolveInputs } from "../plan/outputs.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { nextOpenPlaceholder } from "../plan/plan.ts";
import { expandPreview } from "../preview/placeholders.ts";
import { declaredPromises, ownsDefinitionPromises, promiseProblem } from "../promises/declared.ts";
import { capsFor, validateDiff, violationError } from "../promises/validate.ts";
import {
  deadlockMessage,
  endStatus,
  isDeadlocked,
  rootFailure,
  stuckInstances,
  unfinishedCount,
} from "../scheduler/deadlock.ts";
import { deadProducer, isReady, resumePoints } from "../scheduler/readiness.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import type { AnyTask } from "../task/define.ts";
import type { LiveTask } from "./attempts.ts";
import { Attempts, processExitError, retryDelay } from "./attempts.ts";
import { CacheWarnings } from "./cache/results-cache.ts";
import { Committer } from "./committer.ts";
import { attemptsInFlight, trustedResult } from "./collected.ts";
import type {
  CollectedResult,
  EngineLink,
  Rehosting,
  SpawnRequest,
  TaskOutcome,
  TaskRef,
  WaitOutcome,
} from "./executor.ts";
import type { EngineOptions, EngineResult, ResumeEntry, ResumeFrom } from "./engine-types.ts";
import { StepLoop } from "./step-loop.ts";
import type { WaitRecord } from "./waits.ts";
import { Waits, failedChildError, newWaitRecord, waitAbortedError, waitTimeoutError } from "./waits.ts";

export class Engine implements EngineLink {
  readonly plan: Plan;
  readonly #o: EngineOptions;
  readonly #log: Committer;
  readonly #scheduler: Scheduler<PlanNode | ResumeEntry>;
  readonly #attempts = new Attempts();
  readonly #waits = new Waits();
  #pid = 0;
  readonly #loop = new StepLoop(
    () => this.#step(),
    () => this.#tick(),
  );
  #ending: RunStatus | null = null;
  /** The run is over but for results-cache writes in progress. */
  #awaitingWrites = false;
  #error: SerializedError | null = null;
  #startedAt = 0;
  /** True when this engine continues a run from its log (`resume`). */
  #resumed = false;
  #resolve!: (r: EngineResult) => void;
  readonly #done: Promise<EngineResult>;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#log = new Committer(options.runId, options.sink, options.observers, options.now, options.from);
    this.plan = this.#log.plan;
    this.#scheduler = new Scheduler<PlanNode | ResumeEntry>(Math.max(1, options.executor.concurrency), (id) =>
      capsFor(this.plan, id),
    );
    this.#done = new Promise((resolve) => void (this.#resolve = resolve));
  }

  /**
   * Starts the run from `root` and resolves when it ended. `modules` go to
   * the executor's workers; `recorded` (the modules that define the run's
   * tasks) is written in `run.started`, so `trellis resume` can load them.
   */
  async start(
    root: AnyTask,
    inputs: unknown,
    modules: readonly string[],
    recorded: readonly string[] = modules,
  ): Promise<EngineResult> {
    this.#startedAt = performance.now();
    let encoded: Json;
    try {
      encoded = encode(inputs, { strict: true, role: "inputs", label: `inputs of ${root.name}` });
    } catch (error) {
      this.#commitStarted(root, null, recorded);
      return this.#fail(error);
    }
    this.#commitStarted(root, encoded, recorded);
    if (!(await this.#startExecutor(modules))) return this.#done;
    this.#create(null, root.name, root, encoded, [], root.labels, null, null, inputsHash(encoded));
    this.#loop.pump();
    return this.#done;
  }

  /**
   * Continues the run whose log was folded into `options.from`, in the same
   * log: commits `run.resumed` (whose fold makes the instances that were
   * running or waiting pending again), then schedules every pending instance
   * whose producers are done. Succeeded instances keep their output and do
   * not run; the root runs again when it did not finish, and each spawn it
   * repeats re-attaches to the logged child (`checkSpawn`).
   * `rootInputs` (encoded, from `run.started`) create the root when the log
   * ended before it was.
   */
  async resume(root: AnyTask, rootInputs: Json, modules: readonly string[], from: ResumeFrom): Promise<EngineResult> {
    this.#startedAt = performance.now();
    this.#resumed = true;
    for (const p of this.plan.promises) this.#pid = Math.max(this.#pid, p.pid);
    const options = {
      executor: this.#o.executor.kind,
      workers: this.#o.executor.workers,
      onViolation: this.#o.onViolation,
    };
    const inFlight = attemptsInFlight(this.plan);
    this.#log.commit("run.resumed", {
      fromSeq: this.plan.seq,
      droppedBytes: from.droppedBytes,
      retryFailed: from.retryFailed,
      options,
    });
    if (!(await this.#startExecutor(modules))) return this.#done;
    if (!this.plan.nodes.has(root.name))
      this.#create(null, root.name, root, rootInputs, [], root.labels, null, null, inputsHash(rootInputs));
    else this.#completeLastCreation();
    if (inFlight.size > 0 && this.#o.executor.collect) {
      let found: readonly CollectedResult[];
      try {
        found = await this.#o.executor.collect(this.#o.runId, inFlight);
      } catch (error) {
        return this.#fail(error);
      }
      if (this.#ending !== null) return this.#done;
      for (const r of found) if (trustedResult(this.plan, inFlight, r)) this.#collected(r);
    }
    const { ready, doomed } = resumePoints(this.plan);
    for (const d of doomed) this.#settle(d.node, "skipped", `producer ${d.producer.id} ${d.producer.status}`);
    for (const node of ready) this.#scheduler.push(node);
    this.#loop.pump();
    return this.#done;
  }

  /** An attempt of the dead engine that succeeded meanwhile (see `collected.ts`): its success is recorded, it does not run again. */
  #collected(r: CollectedResult): void {
    const node = this.plan.nodes.get(r.id) as PlanNode;
    if (r.worker !== null) this.#log.commit("task.placed", { id: r.id, attempt: r.attempt, worker: r.worker });
    if (r.outcome.ok) this.#settle(node, "succeeded", undefined, node.emitted ? outputOf(node) : r.outcome.output);
  }

  /** Commits what the crash cut off after the last `task.created`: its edges and its preview (see `missingCreationEdges`). */
  #completeLastCreation(): void {
    let last: PlanNode | undefined;
    for (const node of this.plan.nodes.values()) last = node;
    if (last === undefined) return;
    for (const edge of missingCreationEdges(this.plan, last)) this.#log.commit("edge.created", edge);
    const def = this.#o.registry.get(last.task);
    if (def && def.calls.length > 0 && !this.plan.placeholderChildren.has(last.id)) {
      const preview = expandPreview(def, last.id);
      this.#log.commit("preview.materialized", {
        owner: last.id,
        placeholders: preview.placeholders,
        edges: preview.edges,
      });
    }
  }

  /** Starts the executor and listens to the run's signal; false when the run already ended (it failed to start, or was cancelled). */
  async #startExecutor(modules: readonly string[]): Promise<boolean> {
    const o = this.#o;
    // Ahead of the log's own exit handler, which then writes what this one commits.
    process.prependListener("exit", this.#onProcessExit);
    process.on("uncaughtExceptionMonitor", this.#onUncaught);
    try {
      await o.executor.start(this, modules);
    } catch (error) {
      void this.#fail(error);
      return false;
    }
    if (o.signal) {
      if (o.signal.aborted) this.#stopAll("cancelled", "the run was cancelled before it started");
      else
        o.signal.addEventListener("abort", () => this.#stopAll("cancelled", "the run was cancelled"), { once: true });
    }
    return this.#ending === null;
  }

  #fail(error: unknown): Promise<EngineResult> {
    this.#error = serializeError(error);
    this.#finish("failed");
    return this.#done;
  }

  #commitStarted(root: AnyTask, inputs: Json, modules: readonly string[]): void {
    const options = {
      executor: this.#o.executor.kind,
      workers: this.#o.executor.workers,
      onViolation: this.#o.onViolation,
    };
    this.#log.commit("run.started", { root: root.name, task: root.name, inputs, options, modules: [...modules] });
  }

  /** Adds an instance (already validated) with its edges and preview, and queues it when ready. */
  #create(
    parent: PlanNode | null,
    id: string,
    def: AnyTask,
    inputs: Json,
    producers: readonly string[],
    labels: readonly string[],
    priority: number | null,
    placeholder: string | null,
    hash: string,
  ): void {
    const data = {
      id,
      task: def.name,
      parent: parent ? parent.id : null,
      labels: labels as string[],
      inputs,
      placeholder,
      priority: priority ?? def.priority,
      inputsHash: hash,
    };
    this.#log.commit("task.created", data);
    if (parent) this.#log.commit("edge.created", { from: parent.id, to: id, kind: "lineage" });
    for (let i = 0; i < producers.length; i++)
      this.#log.commit("edge.created", { from: producers[i] as string, to: id, kind: "data" });
    if (def.calls.length > 0) {
      const preview = expandPreview(def, id);
      this.#log.commit("preview.materialized", { owner: id, placeholders: preview.placeholders, edges: preview.edges });
    }
    const node = this.plan.nodes.get(id) as PlanNode;
    if (producers.length > 0) {
      const dead = deadProducer(this.plan, producers);
      if (dead) return this.#settle(node, "skipped", `producer ${dead.id} ${dead.status}`);
      if (node.producersLeft > 0) return; // the fold counts them down; #available queues it
    }
    this.#scheduler.push(node);
  }

  spawn(ref: TaskRef, req: SpawnRequest): void {
    const live = this.#current(ref);
    if (!live) return;
    const parent = live.node;
    const hash = inputsHash(req.inputs);
    const def = checkSpawn(
      this.plan,
      this.#o.registry,
      ref.id,
      ref.attempt,
      { id: req.id, task: req.task, producers: req.producers, inputsHash: hash },
      live.replays > 0,
    );
    if (def === "repeat") return; // a retried, replayed or resumed attempt spawns the same ids again: keep the earlier child
    if (def instanceof TrellisError) return this.#deferError(live, def);
    const labels = mergeLabels(def.labels, req.labels);
    const placeholder = nextOpenPlaceholder(this.plan, parent.id, def.name)?.id ?? null;
    // No promise anywhere in the run: nothing to validate, skip building the diff.
    if (this.plan.promises.length > 0) {
      const diff = spawnDiff(this.plan, parent, {
        id: req.id,
        task: def.name,
        producers: req.producers,
        labels,
        placeholder,
      });
      const violation = validateDiff(this.plan, diff);
      if (violation) {
        const { promise: p, details } = violation;
        this.#log.commit("promise.violated", {
          pid: p.pid,
          promise: p.spec.kind,
          spec: p.spec,
          owner: p.owner,
          by: ref.id,
          diff,
          details,
          policy: this.#o.onViolation,
        });
        const error = violationError(violation, ref.id, req.task);
        if (this.#o.onViolation !== "halt") return this.#deferError(live, error);
        this.#error = serializeError(error);
        return this.#stopAll("halted", `halted: ${p.spec.kind} of ${p.owner} was broken by ${ref.id}`);
      }
    }
    this.#create(parent, req.id, def, req.inputs, req.producers, labels, req.priority, placeholder, hash);
    this.#loop.pump();
  }

  promise(ref: TaskRef, promises: readonly PromiseSpec[]): void {
    const live = this.#current(ref);
    if (!live) return;
    for (const spec of promises) {
      // A re-executed attempt (a retry, a resumed run) declares again what an earlier one did: those stay in force once.
      if (ref.attempt > 1 && this.#declaredBefore(ref.id, spec)) continue;
      this.#declareChecked(live, "context", spec);
    }
    this.#loop.pump();
  }

  #declaredBefore(owner: string, spec: PromiseSpec): boolean {
    const own = this.plan.promisesByOwner.get(owner);
    if (own === undefined) return false;
    const text = canonicalJson(spec as unknown as Json);
    return own.some((p) => p.source === "context" && canonicalJson(p.spec as unknown as Json) === text);
  }

  /** Commits a promise, or keeps its error for the task. A MaxParallelism also counts the instances in its scope running now. */
  #declareChecked(live: LiveTask, source: "definition" | "context" | "static", spec: PromiseSpec): void {
    const error = promiseProblem(spec, (name) => this.#o.registry.has(name));
    if (error) return this.#deferError(live, error);
    this.#log.commit("promise.declared", { pid: ++this.#pid, owner: live.node.id, source, promise: spec });
    if (spec.kind !== "MaxParallelism") return;
    for (const [id] of this.#attempts.holdingSlots()) this.#scheduler.adopt(id, capsFor(this.plan, id));
  }

  /** Keeps an error for the task's next wait (or its end): how `reject` reaches a task in a worker. */
  #deferError(live: LiveTask, error: unknown): void {
    (live.errors ??= []).push(serializeError(error));
  }

  placed(ref: TaskRef, worker: string): void {
    if (!this.#current(ref)) return;
    this.#log.commit("task.placed", { id: ref.id, attempt: ref.attempt, worker });
    this.#loop.pump(); // a tick: the log and the observers get it even if the run goes quiet now (a long task)
  }

  log(ref: TaskRef, message: string, fields: Json): void {
    if (!this.#current(ref)) return;
    this.#log.commit("task.log", { id: ref.id, message, fields });
    this.#loop.pump();
  }

  emit(ref: TaskRef, output: Json): void {
    const live = this.#current(ref);
    if (!live) return;
    const node = this.plan.nodes.get(ref.id) as PlanNode;
    if (node.emitted) {
      // A replay emits what its lost execution emitted: not a second value.
      if (live.replays === 0)
        this.#log.commit("task.warning", {
          id: ref.id,
          code: "EMIT_TWICE",
          message: `${ref.id} called emit() again; only the first value is kept`,
        });
      return;
    }
    this.#log.commit("task.emitted", { id: ref.id, output });
    this.#available(node);
    this.#loop.pump();
  }

  wait(ref: TaskRef, waitId: number, ids: readonly string[], timeoutMs: number | null): void {
    const live = this.#current(ref);
    if (!live) return;
    const executor = this.#o.executor;
    const pendingError = live.errors?.shift();
    if (pendingError) return executor.resume(ref, waitId, { ok: false, error: pendingError });
    const record = newWaitRecord(ref.id, ref.attempt, waitId);
    const waitingOn = this.#waits.register(this.plan, record, ids);
    if (!Array.isArray(waitingOn)) return executor.resume(ref, waitId, { ok: false, error: waitingOn });
    if (record.remaining === 0) return executor.resume(ref, waitId, { ok: true, outputs: outputsOf(record.nodes) });
    if (timeoutMs !== null) {
      (live.timed ??= []).push(record);
      this.#waits.arm(record, timeoutMs, (r) => this.#waitTimedOut(r, timeoutMs));
    }
    if (live.holdsSlot) {
      live.holdsSlot = false;
      this.#scheduler.release(ref.id);
      this.#log.commit("task.waiting", { id: ref.id, on: waitingOn }, live.node);
    }
    this.#loop.pump();
  }

  #waitTimedOut(record: WaitRecord, timeoutMs: number): void {
    if (!record.done && this.#ending === null) this.#endWait(record, waitTimeoutError(record, timeoutMs), "timeout");
  }

  abortWait(ref: TaskRef, waitId: number): void {
    const record = this.#current(ref) ? this.#waits.find(ref.id, ref.attempt, waitId) : undefined;
    if (record) this.#endWait(record, waitAbortedError(record), "aborted"); // else answered already: the answer stands
  }

  /** Ends a wait before its instances finished (timeout, abort), with `error`. */
  #endWait(record: WaitRecord, error: SerializedError, reason: WaitEndReason): void {
    this.#waits.remove(record);
    this.#answerWait(record, { ok: false, error }, reason);
    this.#loop.pump();
  }

  /** Answers a wait, once: whichever of its instances, its timer or its signal comes first decides. */
  #answerWait(record: WaitRecord, outcome: WaitOutcome, reason: WaitEndReason): void {
    if (record.done) return;
    record.done = true;
    this.#waits.disarm(record);
    const live = this.#attempts.get(record.task);
    if (!live || live.attempt !== record.attempt) return;
    if (live.holdsSlot)
      return this.#o.executor.resume({ id: record.task, attempt: record.attempt }, record.waitId, outcome);
    (live.answered ??= []).push({ waitId: record.waitId, outcome, reason });
    if (!live.resumeQueued) {
      live.resumeQueued = true;
      const node = live.node;
      this.#scheduler.push({ id: node.id, priority: node.priority, order: node.order, resume: true });
    }
  }

  /** `node`'s output became available (it succeeded or emitted; the fold counted its consumers down). */
  #available(node: PlanNode): void {
    const consumers = this.plan.consumers.get(node.id);
    if (consumers)
      for (const c of consumers) {
        const consumer = this.plan.nodes.get(c) as PlanNode;
        if (isReady(consumer)) this.#scheduler.push(consumer); // node was its last producer without an output
      }
    const records = this.#waits.take(node);
    if (records === undefined) return;
    if (Array.isArray(records)) for (const r of records) this.#oneLess(r);
    else this.#oneLess(records);
  }

  /** One instance `r` waits on became available: answer the wait when it was the last. */
  #oneLess(r: WaitRecord): void {
    if (r.done) return;
    if (--r.remaining <= 0) this.#answerWait(r, { ok: true, outputs: outputsOf(r.nodes) }, "completed");
  }

  /** `node` finished without an output: its consumers are skipped and its waiters fail. */
  #dead(node: PlanNode): void {
    const consumers = this.plan.consumers.get(node.id);
    if (consumers)
      for (const c of consumers)
        this.#settle(this.plan.nodes.get(c) as PlanNode, "skipped", `producer ${node.id} ${node.status}`);
    const records = this.#waits.take(node);
    if (records === undefined) return;
    const outcome: WaitOutcome = { ok: false, error: failedChildError(node) };
    if (Array.isArray(records)) for (const r of records) this.#answerWait(r, outcome, "failed");
    else this.#answerWait(records, outcome, "failed");
  }

  #current(ref: TaskRef): LiveTask | undefined {
    const live = this.#attempts.get(ref.id);
    return live && live.attempt === ref.attempt && this.#ending === null ? live : undefined;
  }

  /** Once per event-loop turn: the log is flushed and the observers see the plan. */
  #tick(): void {
    if (this.#ending !== null) return;
    if (this.#o.sink.tick) this.#o.sink.tick();
    else this.#o.sink.flush();
    for (const ob of this.#o.observers) ob.onStep?.(this.plan);
  }

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
    if (node.status !== "pending") return this.#scheduler.release(id);
    const def = this.#o.registry.require(node.task);
    const attempt = node.attempt + 1;
    const inputs = resolveInputs(this.plan, node);
    const cache = this.#o.cache;
    if (cache !== null && cache.covers(def)) {
      const found = cache.lookup(id, def, inputs);
      if (found.found) {
        this.#scheduler.release(id);
        return this.#settleCached(node, found.key, found.output);
      }
      if (found.problem !== null)
        this.#log.commit("task.warning", {
          id,
          code: CacheWarnings.UNREADABLE,
          message: `${found.problem}; ${id} runs as on a miss`,
        });
    }
    this.#log.commit("task.started", { id, attempt }, node);
    const live = this.#attempts.start(node, attempt);
    // A definition's promises come into force with its first attempt; a resumed run whose log lost them (cut before they were written) declares them again.
    if (
      (def.promises.length > 0 || def.static) &&
      (attempt === 1 || (this.#resumed && !ownsDefinitionPromises(this.plan, id)))
    )
      for (const { spec, source } of declaredPromises(def)) this.#declareChecked(live, source, spec);
    if (def.timeoutMs !== undefined) this.#attempts.armTimeout(live, def.timeoutMs, this.#attemptTimedOut);
    this.#o.executor.run({ id, attempt, runId: this.#o.runId, task: node.task, inputs });
  }

  readonly #attemptTimedOut = (live: LiveTask, error: SerializedError): void => {
    if (this.#ending !== null) return;
    const ref = { id: live.node.id, attempt: live.attempt };
    this.#o.executor.abort(ref, error);
    this.finished(ref, { ok: false, error });
  };

  #resumeTask(id: string): void {
    const live = this.#attempts.get(id);
    if (!live) return this.#scheduler.release(id);
    live.holdsSlot = true;
    live.resumeQueued = false;
    if (live.rehost !== null) return this.#replay(live);
    const answered = live.answered ?? [];
    this.#log.commit("task.resumed", { id, reason: answered[0]?.reason ?? "completed" }, live.node);
    const ref = { id, attempt: live.attempt };
    live.answered = null;
    for (const a of answered) this.#o.executor.resume(ref, a.waitId, a.outcome);
  }

  /** Its worker died and it was not the culprit: drop what the lost execution had going and queue it to run again. */
  rehosted(ref: TaskRef, why: Rehosting): void {
    const live = this.#current(ref);
    if (!live) return;
    const id = ref.id;
    // Nothing will read the lost execution's waits; the replay waits anew (its wait ids start again at 1).
    this.#waits.close(id);
    if (live.timed !== null) for (const r of live.timed) this.#waits.disarm(r);
    live.timed = null;
    live.answered = null;
    live.errors = null; // refused spawns are refused again when the replay repeats them
    live.rehost = why;
    if (live.holdsSlot) {
      live.holdsSlot = false;
      this.#scheduler.release(id);
    }
    if (!live.resumeQueued) {
      live.resumeQueued = true;
      const node = live.node;
      this.#scheduler.push({ id, priority: node.priority, order: node.order, resume: true });
    }
    this.#loop.pump();
  }

  /** Runs the same attempt again from the start (it holds a slot again): its spawns re-attach, its waits are asked again. */
  #replay(live: LiveTask): void {
    const node = live.node;
    const why = live.rehost as Rehosting;
    live.rehost = null;
    live.replays++;
    this.#log.commit(
      "task.rehosted",
      { id: node.id, attempt: live.attempt, worker: why.worker, reason: why.reason, isolated: why.isolated },
      node,
    );
    this.#o.executor.run({
      id: node.id,
      attempt: live.attempt,
      runId: this.#o.runId,
      task: node.task,
      inputs: resolveInputs(this.plan, node),
    });
  }

  finished(ref: TaskRef, outcome: TaskOutcome): void {
    const live = this.#current(ref);
    if (!live) return;
    const node = live.node;
    if (outcome.ok && live.errors && live.errors.length > 0)
      outcome = { ok: false, error: live.errors[0] as SerializedError };
    if (outcome.ok && node.emitted && !isUndefinedTag(outcome.output)) {
      const message = `${ref.id} returned a value after emit(); the emitted value is its output and the return value is ignored`;
      this.#log.commit("task.warning", { id: ref.id, code: "RETURN_AFTER_EMIT", message });
    }
    // After an emit, the emitted value is the output the log records, not the return value.
    if (outcome.ok) {
      this.#settle(node, "succeeded", undefined, node.emitted ? outputOf(node) : outcome.output);
      this.#storeCached(node);
    } else {
      const delayMs = retryDelay(this.#o.registry.get(node.task), live.attempt, outcome.error);
      if (delayMs !== null) this.#retry(node, live, outcome.error, delayMs);
      else this.#settle(node, "failed", undefined, undefined, outcome.error);
    }
    this.#loop.pump();
  }

  #retry(node: PlanNode, live: LiveTask, error: SerializedError, delayMs: number): void {
    this.#endAttempt(node.id, live);
    this.#log.commit("task.retrying", { id: node.id, attempt: live.attempt + 1, delayMs, error }, node);
    this.#attempts.retryAfter(delayMs, () => {
      if (this.#ending !== null || node.status !== "pending") return;
      this.#scheduler.push(node);
      this.#loop.pump();
    });
  }

  #endAttempt(id: string, live: LiveTask): void {
    this.#attempts.end(id, live);
    if (live.timed !== null) for (const r of live.timed) this.#waits.disarm(r);
    if (live.holdsSlot) this.#scheduler.release(id);
    live.holdsSlot = false;
  }

  /** Moves an instance to a finished status, with everything that follows from it. */
  #settle(
    node: PlanNode,
    status: "succeeded" | "failed" | "skipped" | "cancelled",
    reason?: string,
    output?: Json,
    error?: SerializedError,
  ): void {
    if (isFinished(node.status)) return;
    const id = node.id;
    const live = this.#attempts.get(id);
    if (live) this.#endAttempt(id, live);
    const emittedBefore = node.emitted;
    if (status === "succeeded") this.#log.commit("task.succeeded", { id, output: output ?? null }, node);
    else if (status === "failed")
      this.#log.commit(
        "task.failed",
        { id, attempt: node.attempt, error: error ?? serializeError(new Error("unknown failure")) },
        node,
      );
    else if (status === "skipped")
      this.#log.commit("task.skipped", { id, because: reason ?? "a producer did not succeed" }, node);
    else this.#log.commit("task.cancelled", { id, reason: reason ?? "cancelled" }, node);
    this.#settled(node, status === "succeeded", emittedBefore);
  }

  /** A pending instance succeeds without running: its output was in the results cache under `key`. */
  #settleCached(node: PlanNode, key: string, output: Json): void {
    this.#log.commit("task.cached", { id: node.id, key, output }, node);
    this.#settled(node, true, false);
  }

  /** What follows an instance's end: its open placeholders are pruned, its consumers and waiters told. */
  #settled(node: PlanNode, succeeded: boolean, emittedBefore: boolean): void {
    if (this.plan.placeholderChildren.size > 0) {
      const open = (this.plan.placeholderChildren.get(node.id) ?? []).filter(
        (p) => this.plan.placeholders.get(p)?.state === "open",
      );
      if (open.length > 0) this.#log.commit("preview.pruned", { owner: node.id, placeholders: open });
    }
    if (emittedBefore) return;
    if (succeeded) this.#available(node);
    else this.#dead(node);
  }

  /** Stores the output of an instance that ran after a cache miss, unless it spawned children (see `cache/results-cache.ts`). */
  #storeCached(node: PlanNode): void {
    const cache = this.#o.cache;
    if (cache === null) return;
    const key = cache.takeKey(node.id);
    if (key === undefined || node.status !== "succeeded") return;
    if (node.children.length > 0) {
      if (this.#o.registry.get(node.task)?.cache === true) {
        const message = `${node.id} spawned children, so its output is not cached (its key does not cover their code); it runs again next time and its children use the cache on their own`;
        this.#log.commit("task.warning", { id: node.id, code: CacheWarnings.NOT_STORED, message });
      }
      return;
    }
    cache.save(key, node.task, outputOf(node), (message) => {
      // A run halted or cancelled meanwhile has its last event already: the failed write goes unreported.
      if (this.#ending === null) this.#log.commit("task.warning", { id: node.id, code: CacheWarnings.WRITE, message });
    });
  }

  /** Halt (a broken promise) or cancel: every unfinished instance is cancelled. */
  #stopAll(status: "halted" | "cancelled", reason: string): void {
    if (this.#ending !== null) return;
    this.#scheduler.drain();
    this.#attempts.cancelRetries();
    // The reason of every cancelled task's ctx.signal (what signal.throwIfAborted() throws).
    const cancelled = serializeError(new TaskCancelledError(ErrorCodes.TASK_CANCELLED, reason));
    for (const node of [...this.plan.nodes.values()]) {
      if (isFinished(node.status)) continue;
      const live = this.#attempts.get(node.id);
      if (live) this.#o.executor.abort({ id: node.id, attempt: live.attempt }, cancelled);
      this.#settle(node, "cancelled", reason);
    }
    if (status === "cancelled" && this.#error === null) this.#error = cancelled;
    this.#finish(status);
  }

  #checkEnd(): void {
    if (this.#ending !== null) return;
    const plan = this.plan;
    if (unfinishedCount(plan) === 0 && this.#attempts.pendingRetries === 0) {
      // The run ends once its results are in the cache: a failed write is reported before run.finished.
      const cache = this.#o.cache;
      if (cache !== null && cache.writing > 0) {
        if (!this.#awaitingWrites) {
          this.#awaitingWrites = true;
          void cache.whenWritten().then(() => {
            this.#awaitingWrites = false;
            this.#loop.pump();
          });
        }
        return;
      }
      const status = endStatus(plan);
      if (status === "failed") this.#error ??= rootFailure(plan);
      return this.#finish(status);
    }
    const s = this.#scheduler;
    // An armed wait timer will wake its task: not a deadlock (yet).
    const activity = {
      running: s.running,
      queued: s.queued,
      retries: this.#attempts.pendingRetries,
      armedWaits: this.#waits.armed,
    };
    if (isDeadlocked(plan, activity)) this.#deadlock();
  }

  /** Nothing runs and nothing can start: report who waits on what and fail them. */
  #deadlock(): void {
    const instances = stuckInstances(this.plan);
    const message = deadlockMessage(instances);
    this.#log.commit("run.deadlock", { instances, message });
    const error = serializeError(
      new DeadlockError(ErrorCodes.DEADLOCK, message, { instances: instances.map((i) => i.id) }),
    );
    this.#error = error;
    const stuck = instances.map((i) => this.plan.nodes.get(i.id) as PlanNode);
    for (const n of stuck) {
      if (n.status !== "waiting") continue;
      const live = this.#attempts.get(n.id);
      if (live) {
        const ref = { id: n.id, attempt: live.attempt };
        for (const waitId of this.#waits.close(n.id)) this.#o.executor.resume(ref, waitId, { ok: false, error });
        this.#o.executor.abort(ref, error);
      }
      this.#settle(n, "failed", undefined, undefined, error);
    }
    for (const n of stuck) if (!isFinished(n.status)) this.#settle(n, "skipped", "deadlock");
    this.#finish("failed");
  }

  /**
   * The process exits while the run is active (a task called `process.exit`
   * on the inline executor): the task that did it fails and the run ends in
   * the log, synchronously, before the process is gone.
   */
  readonly #onProcessExit = (code: number): void => {
    if (this.#ending !== null) return;
    const running = this.#o.executor.executing?.() ?? [];
    const live = running.length === 1 ? this.#current(running[0] as TaskRef) : undefined;
    const error = processExitError(
      code,
      live?.node.id ?? null,
      running.map((r) => r.id),
      this.#uncaught,
    );
    if (live) this.#settle(live.node, "failed", undefined, undefined, error);
    this.#error = error;
    this.#finish("failed");
  };

  /** An error nobody caught is about to end the process (unless a handler of the program keeps it alive: then it is forgotten next turn). */
  #uncaught: SerializedError | null = null;
  readonly #onUncaught = (error: unknown): void => {
    this.#uncaught = serializeError(error);
    setImmediate(() => (this.#uncaught = null)).unref();
  };

  #finish(status: RunStatus): void {
    if (this.#ending !== null) return;
    process.off("exit", this.#onProcessExit);
    process.off("uncaughtExceptionMonitor", this.#onUncaught);
    this.#ending = status;
    this.#waits.disarmAll();
    const root = this.plan.root ? this.plan.nodes.get(this.plan.root) : undefined;
    const output = status === "succeeded" && root?.output !== undefined ? root.output : null;
    const durationMs = performance.now() - this.#startedAt;
    const error = status === "succeeded" ? null : this.#error;
    const { counts, violations } = this.plan;
    this.#log.commit("run.finished", {
      status,
      output,
      counts: { ...counts },
      durationMs: Math.round(durationMs * 1000) / 1000,
      violations,
      error,
    });
    this.#o.sink.flush();
    this.#resolve({ status, output, error, plan: this.plan, durationMs });
  }
}
