/**
 * The worker pool shared by the `threads` and `processes` executors: it
 * starts the workers, gives each attempt to the least-busy worker, routes the
 * engine's answers to the worker that hosts the attempt, notices workers that
 * die or hang and replaces them. Of the attempts a dead worker hosted only
 * the culprit fails (`WORKER_CRASH`); the others run again elsewhere (see
 * `crash-verdict.ts` for who is which).
 *
 * A worker hosts any number of attempts: one suspended in `waitForAll` does
 * not count as busy, so a parent waiting on children never blocks them. The
 * transports (`threads/`, `processes/`) only start workers and move batches.
 *
 * The pool starts all its workers at once and begins as soon as one is
 * ready: a short run does not wait for the slowest worker to load, and an
 * attempt that finds every ready worker's slots taken waits for one still
 * loading rather than queue behind a busy one. A worker that cannot load
 * once the run began breaks the pool, as a replacement that cannot load does.
 */
import { availableParallelism } from "node:os";
import { ErrorCodes, TrellisError, serializeError } from "../../errors.ts";
import type { SerializedError } from "../../errors.ts";
import type { EngineLink, Executor, StartTask, TaskRef, WaitOutcome } from "../executor.ts";
import type { HostedAttempt } from "./crash-verdict.ts";
import { judgeDeath } from "./crash-verdict.ts";
import { Outbox, afterMicrotasks } from "./outbox.ts";
import type { AttemptRef, HostToWorker, WorkerBoot, WorkerToHost } from "./protocol.ts";
import { forwardCall, unreachable } from "./protocol.ts";
import type { WorkerLoss } from "./worker-errors.ts";
import { crashError, crashLimitError, describeLoss, loadError, loadLostError } from "./worker-errors.ts";

/** How a transport reports a worker that ended. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** The error the transport saw, e.g. a thread's `ERR_WORKER_OUT_OF_MEMORY`. */
  readonly error: SerializedError | null;
  /** The end of what the worker wrote to stderr, when the transport captures it. */
  readonly stderr: string;
}

/** One running worker, as its transport exposes it. */
export interface WorkerHandle {
  /** E.g. `thread 3` or `process 4242`, for messages. */
  readonly label: string;
  send(batch: readonly HostToWorker[]): void;
  /** Stops the worker now, whatever it is doing; resolves once it is gone. */
  terminate(): Promise<void>;
}

export interface WorkerEvents {
  message(batch: readonly WorkerToHost[]): void;
  /** Called once, when the worker is gone. */
  exit(exit: WorkerExit): void;
}

/** Starts workers of one kind. */
export interface Transport {
  readonly kind: "threads" | "processes";
  spawn(boot: WorkerBoot, events: WorkerEvents): WorkerHandle;
}

/** Options shared by the `threads` and `processes` executors. */
export interface PoolOptions {
  /** Workers to start (the run begins once one of them is ready). Default: available parallelism. */
  readonly workers?: number;
  /**
   * Scheduler slots per worker: how many attempts a worker is given before
   * the ones it runs finish. 1 matches CPU-bound tasks (a task marked running
   * really runs); more lets the pool pipeline small or I/O-bound tasks.
   * Default `"auto"`: 1, and {@link AUTO_SLOTS} while the attempts the
   * workers run take under {@link SHORT_RUN_MS} on average (then the round
   * trip to the worker, not the task, is what limits throughput).
   */
  readonly slotsPerWorker?: number | "auto";
  /** Heap limit of each worker in MB (threads: `resourceLimits`; processes: `--max-old-space-size`). Default: Node's. */
  readonly maxOldGenerationSizeMb?: number;
  /** After an abort, how long a worker has to answer a ping before it is deemed stuck and replaced. Default 1000 ms. */
  readonly abortGraceMs?: number;
  /** How long `close()` lets workers finish their abort handlers before stopping them. Default 200 ms. */
  readonly closeGraceMs?: number;
  /** How long a worker may take to import the task modules. Default 60 000 ms. */
  readonly loadTimeoutMs?: number;
  /**
   * A task that has been on this many workers that died, as their culprit or
   * as a suspect, fails with `WORKER_CRASH` and is not run again (Dask's
   * `allowed-failures`). Default 3.
   */
  readonly maxWorkerCrashes?: number;
}

/** Slots per worker while `"auto"` pipelines short attempts. */
export const AUTO_SLOTS = 64;
/** `"auto"` pipelines while the moving average of attempt run times is under this. */
export const SHORT_RUN_MS = 1;
/**
 * Messages of a worker handled in one go before the rest waits for the next
 * turn: a parent's batch of 100,000 spawns would otherwise keep the engine
 * from starting any of them until the last is planned.
 */
const INBOX_CHUNK = 1024;
/** Weight of the newest run time in that moving average. */
const RUN_MS_WEIGHT = 1 / 8;
/** Largest run time one sample counts for in that average, ms. */
const RUN_MS_CAP = 4 * SHORT_RUN_MS;

interface PoolWorker {
  readonly handle: WorkerHandle;
  readonly out: Outbox<HostToWorker>;
  state: "loading" | "ready" | "gone";
  /** Batches received and not yet handled, and the next message of the first. */
  inbox: (readonly WorkerToHost[])[];
  inboxAt: number;
  /** The rest of the inbox is handled in a later turn. */
  inboxScheduled: boolean;
  /** Attempts that neither wait nor were aborted: what "least busy" compares. */
  busy: number;
  /** An attempt that must run alone (a crash suspect): no other attempt is placed here while it is busy. */
  isolated: Attempt | null;
  /** The attempt that said it ends the worker (its `process.exit`, its uncaught error). */
  culprit: AttemptRef | null;
  /** Aborted attempts a newer attempt of the same id replaced in the pool's map, until they finish: they may still be executing. */
  stale: Set<Attempt> | null;
  ping: { readonly seq: number; readonly timer: ReturnType<typeof setTimeout> } | null;
  readonly loaded: Promise<void>;
  readonly gone: Promise<void>;
}

/**
 * One attempt the pool placed (it is its own {@link TaskRef}). The map of
 * attempts is keyed by instance id: a newer attempt of the same id replaces a
 * stale (aborted) one, and every lookup checks the attempt number.
 */
interface Attempt extends TaskRef {
  readonly worker: PoolWorker;
  waits: number;
  aborted: boolean;
  live: boolean;
  counted: boolean;
}

function positive(option: string, value: number | undefined, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value)))
    throw new TrellisError(
      ErrorCodes.INVALID_OPTION,
      `executor option \`${option}\` must be a positive ${integer ? "integer" : "number"}, got ${String(value)}`,
      {
        option,
      },
    );
  return value;
}

export class PoolExecutor implements Executor {
  readonly kind: "threads" | "processes";
  /** Workers the pool keeps running. */
  readonly workers: number;
  /** A fixed `slotsPerWorker`, or null for `"auto"`. */
  readonly #fixedSlots: number | null;
  /** Moving average of how long attempts ran in the workers (attempts that waited on others excluded). */
  #runMsAverage = Number.POSITIVE_INFINITY;
  readonly #transport: Transport;
  readonly #abortGraceMs: number;
  readonly #closeGraceMs: number;
  readonly #loadTimeoutMs: number;
  readonly #maxWorkerCrashes: number;
  /** Dying workers each task (by id) has been the culprit or a suspect of. */
  readonly #crashes = new Map<string, number>();
  #link: EngineLink | undefined;
  #modules: readonly string[] = [];
  #workers: PoolWorker[] = [];
  readonly #attempts = new Map<string, Attempt>();
  /** Attempts waiting for a worker (every slot taken while workers load, or workers suspected stuck). */
  #pending: StartTask[] = [];
  #pingSeq = 0;
  #started = false;
  #closing = false;
  /** Set when a replacement worker could not load: every later attempt fails with it. */
  #broken: SerializedError | null = null;

  constructor(transport: Transport, options: PoolOptions = {}) {
    this.kind = transport.kind;
    this.#transport = transport;
    this.workers = positive("workers", options.workers, Math.max(1, availableParallelism()), true);
    const slots = options.slotsPerWorker;
    this.#fixedSlots = slots === undefined || slots === "auto" ? null : positive("slotsPerWorker", slots, 1, true);
    this.#abortGraceMs = positive("abortGraceMs", options.abortGraceMs, 1000, false);
    this.#closeGraceMs = positive("closeGraceMs", options.closeGraceMs, 200, false);
    this.#loadTimeoutMs = positive("loadTimeoutMs", options.loadTimeoutMs, 60_000, false);
    this.#maxWorkerCrashes = positive("maxWorkerCrashes", options.maxWorkerCrashes, 3, true);
  }

  /**
   * The scheduler's slots now: workers × slots per worker (see
   * {@link PoolOptions.slotsPerWorker}), counting workers still loading:
   * attempts handed over beyond the ready workers' slots wait for them.
   */
  get concurrency(): number {
    return this.workers * this.#slotsPerWorker();
  }

  #slotsPerWorker(): number {
    return this.#fixedSlots ?? (this.#runMsAverage < SHORT_RUN_MS ? AUTO_SLOTS : 1);
  }

  /**
   * Feeds the moving average `"auto"` decides by. A sample counts at most
   * {@link RUN_MS_CAP}: a worker thread descheduled in the middle of a tiny
   * task (a busy machine) should not stop pipelining for long, while tasks
   * that really take milliseconds still keep the average above the bar.
   */
  #ran(runMs: number): void {
    if (runMs < 0) return;
    const sample = Math.min(runMs, RUN_MS_CAP);
    const avg = this.#runMsAverage;
    this.#runMsAverage = avg === Number.POSITIVE_INFINITY ? sample : avg + (sample - avg) * RUN_MS_WEIGHT;
  }

  async start(link: EngineLink, modules: readonly string[]): Promise<void> {
    this.#link = link;
    this.#modules = [...modules];
    this.#crashes.clear();
    // All start now; the run begins with the first one ready (a load error that comes first is the run's).
    for (let i = 0; i < this.workers; i++) this.#workers.push(this.#spawn());
    try {
      await Promise.race(this.#workers.map((w) => w.loaded));
    } catch (error) {
      await Promise.all(this.#workers.map((w) => this.#stop(w)));
      throw error;
    }
    this.#started = true;
    // One that cannot load later breaks the pool, as a replacement that cannot load does.
    for (const w of this.#workers) w.loaded.catch((error: unknown) => this.#breakOn(error));
  }

  run(task: StartTask): void {
    if (!this.#link) throw new Error(`${this.kind} executor: run() before start()`);
    if (this.#broken) {
      const error = this.#broken;
      queueMicrotask(() => this.#link?.finished(task, { ok: false, error }));
      return;
    }
    const worker = this.#pick(this.#mustIsolate(task));
    if (worker) this.#assign(worker, task);
    else {
      this.#pending.push(task);
      this.#link.awaitingWorker?.(task);
    }
  }

  /** A task that has been on a dying worker runs alone until it finishes or waits. */
  #mustIsolate(task: TaskRef): boolean {
    return (this.#crashes.get(task.id) ?? 0) > 0;
  }

  resume(ref: TaskRef, waitId: number, outcome: WaitOutcome): void {
    const a = this.#find(ref.id, ref.attempt);
    if (!a) return;
    a.waits = Math.max(0, a.waits - 1);
    this.#recount(a);
    a.worker.out.push({ type: "resume", id: ref.id, attempt: ref.attempt, waitId, outcome });
  }

  abort(ref: TaskRef, reason: SerializedError): void {
    const a = this.#find(ref.id, ref.attempt);
    if (!a) {
      this.#pending = this.#pending.filter((t) => t.id !== ref.id || t.attempt !== ref.attempt);
      return;
    }
    a.aborted = true;
    this.#recount(a);
    a.worker.out.push({ type: "abort", id: ref.id, attempt: ref.attempt, reason });
    this.#ping(a.worker, ref.id);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#pending = [];
    await Promise.all(this.#workers.map((w) => this.#stop(w)));
    this.#workers = [];
    this.#attempts.clear();
  }

  // ---------------------------------------------------------------- workers

  #spawn(): PoolWorker {
    let resolveLoaded!: () => void;
    let rejectLoaded!: (error: Error) => void;
    let resolveGone!: () => void;
    const loaded = new Promise<void>((res, rej) => {
      resolveLoaded = res;
      rejectLoaded = rej;
    });
    loaded.catch(() => undefined); // observed by start(), then by #breakOn()
    const gone = new Promise<void>((res) => {
      resolveGone = res;
    });
    let loadingModule: string | null = null;
    const failLoad = (error: Error): void => {
      clearTimeout(loadTimer);
      rejectLoaded(error);
    };
    const loadTimer = setTimeout(() => {
      failLoad(loadLostError(this.kind, this.#modules, loadingModule, "timeout", this.#loadTimeoutMs));
      void this.#stop(worker);
    }, this.#loadTimeoutMs);
    let handle: WorkerHandle;
    try {
      handle = this.#transport.spawn(
        { modules: this.#modules },
        {
          message: (batch) => {
            if (worker.state === "ready") {
              worker.inbox.push(batch);
              if (!worker.inboxScheduled) this.#readInbox(worker, INBOX_CHUNK);
              return;
            }
            for (const m of batch) {
              if (worker.state === "gone") return;
              if (m.type === "ready") {
                clearTimeout(loadTimer);
                worker.state = "ready";
                resolveLoaded();
                this.#drain();
              } else if (m.type === "loadFailed") {
                failLoad(loadError(this.kind, m.module, m.error));
                void this.#stop(worker);
              } else if (m.type === "fatal" && worker.state === "loading") {
                loadingModule = m.module;
                failLoad(loadLostError(this.kind, this.#modules, m.module, { kind: "fatal", error: m.error }, 0));
                void this.#stop(worker);
              } else this.#onMessage(worker, m);
            }
          },
          exit: (exit) => {
            this.#readInbox(worker, Number.POSITIVE_INFINITY); // what it sent before it died counts
            if (worker.state === "loading")
              failLoad(loadLostError(this.kind, this.#modules, loadingModule, { kind: "exit", ...exit }, 0));
            this.#lose(worker, { kind: "exit", ...exit });
            resolveGone();
          },
        },
      );
    } catch (error) {
      // The transport could not even start it (out of processes, a broken entry): a load failure.
      failLoad(
        new TrellisError(
          ErrorCodes.WORKER_LOAD,
          `could not start a ${this.kind} worker: ${serializeError(error).message}`,
          {},
          { cause: error },
        ),
      );
      handle = { label: `${this.kind} worker (not started)`, send: () => undefined, terminate: async () => undefined };
      queueMicrotask(() => {
        worker.state = "gone";
        resolveGone();
      });
    }
    const worker: PoolWorker = {
      handle,
      out: new Outbox((b) => handle.send(b), afterMicrotasks),
      state: "loading",
      inbox: [],
      inboxAt: 0,
      inboxScheduled: false,
      busy: 0,
      isolated: null,
      culprit: null,
      stale: null,
      ping: null,
      loaded,
      gone,
    };
    return worker;
  }

  /** A replacement for a lost worker; if it cannot load, the pool is broken and queued attempts fail. */
  #replace(): void {
    const worker = this.#spawn();
    this.#workers.push(worker);
    worker.loaded.catch((error: unknown) => this.#breakOn(error));
  }

  #breakOn(error: unknown): void {
    if (this.#closing) return;
    this.#broken = serializeError(error);
    const pending = this.#pending;
    this.#pending = [];
    for (const task of pending) this.#link?.finished(task, { ok: false, error: this.#broken });
  }

  /**
   * Least busy worker that is ready, not suspected stuck and not running an
   * isolated attempt; ties go to the oldest. For an attempt to `isolate`,
   * only a worker that runs nothing (suspended attempts aside) will do.
   * While a worker is still loading, a worker whose slots are all taken is
   * not picked: the attempt waits for the one loading instead of queueing
   * behind a busy one.
   */
  #pick(isolate: boolean): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    let loading = false;
    for (const w of this.#workers) {
      if (w.state === "loading") loading = true;
      if (
        w.state === "ready" &&
        w.ping === null &&
        w.isolated === null &&
        (!isolate || w.busy === 0) &&
        (!best || w.busy < best.busy)
      )
        best = w;
    }
    return best !== undefined && loading && best.busy >= this.#slotsPerWorker() ? undefined : best;
  }

  #assign(worker: PoolWorker, task: StartTask): void {
    const a: Attempt = {
      id: task.id,
      attempt: task.attempt,
      worker,
      waits: 0,
      aborted: false,
      live: true,
      counted: false,
    };
    const old = this.#attempts.get(task.id);
    if (old !== undefined && old.worker.state !== "gone") (old.worker.stale ??= new Set()).add(old);
    this.#attempts.set(task.id, a);
    if (this.#mustIsolate(task)) worker.isolated = a;
    this.#recount(a);
    worker.out.push({ type: "run", task });
  }

  /** Places what waits for a worker, in order; an attempt to isolate that finds no idle worker does not hold up the others. */
  #drain(): void {
    if (this.#pending.length === 0) return;
    const left: StartTask[] = [];
    for (const task of this.#pending) {
      const worker = this.#pick(this.#mustIsolate(task));
      if (worker) {
        this.#assign(worker, task);
        this.#link?.hosted?.(task);
      } else left.push(task);
    }
    this.#pending = left;
  }

  #recount(a: Attempt): void {
    const busy = a.live && a.waits === 0 && !a.aborted;
    if (busy === a.counted) return;
    a.counted = busy;
    const worker = a.worker;
    worker.busy += busy ? 1 : -1;
    if (busy) return;
    // An isolated attempt that waits or ends lets others onto its worker; a worker with nothing running may take an isolated one.
    if (worker.isolated === a) worker.isolated = null;
    if (this.#pending.length > 0 && worker.state === "ready" && (worker.busy === 0 || worker.isolated === null))
      queueMicrotask(() => this.#drain());
  }

  /** The live attempt `attempt` of `id`, if `worker` (when given) hosts it. */
  #find(id: string, attempt: number, worker?: PoolWorker): Attempt | undefined {
    const a = this.#attempts.get(id);
    return a !== undefined && a.attempt === attempt && (worker === undefined || a.worker === worker) ? a : undefined;
  }

  #forget(a: Attempt): void {
    a.live = false;
    if (this.#attempts.get(a.id) === a) this.#attempts.delete(a.id);
    this.#recount(a);
  }

  /** Handles up to `budget` messages of the worker's inbox, in order; schedules the rest for the next turn. */
  #readInbox(worker: PoolWorker, budget: number): void {
    worker.inboxScheduled = false;
    let left = budget;
    while (worker.inbox.length > 0) {
      const batch = worker.inbox[0] as readonly WorkerToHost[];
      while (worker.inboxAt < batch.length) {
        if (worker.state === "gone") {
          worker.inbox = [];
          worker.inboxAt = 0;
          return;
        }
        if (left-- <= 0) {
          worker.inboxScheduled = true;
          setImmediate(() => this.#readInbox(worker, INBOX_CHUNK));
          return;
        }
        this.#onMessage(worker, batch[worker.inboxAt++] as WorkerToHost);
      }
      worker.inbox.shift();
      worker.inboxAt = 0;
    }
  }

  #onMessage(worker: PoolWorker, m: WorkerToHost): void {
    const link = this.#link;
    if (!link) return;
    switch (m.type) {
      case "spawn":
      case "abortWait":
      case "promise":
      case "log":
      case "emit":
        return forwardCall(link, m);
      case "wait": {
        const a = this.#find(m.id, m.attempt, worker);
        if (a) {
          a.waits++;
          this.#recount(a);
        }
        return link.wait({ id: m.id, attempt: m.attempt }, m.waitId, m.ids, m.timeoutMs);
      }
      case "finished": {
        const a = this.#find(m.id, m.attempt, worker);
        if (a) this.#forget(a);
        else if (worker.stale !== null)
          for (const old of worker.stale) if (old.id === m.id && old.attempt === m.attempt) worker.stale.delete(old);
        this.#ran(m.runMs);
        return link.finished({ id: m.id, attempt: m.attempt }, m.outcome);
      }
      case "pong":
        if (worker.ping?.seq === m.seq) {
          clearTimeout(worker.ping.timer);
          worker.ping = null;
          this.#drain();
        }
        return;
      case "exiting":
        worker.culprit = m.culprit; // the exit itself follows
        return;
      case "fatal":
        worker.culprit = m.culprit;
        return this.#lose(worker, { kind: "fatal", error: m.error });
      case "ready":
      case "loadFailed":
        return; // handled while loading
      default:
        unreachable(m);
    }
  }

  /** After an abort: a worker that does not answer a ping in time is stuck (a synchronous loop) and is replaced. */
  #ping(worker: PoolWorker, aborted: string): void {
    if (worker.ping !== null || worker.state !== "ready" || this.#closing) return;
    const seq = ++this.#pingSeq;
    const timer = setTimeout(() => {
      if (worker.ping?.seq !== seq) return;
      this.#lose(worker, { kind: "unresponsive", aborted, graceMs: this.#abortGraceMs });
    }, this.#abortGraceMs);
    worker.ping = { seq, timer };
    worker.out.push({ type: "ping", seq });
  }

  /** The worker is gone or must go: fail what it hosted, stop it, and start a replacement. */
  #lose(worker: PoolWorker, loss: WorkerLoss): void {
    if (worker.state === "gone") return;
    const wasReady = worker.state === "ready";
    worker.state = "gone";
    worker.out.clear();
    if (worker.ping) clearTimeout(worker.ping.timer);
    worker.ping = null;
    this.#workers = this.#workers.filter((w) => w !== worker);
    void worker.handle.terminate();
    const lost = [...this.#attempts.values()].filter((a) => a.worker === worker);
    if (worker.stale !== null) lost.push(...worker.stale);
    const hosted = lost.map(
      (a): HostedAttempt => ({
        id: a.id,
        attempt: a.attempt,
        state: a.aborted ? "aborted" : a.waits > 0 ? "waiting" : "running",
      }),
    );
    for (const a of lost) this.#forget(a);
    worker.isolated = null;
    if (this.#closing || !this.#started) return;
    // A replacement that dies while loading is not replaced again: its load error breaks the pool instead of looping.
    if (wasReady) this.#replace();
    const link = this.#link;
    if (!link) return;
    const label = worker.handle.label;
    const verdicts = judgeDeath({ hosted, culprit: worker.culprit }, this.#crashes, this.#maxWorkerCrashes);
    const reason = describeLoss(loss).reason;
    // The innocent first: their lost executions are forgotten before the culprit's failure reaches the waits they had.
    for (const v of verdicts) {
      if (v.crashes > 0) this.#crashes.set(v.id, v.crashes);
      if (v.kind === "innocent" || v.kind === "suspect")
        link.rehosted(v, { worker: label, reason, isolated: v.kind === "suspect", crashes: v.crashes });
    }
    for (const v of verdicts) {
      if (v.kind === "culprit")
        link.finished(v, { ok: false, error: crashError(v, label, loss, v.crashes, this.#maxWorkerCrashes) });
      else if (v.kind === "limit")
        link.finished(v, { ok: false, error: crashLimitError(v, label, loss, this.#maxWorkerCrashes) });
    }
  }

  /**
   * Asks a worker to close (pending aborts are delivered first, so abort
   * handlers run), then stops it if it has not left in time: a worker stuck
   * in a synchronous loop costs `closeGraceMs`, never a hang.
   */
  async #stop(worker: PoolWorker): Promise<void> {
    if (worker.ping) clearTimeout(worker.ping.timer);
    worker.ping = null;
    // A worker still loading hosts no attempt: nothing to let finish.
    if (worker.state === "ready") {
      worker.out.push({ type: "close", graceMs: this.#closeGraceMs });
      worker.out.flush();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        worker.gone,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#closeGraceMs + 100))),
      ]);
      clearTimeout(timer);
    }
    await worker.handle.terminate();
  }
}
