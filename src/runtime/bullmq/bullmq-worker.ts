/**
 * A remote worker of the `bullmq` executor (`trellis worker`): it imports the
 * workflow modules it was started with, then takes attempts from a BullMQ
 * queue and runs them with the same {@link WorkerHost} the thread and process
 * workers use, so a task keeps the whole `ctx` API. A job only NAMES a
 * definition: one the modules did not register fails with
 * `WORKER_UNKNOWN_TASK`; nothing in a job is imported or evaluated.
 *
 * Slots: BullMQ's `concurrency` counts the jobs whose processor is pending.
 * The processor returns as soon as its attempt finishes OR first suspends in a
 * wait, so a parent waiting on its children holds no slot; the suspended
 * attempt stays in memory (and is covered by the heartbeat lease, see
 * `wire.ts`) until the coordinator resumes it over the down stream.
 */
import { hostname } from "node:os";
import { Worker } from "bullmq";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import { ErrorCodes, TrellisError, serializeError } from "../../errors.ts";
import { registry } from "../../task/registry.ts";
import { importModule } from "../loader/typescript.ts";
import { IN_WORKER } from "../worker-flag.ts";
import type { HostToWorker, StopMessage, WorkerToHost } from "../worker/protocol.ts";
import { WorkerHost } from "../worker/worker-host.ts";
import type { DownMessage, JobAttempt, JobData, UpMessage } from "./wire.ts";
import {
  DEFAULT_QUEUE,
  HEARTBEAT_MS,
  LOCK_DURATION_MS,
  STALLED_INTERVAL_MS,
  beatsKey,
  connect,
  downKey,
  fieldOf,
  followStream,
  hangUp,
  permanentRedisProblem,
  redisRefused,
  safeUrl,
  slotsKey,
  sendUp,
} from "./wire.ts";

export interface BullWorkerOptions {
  /** Redis URL (`redis://`, `rediss://` for TLS; a password as `redis://:secret@host:6379`). */
  readonly redis: string;
  /** Queue name; the coordinator must use the same. Default `trellis`. */
  readonly queue?: string;
  /** Attempts run at once (suspended ones not counted). Default 8. */
  readonly concurrency?: number;
  /** URLs of the workflow modules whose definitions this worker runs. */
  readonly modules: readonly string[];
  /** How the worker is named in the log's `task.placed` events. Default `<hostname>/<pid>`. */
  readonly name?: string;
  /** Imports the package entry for the TypeScript loader (see `importModule`). */
  readonly loadPackageEntry: () => Promise<unknown>;
  /** Where the worker reports Redis errors. Default: stderr. */
  readonly warn?: (line: string) => void;
}

/** The attempts of one run hosted here, and the channel of their {@link WorkerHost}. */
interface RunHost {
  deliver: (batch: readonly HostToWorker[]) => void;
  /** Processors still holding a BullMQ slot, by `id\0attempt`: resolved at the first wait or the end. */
  readonly slots: Map<string, () => void>;
  hosted: number;
  /** `placed` messages not sent yet: they go with the host's next batch (one XADD for both), or alone a turn later. */
  placed: UpMessage[];
  /** Attempts that stopped (waited or ended) since the host's last batch left: their messages are not sent yet. */
  unsent: number;
  /** Jobs whose attempts all stopped, waiting for the batch that carries their messages to leave. */
  sent: (() => void)[];
}

const slotKey = (id: string, attempt: number): string => `${id}\0${attempt}`;

/** How long a crash suspect waits for the other attempts of its worker to finish or wait before it runs anyway. */
const ALONE_WAIT_MS = 30_000;

export class BullWorker {
  readonly name: string;
  readonly queue: string;
  readonly concurrency: number;
  readonly #options: BullWorkerOptions;
  readonly #commands: Redis;
  readonly #reader: Redis;
  /** BullMQ's connection: a Worker leaves a connection it was given open. */
  readonly #jobsConnection: Redis;
  #worker: Worker | undefined;
  readonly #runs = new Map<string, RunHost>();
  #beat: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #readerDone: Promise<void> = Promise.resolve();
  /** Open waits of each attempt hosted here, by `slotKey`. */
  readonly #waits = new Map<string, number>();
  /** Attempts hosted here that run (none of their waits open). */
  #busy = 0;
  /** Wakes a crash suspect waiting for the worker to be idle. */
  #idle: (() => void) | null = null;
  /** The crash suspect running alone here, and what lets the next one in. */
  #alone: { readonly key: string; readonly release: () => void } | null = null;
  #aloneQueue: Promise<void> = Promise.resolve();

  private constructor(options: BullWorkerOptions) {
    this.#options = options;
    this.queue = options.queue ?? DEFAULT_QUEUE;
    this.concurrency = options.concurrency ?? 8;
    this.name = options.name ?? `${hostname()}/${process.pid}`;
    this.#commands = connect(options.redis);
    this.#reader = connect(options.redis);
    this.#jobsConnection = connect(options.redis);
    for (const c of [this.#commands, this.#reader, this.#jobsConnection])
      c.on("error", (e: Error) => this.#warn(`redis ${safeUrl(options.redis)}: ${e.message}`));
  }

  /** Imports the modules, then starts taking jobs. */
  static async start(options: BullWorkerOptions): Promise<BullWorker> {
    // Like a thread worker: a module that calls run() at top level fails with RUN_IN_WORKER.
    (globalThis as Record<symbol, unknown>)[IN_WORKER] = true;
    for (const module of options.modules) await importModule(module, options.loadPackageEntry);
    const w = new BullWorker(options);
    // ioredis retries every error forever: one that waiting cannot fix (an untrusted certificate, a wrong password) ends the start now.
    let refused: ((error: Error) => void) | undefined;
    const connections = [w.#commands, w.#reader, w.#jobsConnection];
    const failed = new Promise<never>((_, reject) => {
      refused = (error: Error): void => {
        const problem = permanentRedisProblem(options.redis, error);
        if (problem !== null) reject(redisRefused(options.redis, "the worker", problem, error));
      };
      for (const c of connections) c.on("error", refused);
    });
    try {
      await Promise.race([w.#start(), failed]);
    } catch (error) {
      await w.close();
      const problem = error instanceof TrellisError ? null : permanentRedisProblem(options.redis, error);
      throw problem === null ? error : redisRefused(options.redis, "the worker", problem, error);
    } finally {
      for (const c of connections) if (refused) c.off("error", refused);
    }
    return w;
  }

  #warn(line: string): void {
    if (this.#closed) return; // a closing worker's connections report their own hang-up
    (this.#options.warn ?? ((l: string) => process.stderr.write(`trellis worker: ${l}\n`)))(line);
  }

  async #start(): Promise<void> {
    // Read the down stream from its current end: answers only concern attempts hosted from now on.
    const last = (await this.#commands.xrevrange(downKey(this.queue), "+", "-", "COUNT", 1))[0]?.[0] ?? "0-0";
    this.#readerDone = this.#readDown(last);
    await this.#heartbeat();
    this.#beat = setInterval(() => void this.#heartbeat(), HEARTBEAT_MS);
    const worker = new Worker(this.queue, (job: Job) => this.#process(job), {
      connection: this.#jobsConnection,
      concurrency: this.concurrency,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      // A stalled job is failed, never run twice: the coordinator decides what runs again.
      maxStalledCount: 0,
      autorun: false,
    });
    worker.on("error", (e: Error) => this.#warn(e.message));
    this.#worker = worker;
    void worker.run();
    await worker.waitUntilReady();
  }

  async #heartbeat(): Promise<void> {
    try {
      await this.#commands
        .multi()
        .hincrby(beatsKey(this.queue), this.name, 1)
        .hset(slotsKey(this.queue), this.name, this.concurrency)
        .exec();
    } catch {
      // Redis is away: the coordinator gives a fresh lease once it is back.
    }
  }

  #runHost(reply: string): RunHost {
    const known = this.#runs.get(reply);
    if (known) return known;
    const rh: RunHost = { deliver: () => undefined, slots: new Map(), hosted: 0, placed: [], unsent: 0, sent: [] };
    // The host lives as long as its message handler: held by `rh.deliver`.
    new WorkerHost({
      boot: { modules: this.#options.modules },
      send: (batch) => this.#send(reply, rh, batch),
      stopped: (m) => this.#stopped(rh, m),
      onMessage: (handler) => {
        rh.deliver = handler;
      },
      exit: () => undefined,
      // A task that ends this process: the coordinator's lease on this worker runs out and its attempts fail with WORKER_CRASH.
      lastWords: () => undefined,
    });
    this.#runs.set(reply, rh);
    return rh;
  }

  /**
   * An attempt waits or ended (told at once, before its message leaves): it
   * frees its slot, so the next attempt of its job starts in this same turn
   * and the job's results leave together in the host's next batch.
   */
  #stopped(rh: RunHost, m: StopMessage): void {
    const key = slotKey(m.id, m.attempt);
    rh.slots.get(key)?.();
    rh.slots.delete(key);
    this.#counted(key, m.type === "wait" ? 1 : null);
    if (m.type === "finished") rh.hosted--;
    rh.unsent++;
  }

  /** One batch from the attempts' host to the coordinator, after the `placed` of attempts not reported yet (one XADD for all). */
  #send(reply: string, rh: RunHost, batch: readonly WorkerToHost[]): void {
    let out: readonly UpMessage[] = batch;
    if (rh.placed.length > 0) {
      out = [...rh.placed, ...batch];
      rh.placed = [];
    }
    const offset = out.length - batch.length;
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i] as WorkerToHost;
      if (m.type !== "finished") continue;
      const limited = this.#limitOutput(m);
      if (limited !== m) {
        if (out === batch) out = [...batch];
        (out as UpMessage[])[offset + i] = limited;
      }
    }
    void sendUp(this.#commands, this.queue, reply, out).catch((e: Error) =>
      this.#warn(`could not send results: ${e.message}`),
    );
    rh.unsent = 0;
    for (const resolve of rh.sent.splice(0)) resolve();
    if (rh.hosted === 0 && rh.slots.size === 0 && rh.placed.length === 0) this.#runs.delete(reply);
  }

  #limits = new Map<string, number>();

  /** An output over the job's `maxOutputBytes` becomes an `OUTPUT_TOO_LARGE` failure. */
  #limitOutput(m: Extract<WorkerToHost, { type: "finished" }>): WorkerToHost {
    const key = slotKey(m.id, m.attempt);
    const max = this.#limits.get(key);
    this.#limits.delete(key);
    if (!m.outcome.ok || max === undefined) return m;
    const bytes = Buffer.byteLength(JSON.stringify(m.outcome.output));
    if (bytes <= max) return m;
    const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
    const error = new TrellisError(
      ErrorCodes.OUTPUT_TOO_LARGE,
      `the output of ${m.id} is ${mb(bytes)} encoded, over the bullmq executor's limit of ${mb(max)}: every output travels through Redis. ` +
        "Write large data to storage every worker and the coordinator can reach (a shared disk, an object store) and return its path or URL, or raise the executor's `maxOutputBytes`",
      { id: m.id, bytes, limit: max },
    );
    return { ...m, outcome: { ok: false, error: serializeError(error) } };
  }

  /**
   * Runs the attempts of a job, one after another (a batch of short attempts
   * travels in one job): each runs until it ends or first waits, then the
   * next starts at once, in the same turn, so a batch of short attempts runs
   * in one turn and its results leave in one message. The job holds one of
   * BullMQ's `concurrency` slots, so a batch shares it and `--concurrency`
   * bounds the attempts running here, batched or not. Resolves (frees the
   * slot) once the last has ended or waits and their messages have left.
   */
  async #process(job: Job): Promise<void> {
    const d = job.data as JobData;
    const rh = this.#runHost(d.reply);
    const known = d.attempts.filter((a) => registry.get(a.task) !== undefined);
    if (known.length < d.attempts.length) {
      const unknown = d.attempts.filter((a) => registry.get(a.task) === undefined).flatMap((a) => this.#unknownTask(a));
      await sendUp(this.#commands, this.queue, d.reply, unknown);
      if (known.length === 0 && rh.hosted === 0 && rh.slots.size === 0) this.#runs.delete(d.reply);
    }
    for (const a of known) if (!this.#closed) await this.#runAttempt(d, a, rh);
    // BullMQ completes the job once this resolves: not before what its attempts said (`placed`, results) is on its way,
    // or a worker killed in between would leave attempts the coordinator never hears of in a job that never fails.
    if (rh.unsent > 0 && !this.#closed) await new Promise<void>((resolve) => rh.sent.push(resolve));
  }

  /** A job names a definition the modules did not register: `WORKER_UNKNOWN_TASK`, and nothing runs. */
  #unknownTask(a: JobAttempt): UpMessage[] {
    const modules = this.#options.modules.length === 0 ? "no module" : this.#options.modules.join(", ");
    const error = new TrellisError(
      ErrorCodes.WORKER_UNKNOWN_TASK,
      `${a.id}: the worker ${this.name} on queue "${this.queue}" has no task named "${a.task}"; it imported ${modules}. ` +
        "A worker runs only the definitions its own modules register, never code named in a job: start the workers with the same workflow modules (and version) as the run, e.g. `trellis worker <module> --redis <url>`",
      { id: a.id, task: a.task, worker: this.name },
    );
    return [
      { type: "placed", id: a.id, attempt: a.attempt, worker: this.name },
      {
        type: "finished",
        id: a.id,
        attempt: a.attempt,
        outcome: { ok: false, error: serializeError(error) },
        runMs: 0,
      },
    ];
  }

  async #runAttempt(d: JobData, a: JobAttempt, rh: RunHost): Promise<void> {
    const key = slotKey(a.id, a.attempt);
    if (d.alone) await this.#takeAlone(key);
    // `placed` goes with the host's next batch (the attempt's result, for a short one), or alone two turns later.
    if (rh.placed.length === 0) setImmediate(() => setImmediate(() => this.#sendPlaced(d.reply, rh)));
    rh.placed.push({ type: "placed", id: a.id, attempt: a.attempt, worker: this.name });
    this.#limits.set(key, d.maxOutputBytes);
    this.#waits.set(key, 0);
    this.#busy++;
    rh.hosted++;
    await new Promise<void>((resolve) => {
      rh.slots.set(key, resolve);
      rh.deliver([
        { type: "run", task: { runId: d.runId, id: a.id, attempt: a.attempt, task: a.task, inputs: a.inputs } },
      ]);
    });
  }

  /**
   * Keeps {@link BullWorker.#busy}: `delta` +1 for a wait, -1 for its answer,
   * null when the attempt ended. An attempt is busy while none of its waits
   * is open.
   */
  #counted(key: string, delta: 1 | -1 | null): void {
    const waits = this.#waits.get(key);
    if (waits === undefined) return;
    const next = delta === null ? -1 : Math.max(0, waits + delta);
    if (next < 0) this.#waits.delete(key);
    else this.#waits.set(key, next);
    const was = waits === 0;
    const now = next === 0;
    if (was !== now) this.#busy += now ? 1 : -1;
    // An attempt that runs alone frees the worker when it waits or ends.
    if (key === this.#alone?.key && !now) this.#endAlone();
    if (this.#busy === 0) this.#idle?.();
  }

  /**
   * Before a crash suspect (a job marked `alone`) runs: one at a time, this
   * worker stops taking jobs (BullMQ's concurrency 1: this job's own slot)
   * and waits until no other attempt is running here (suspended ones do not
   * count). {@link BullWorker.#endAlone} gives the slots back.
   */
  async #takeAlone(key: string): Promise<void> {
    const before = this.#aloneQueue;
    let release!: () => void;
    this.#aloneQueue = new Promise<void>((resolve) => (release = resolve));
    await before;
    if (this.#worker) this.#worker.concurrency = 1;
    // Bounded: isolation only sharpens the next verdict, it must never hold a run up.
    const limit = Date.now() + ALONE_WAIT_MS;
    while (this.#busy > 0 && !this.#closed && Date.now() < limit) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        timer = setTimeout(resolve, limit - Date.now());
      });
      clearTimeout(timer);
    }
    this.#idle = null;
    this.#alone = { key, release };
  }

  #endAlone(): void {
    const alone = this.#alone;
    if (alone === null) return;
    this.#alone = null;
    if (this.#worker) this.#worker.concurrency = this.concurrency;
    alone.release();
  }

  #sendPlaced(reply: string, rh: RunHost): void {
    if (rh.placed.length === 0) return;
    const batch = rh.placed;
    rh.placed = [];
    void sendUp(this.#commands, this.queue, reply, batch).catch((e: Error) =>
      this.#warn(`could not send results: ${e.message}`),
    );
  }

  /** Reads the coordinators' answers (resume, abort) and hands those of hosted runs to their host. */
  async #readDown(from: string): Promise<void> {
    await followStream(
      this.#reader,
      downKey(this.queue),
      from,
      512,
      () => this.#closed,
      (fields) => {
        const reply = fieldOf(fields, "r") ?? "";
        const rh = this.#runs.get(reply);
        if (!rh) return;
        const batch = JSON.parse(fieldOf(fields, "m") ?? "[]") as DownMessage[];
        for (const m of batch) if (m.type === "resume") this.#counted(slotKey(m.id, m.attempt), -1);
        rh.deliver(batch);
        // The signals of the aborted attempts this worker hosts have fired: say so (the coordinator waits for it before it closes).
        const acks: UpMessage[] = [];
        for (const m of batch)
          if (m.type === "abort" && this.#limits.has(slotKey(m.id, m.attempt)))
            acks.push({ type: "aborted", id: m.id, attempt: m.attempt });
        if (acks.length > 0) void sendUp(this.#commands, this.queue, reply, acks).catch(() => undefined);
      },
    );
  }

  /** Stops taking jobs and leaves the queue (attempts still hosted are lost to the coordinator, which runs them again). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#beat);
    const worker = this.#worker;
    // Pending processors belong to attempts this process will not finish: let BullMQ stop without waiting for them.
    for (const rh of this.#runs.values()) {
      for (const release of rh.slots.values()) release();
      for (const release of rh.sent.splice(0)) release();
    }
    this.#idle?.();
    this.#endAlone();
    const leave = async (): Promise<void> => {
      if (worker === undefined) return; // it never served the queue (Redis refused it)
      await worker.close(true).catch(() => undefined);
      await this.#commands
        .multi()
        .hdel(beatsKey(this.queue), this.name)
        .hdel(slotsKey(this.queue), this.name)
        .exec()
        .catch(() => undefined);
    };
    // Redis away: leave without saying so (the coordinator's lease notices) rather than wait for it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([leave(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 3000)))]);
    clearTimeout(timer);
    hangUp(this.#reader);
    await Promise.race([this.#readerDone, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    hangUp(this.#commands);
    hangUp(this.#jobsConnection);
  }
}
