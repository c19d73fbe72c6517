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
 * `waits.ts`. What follows from them is done by the modules the engine is
 * made of, over the run's parts (`run-parts.ts`): an instance's end and a
 * wait's answer (`outcomes.ts`), the plan's growth (`creation.ts`), declared
 * promises (`declarations.ts`), re-hosted attempts (`rehosting.ts`), the
 * results cache (`cache/cache-steps.ts`), a deadlock, halt or cancel
 * (`run-end.ts`), a resumed run's start (`resume-entry.ts`) and a process that
 * exits under the run (`process-faults.ts`). What stays here is the order in
 * which things happen.
 */
import { serializeError } from "../errors.ts";
import type { SerializedError } from "../errors.ts";
import type { Json } from "../events/codec.ts";
import { encode } from "../events/codec.ts";
import { inputsHash } from "../events/input-hash.ts";
import type { PromiseSpec, RunStatus, WaitEndReason } from "../events/types.ts";
import { isUndefinedTag, outputOf, outputsOf, resolveInputs } from "../plan/outputs.ts";
import type { Plan, PlanNode } from "../plan/plan.ts";
import { capsFor } from "../promises/validate.ts";
import { endStatus, isDeadlocked, rootFailure, unfinishedCount } from "../scheduler/deadlock.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import type { AnyTask } from "../task/define.ts";
import type { LiveTask } from "./attempts.ts";
import { Attempts, retryDelay } from "./attempts.ts";
import { CacheSteps } from "./cache/cache-steps.ts";
import { Committer } from "./committer.ts";
import { Creation } from "./creation.ts";
import { Declarations } from "./declarations.ts";
import { attemptsInFlight } from "./collected.ts";
import type { CollectedResult, EngineLink, Rehosting, SpawnRequest, TaskOutcome, TaskRef } from "./executor.ts";
import type { EngineOptions, EngineResult, ResumeEntry, ResumeFrom } from "./engine-types.ts";
import { loggedOptions } from "./engine-types.ts";
import { Outcomes } from "./outcomes.ts";
import { ProcessFaults } from "./process-faults.ts";
import { rehost, replay } from "./rehosting.ts";
import { commitResumed, queueResumePoints, recordCollected, restoreCreation } from "./resume-entry.ts";
import { cancelUnfinished, failDeadlocked } from "./run-end.ts";
import type { RunParts } from "./run-parts.ts";
import { StepLoop } from "./step-loop.ts";
import type { WaitRecord } from "./waits.ts";
import { Waits, newWaitRecord, waitAbortedError, waitTimeoutError } from "./waits.ts";

export class Engine implements EngineLink {
  readonly plan: Plan;
  readonly #o: EngineOptions;
  readonly #log: Committer;
  readonly #scheduler: Scheduler<PlanNode | ResumeEntry>;
  readonly #attempts = new Attempts();
  readonly #waits = new Waits();
  /** The parts above, shared with the modules below. */
  readonly #run: RunParts;
  readonly #outcomes: Outcomes;
  readonly #creation: Creation;
  readonly #declarations: Declarations;
  /** The run's use of the results cache, or null when it uses none. */
  readonly #cache: CacheSteps | null;
  readonly #faults: ProcessFaults;
  readonly #loop = new StepLoop(
    () => this.#step(),
    () => this.#tick(),
  );
  #ending: RunStatus | null = null;
  #error: SerializedError | null = null;
  #startedAt = 0;
  #resolve!: (r: EngineResult) => void;
  readonly #done: Promise<EngineResult>;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#log = new Committer(options.runId, options.sink, options.observers, options.now, options.from);
    this.plan = this.#log.plan;
    this.#scheduler = new Scheduler<PlanNode | ResumeEntry>(Math.max(1, options.executor.concurrency), (id) =>
      capsFor(this.plan, id),
    );
    const run: RunParts = {
      plan: this.plan,
      log: this.#log,
      options,
      scheduler: this.#scheduler,
      attempts: this.#attempts,
      waits: this.#waits,
    };
    this.#run = run;
    this.#outcomes = new Outcomes(run);
    this.#creation = new Creation(run, this.#outcomes);
    this.#declarations = new Declarations(run);
    this.#cache =
      options.cache === null ? null : new CacheSteps(run, this.#outcomes, options.cache, () => this.#ending === null);
    this.#faults = new ProcessFaults(
      options.executor,
      (ref) => this.#current(ref) !== undefined,
      (culprit, error) => this.#processExited(culprit, error),
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
    this.#creation.create(null, root.name, root, encoded, [], root.labels, null, null, inputsHash(encoded));
    this.#loop.pump();
    return this.#done;
  }

  /**
   * Continues the run whose log was folded into `options.from`, in the same
   * log (see `resume-entry.ts`). Succeeded instances keep their output and do
   * not run; the root runs again when it did not finish, and each spawn it
   * repeats re-attaches to the logged child (`checkSpawn`).
   * `rootInputs` (encoded, from `run.started`) create the root when the log
   * ended before it was.
   */
  async resume(root: AnyTask, rootInputs: Json, modules: readonly string[], from: ResumeFrom): Promise<EngineResult> {
    this.#startedAt = performance.now();
    this.#declarations.continueFromLog();
    const inFlight = attemptsInFlight(this.plan); // before run.resumed makes them pending again
    commitResumed(this.#run, from);
    if (!(await this.#startExecutor(modules))) return this.#done;
    restoreCreation(this.#run, this.#creation, root, rootInputs);
    const executor = this.#o.executor;
    if (inFlight.size > 0 && executor.collect) {
      let found: readonly CollectedResult[];
      try {
        found = await executor.collect(this.#o.runId, inFlight);
      } catch (error) {
        return this.#fail(error);
      }
      if (this.#ending !== null) return this.#done;
      recordCollected(this.#run, this.#outcomes, inFlight, found);
    }
    queueResumePoints(this.#run, this.#outcomes);
    this.#loop.pump();
    return this.#done;
  }

  /** Starts the executor and listens to the run's signal; false when the run already ended (it failed to start, or was cancelled). */
  async #startExecutor(modules: readonly string[]): Promise<boolean> {
    const o = this.#o;
    this.#faults.watch();
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
    const options = loggedOptions(this.#o);
    this.#log.commit("run.started", { root: root.name, task: root.name, inputs, options, modules: [...modules] });
  }

  spawn(ref: TaskRef, req: SpawnRequest): void {
    const live = this.#current(ref);
    if (!live) return;
    const spawned = this.#creation.spawn(live, req);
    if (spawned === "none") return;
    if (spawned !== "created") {
      this.#error = serializeError(spawned.error);
      return this.#stopAll("halted", spawned.reason);
    }
    this.#loop.pump();
  }

  promise(ref: TaskRef, promises: readonly PromiseSpec[]): void {
    const live = this.#current(ref);
    if (!live) return;
    this.#declarations.declare(live, promises);
    this.#loop.pump();
  }

  placed(ref: TaskRef, worker: string): void {
    if (!this.#current(ref)) return;
    this.#log.commit("task.placed", { id: ref.id, attempt: ref.attempt, worker });
    this.#loop.pump(); // a tick: the log and the observers get it even if the run goes quiet now (a long task)
  }

  awaitingWorker(ref: TaskRef): void {
    const live = this.#current(ref);
    if (live) this.#attempts.disarmTimeout(live);
  }

  hosted(ref: TaskRef): void {
    const live = this.#current(ref);
    if (live) this.#armTimeout(live, this.#o.registry.require(live.node.task).timeoutMs);
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
    this.#outcomes.available(node);
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
    this.#outcomes.answerWait(record, { ok: false, error }, reason);
    this.#loop.pump();
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
    if (this.#cache !== null && this.#cache.hit(node, def, inputs)) return;
    this.#log.commit("task.started", { id, attempt }, node);
    const live = this.#attempts.start(node, attempt);
    this.#declarations.atStart(live, def);
    this.#armTimeout(live, def.timeoutMs);
    this.#o.executor.run({ id, attempt, runId: this.#o.runId, task: node.task, inputs });
  }

  /** Starts the attempt's `timeoutMs` (from now), when its task has one. */
  #armTimeout(live: LiveTask, timeoutMs: number | undefined): void {
    if (timeoutMs !== undefined) this.#attempts.armTimeout(live, timeoutMs, this.#attemptTimedOut);
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
    if (live.rehost !== null) return replay(this.#run, live);
    const answered = live.answered ?? [];
    this.#log.commit("task.resumed", { id, reason: answered[0]?.reason ?? "completed" }, live.node);
    const ref = { id, attempt: live.attempt };
    live.answered = null;
    for (const a of answered) this.#o.executor.resume(ref, a.waitId, a.outcome);
  }

  /** Its worker died and it was not the culprit: it runs again (see `rehosting.ts`). */
  rehosted(ref: TaskRef, why: Rehosting): void {
    const live = this.#current(ref);
    if (!live) return;
    rehost(this.#run, live, why);
    this.#loop.pump();
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
      this.#outcomes.settle(node, "succeeded", undefined, node.emitted ? outputOf(node) : outcome.output);
      this.#cache?.store(node);
    } else {
      const delayMs = retryDelay(this.#o.registry.get(node.task), live.attempt, outcome.error);
      if (delayMs !== null) this.#retry(node, live, outcome.error, delayMs);
      else this.#outcomes.settle(node, "failed", undefined, undefined, outcome.error);
    }
    this.#loop.pump();
  }

  #retry(node: PlanNode, live: LiveTask, error: SerializedError, delayMs: number): void {
    this.#outcomes.endAttempt(node.id, live);
    this.#log.commit("task.retrying", { id: node.id, attempt: live.attempt + 1, delayMs, error }, node);
    this.#attempts.retryAfter(delayMs, () => {
      if (this.#ending !== null || node.status !== "pending") return;
      this.#scheduler.push(node);
      this.#loop.pump();
    });
  }

  /** Halt (a broken promise) or cancel: every unfinished instance is cancelled. */
  #stopAll(status: "halted" | "cancelled", reason: string): void {
    if (this.#ending !== null) return;
    const cancelled = cancelUnfinished(this.#run, this.#outcomes, reason);
    if (status === "cancelled" && this.#error === null) this.#error = cancelled;
    this.#finish(status);
  }

  #checkEnd(): void {
    if (this.#ending !== null) return;
    const plan = this.plan;
    if (unfinishedCount(plan) === 0 && this.#attempts.pendingRetries === 0) {
      // The run ends once its results are in the cache: a failed write is reported before run.finished.
      if (this.#cache !== null && this.#cache.holdsEnd(() => this.#loop.pump())) return;
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
    if (isDeadlocked(plan, activity)) {
      this.#error = failDeadlocked(this.#run, this.#outcomes);
      this.#finish("failed");
    }
  }

  /**
   * The process exits while the run is active (a task called `process.exit`
   * on the inline executor): the task that did it fails and the run ends in
   * the log, synchronously, before the process is gone.
   */
  #processExited(culprit: TaskRef | null, error: SerializedError): void {
    if (this.#ending !== null) return;
    const live = culprit !== null ? this.#current(culprit) : undefined;
    if (live) this.#outcomes.settle(live.node, "failed", undefined, undefined, error);
    this.#error = error;
    this.#finish("failed");
  }

  #finish(status: RunStatus): void {
    if (this.#ending !== null) return;
    this.#faults.unwatch();
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
