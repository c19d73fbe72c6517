/**
 * The `bullmq` executor: the engine stays the one coordinator (plan,
 * promises, log) and each attempt runs on a remote `trellis worker`, reached
 * through BullMQ on Redis. See `wire.ts` for the keys and streams.
 *
 * - `run` adds one job per attempt (batched: one `addBulk` per engine step).
 * - The workers' `ctx` calls and results come back on this run's up stream, in
 *   the order each worker sent them, and go to the {@link EngineLink} as the
 *   thread pool's messages do.
 * - `resume` and `abort` go out on the queue's down stream.
 * - A worker whose heartbeat stops for `leaseMs` is gone: the attempts it
 *   hosted are judged with the local pools' crash rules (`judgeDeath`):
 *   suspended ones and running suspects are re-hosted (the same attempt runs
 *   again elsewhere, a suspect alone on its worker), a lone running one fails
 *   with `WORKER_CRASH`, a task on `maxWorkerCrashes` dead workers fails for
 *   good. A job fetched by a worker that died before reporting it is failed
 *   by BullMQ's stalled-job check and is a suspect.
 * - Redis away for longer than `redisDownMs`: every attempt fails with
 *   `REDIS_UNREACHABLE` and so does every later one, so the run ends; shorter
 *   outages only pause it (ioredis reconnects and replays queued commands).
 */
import { randomUUID } from "node:crypto";
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { ErrorCodes, TaskCancelledError, TrellisError, serializeError } from "../../errors.ts";
import type { SerializedError } from "../../errors.ts";
import type { CollectedResult, EngineLink, Executor, StartTask, TaskRef, WaitOutcome } from "../executor.ts";
import type { HostedAttempt } from "../worker/crash-verdict.ts";
import { judgeDeath } from "../worker/crash-verdict.ts";
import { forwardCall } from "../worker/protocol.ts";
import type { WorkerLoss } from "../worker/worker-errors.ts";
import { crashError, crashLimitError, describeLoss } from "../worker/worker-errors.ts";
import type { DownMessage, JobData, UpMessage } from "./wire.ts";
import {
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_QUEUE,
  DEFAULT_REDIS_DOWN_MS,
  DEFAULT_WORKER_WAIT_MS,
  HEARTBEAT_MS,
  KEEP_RENEW_MS,
  KEEP_S,
  beatsKey,
  connect,
  fieldOf,
  followStream,
  hangUp,
  permanentRedisProblem,
  readAttempts,
  redisRefused,
  runKey,
  sendDown,
  safeUrl,
  slotsKey,
  upKey,
} from "./wire.ts";

/** Attempts dispatched per live worker slot when `concurrency` is not given. */
export const PIPELINE = 4;
/** The same while attempts are short: they travel batched, up to {@link MAX_BATCH} per job. */
export const BATCH_PIPELINE = 64;
/** Most attempts one job carries. */
export const MAX_BATCH = 32;
/**
 * Jobs of short attempts kept per live worker slot: one runs while the next
 * waits in the queue, so a slot that ends a job takes the next one in the
 * same Redis call instead of waiting for the coordinator to refill it.
 */
export const JOBS_PER_SLOT = 2;
/** Attempts that run under this on average (ms) are batched. */
export const SHORT_RUN_MS = 2;

export interface BullMQExecutorOptions {
  /** Redis URL: `redis://[:password@]host:port[/db]`, `rediss://` for TLS. */
  readonly redis: string;
  /** Queue name; the workers must be started with the same `--queue`. Default `trellis`. */
  readonly queue?: string;
  /** Scheduler slots. Default: {@link PIPELINE} × the sum of the live workers' `--concurrency` (at least 1), read every second. */
  readonly concurrency?: number;
  /** A worker whose heartbeat stopped for this long is gone. Default 5000 ms. */
  readonly leaseMs?: number;
  /** Largest encoded output an attempt may return. Default 16 MiB. */
  readonly maxOutputBytes?: number;
  /** How long Redis may be unreachable before the run fails with `REDIS_UNREACHABLE`. Default 30 000 ms. */
  readonly redisDownMs?: number;
  /** How long attempts may wait while no worker serves the queue before they fail. Default 30 000 ms. */
  readonly workerWaitMs?: number;
  /**
   * A task that has been on this many workers that died (as a suspect, see
   * `worker/crash-verdict.ts`) fails with a final `WORKER_CRASH`. Default 3.
   */
  readonly maxWorkerCrashes?: number;
}

/** An attempt this executor dispatched. */
interface Remote {
  readonly ref: TaskRef;
  /** Worker that took it (from its `placed` message), null until then. */
  worker: string | null;
  jobId: string | null;
  /** Its waits not answered yet: it is suspended (holds nothing on its worker) while some are. */
  waits: number;
}

/** What the coordinator knows of one worker's heartbeat. */
interface Beat {
  count: string;
  /** When the count last changed (this process's clock). */
  at: number;
  slots: number;
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value))
    throw new TrellisError(
      ErrorCodes.INVALID_OPTION,
      `bullmq executor option \`${option}\` must be a positive number, got ${String(value)}`,
      { option },
    );
  return value;
}

export class BullMQExecutor implements Executor {
  readonly kind = "bullmq";
  readonly queue: string;
  readonly #url: string;
  readonly #fixed: number | null;
  readonly #leaseMs: number;
  readonly #maxOutputBytes: number;
  readonly #redisDownMs: number;
  readonly #workerWaitMs: number;
  readonly #maxWorkerCrashes: number;
  /** Dying workers each task (by id) has been a suspect of. */
  readonly #crashes = new Map<string, number>();
  /** Attempts aborted on a worker that has not said they ended (by `attempt id`): they may still be executing there. */
  readonly #aborting = new Map<string, { readonly ref: TaskRef; readonly worker: string }>();
  readonly #reply = randomUUID();
  #link: EngineLink | undefined;
  #commands: Redis | undefined;
  #reader: Redis | undefined;
  #jobs: Queue | undefined;
  #events: QueueEvents | undefined;
  /** The QueueEvents' own connection: BullMQ leaves a connection it was given open. */
  #eventsConnection: Redis | undefined;
  readonly #remote = new Map<string, Remote>();
  /** Attempts of {@link BullMQExecutor.#remote} suspended in a wait (they hold nothing on their worker). */
  #suspended = 0;
  /** Attempts no worker reported taking yet, by the job that carries them. */
  readonly #byJob = new Map<string, Remote[]>();
  /** Moving average of how long attempts ran on the workers, ms (see `#ran`). */
  #runMsAverage = Number.POSITIVE_INFINITY;
  /**
   * Aborts of attempts no worker had reported taking, by id: the abort may
   * reach the worker before the attempt does, so it is sent again when the
   * worker's `placed` arrives (it is sent after the attempt is hosted).
   */
  readonly #abortOnPlace = new Map<string, { readonly attempt: number; readonly reason: SerializedError }>();
  /** Aborts sent to a worker that holds the attempt and not yet answered (`aborted`), by `attempt id`; `close()` waits for them. */
  readonly #unacked = new Set<string>();
  #acked: (() => void) | null = null;
  readonly #beats = new Map<string, Beat>();
  #toAdd: StartTask[] = [];
  #down: DownMessage[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  /** When this coordinator's keys were last given their week (`#keep`). */
  #keptAt = 0;
  #polling = false;
  #redisDownSince: number | null = null;
  #noWorkerSince: number | null = null;
  #broken: SerializedError | null = null;
  #closed = false;
  /** The run this coordinator serves (known from its first job, or from `collect`). */
  #runId: string | null = null;
  /** Tokens of the run's dead coordinators whose streams `collect` read: removed when this one closes. */
  #inherited: readonly string[] = [];
  /** start() reached Redis. */
  #connected = false;
  #readerDone: Promise<void> = Promise.resolve();

  constructor(options: BullMQExecutorOptions) {
    if (typeof options.redis !== "string" || options.redis === "")
      throw new TrellisError(
        ErrorCodes.INVALID_OPTION,
        "the bullmq executor needs `redis`, a Redis URL such as redis://127.0.0.1:6379 (rediss:// for TLS)",
        { option: "redis" },
      );
    this.#url = options.redis;
    this.queue = options.queue ?? DEFAULT_QUEUE;
    this.#fixed =
      options.concurrency === undefined ? null : Math.floor(positive("concurrency", options.concurrency, 1));
    this.#leaseMs = positive("leaseMs", options.leaseMs, DEFAULT_LEASE_MS);
    this.#maxOutputBytes = positive("maxOutputBytes", options.maxOutputBytes, DEFAULT_MAX_OUTPUT_BYTES);
    this.#redisDownMs = positive("redisDownMs", options.redisDownMs, DEFAULT_REDIS_DOWN_MS);
    this.#workerWaitMs = positive("workerWaitMs", options.workerWaitMs, DEFAULT_WORKER_WAIT_MS);
    this.#maxWorkerCrashes = Math.floor(positive("maxWorkerCrashes", options.maxWorkerCrashes, 3));
  }

  /**
   * The configured number, else {@link PIPELINE} × the live workers' slots
   * (at least 1, so the engine keeps dispatching while workers come): a few
   * jobs queued per slot let a worker take its next job in the same Redis call
   * that completes the last one, instead of a round trip through the engine.
   */
  get concurrency(): number {
    if (this.#fixed !== null) return this.#fixed;
    return Math.max(1, this.#liveSlots() * (this.#short() ? BATCH_PIPELINE : PIPELINE));
  }

  /** The `--concurrency` of the workers seen alive, summed (from their heartbeats). */
  #liveSlots(): number {
    let slots = 0;
    for (const b of this.#beats.values()) slots += b.slots;
    return slots;
  }

  /** Workers seen alive (at least 1: the log's `run.started` counts workers from 1). */
  get workers(): number {
    return Math.max(1, this.#beats.size);
  }

  async start(link: EngineLink): Promise<void> {
    this.#link = link;
    const commands = connect(this.#url);
    const reader = connect(this.#url);
    this.#commands = commands;
    this.#reader = reader;
    for (const c of [commands, reader]) c.on("error", () => undefined); // reported through the watchdog below
    commands.on("close", () => (this.#redisDownSince ??= Date.now()));
    commands.on("ready", () => this.#redisBack());
    const events = connect(this.#url);
    this.#eventsConnection = events;
    events.on("error", () => undefined);
    // BullMQ's objects only once Redis answered: QueueEvents opens a connection of its own, which it cannot close while it never connected.
    const ready = (async (): Promise<void> => {
      await commands.ping();
      this.#jobs = new Queue(this.queue, { connection: commands });
      this.#jobs.on("error", () => undefined); // the watchdog reports a lost Redis, once
      this.#events = new QueueEvents(this.queue, { connection: events });
      this.#events.on("failed", ({ jobId, failedReason }) => this.#jobFailed(jobId, failedReason));
      this.#events.on("error", () => undefined);
      await Promise.all([this.#jobs.waitUntilReady(), this.#events.waitUntilReady()]);
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = "";
    let refused: ((error: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.#unreachable(`could not connect${last === "" ? "" : ` (last error: ${last})`}`)),
        this.#redisDownMs,
      );
      // ioredis retries every error forever: one that waiting cannot fix (an untrusted certificate, a wrong password) fails the start now.
      refused = (error: Error): void => {
        last = error.message;
        const problem = permanentRedisProblem(this.#url, error);
        if (problem !== null) reject(redisRefused(this.#url, "the bullmq executor", problem, error));
      };
      for (const c of [commands, reader, events]) c.on("error", refused);
      ready.catch(refused);
    });
    try {
      await Promise.race([ready, failed]);
    } catch (error) {
      await this.close();
      const problem = error instanceof TrellisError ? null : permanentRedisProblem(this.#url, error);
      throw problem === null ? error : redisRefused(this.#url, "the bullmq executor", problem, error);
    } finally {
      clearTimeout(timer);
      for (const c of [commands, reader, events]) if (refused) c.off("error", refused);
    }
    this.#redisDownSince = null;
    this.#connected = true;
    await this.#poll();
    this.#timer = setInterval(() => this.#tick(), HEARTBEAT_MS);
    this.#readerDone = this.#readUp();
  }

  run(task: StartTask): void {
    if (!this.#link) throw new Error("bullmq executor: run() before start()");
    if (this.#broken) {
      const error = this.#broken;
      queueMicrotask(() => this.#link?.finished(task, { ok: false, error }));
      return;
    }
    const stale = this.#remote.get(task.id);
    if (stale) this.#forget(stale);
    this.#remote.set(task.id, { ref: { id: task.id, attempt: task.attempt }, worker: null, jobId: null, waits: 0 });
    if (this.#toAdd.length === 0) queueMicrotask(() => this.#addJobs());
    this.#toAdd.push(task);
  }

  #addJobs(): void {
    const tasks = this.#toAdd;
    this.#toAdd = [];
    const jobs = this.#jobs;
    if (!jobs || tasks.length === 0) return;
    const runId = (tasks[0] as StartTask).runId;
    if (this.#runId !== runId) {
      this.#runId = runId;
      // Sent before the jobs on the same connection: a worker can only answer a coordinator the run knows.
      this.#keep(true);
    }
    const groups = this.#batches(tasks);
    const bulk = groups.map((group) => {
      const data: JobData = {
        reply: this.#reply,
        runId,
        attempts: group.map((t) => ({ id: t.id, attempt: t.attempt, task: t.task, inputs: t.inputs })),
        maxOutputBytes: this.#maxOutputBytes,
        // A task that has been on a dying worker runs alone on its worker until it finishes or waits.
        alone: group.length === 1 && (this.#crashes.get((group[0] as StartTask).id) ?? 0) > 0,
      };
      return { name: (group[0] as StartTask).task, data, opts: { removeOnComplete: true, removeOnFail: true } };
    });
    jobs.addBulk(bulk).then(
      (added) => {
        for (let i = 0; i < added.length; i++) {
          const jobId = added[i]?.id;
          if (jobId === undefined) continue;
          const members: Remote[] = [];
          for (const t of groups[i] ?? []) {
            const r = this.#find(t.id, t.attempt);
            if (!r || r.worker !== null) continue;
            r.jobId = jobId;
            members.push(r);
          }
          if (members.length > 0) this.#byJob.set(jobId, members);
        }
      },
      (error: unknown) => {
        if (this.#closed) return;
        const e = serializeError(this.#unreachable(`could not add jobs: ${serializeError(error).message}`));
        for (const t of tasks) if (this.#find(t.id, t.attempt)) this.#fail(t, e);
      },
    );
  }

  /**
   * The jobs of one engine step. While attempts are short (their average run
   * under {@link SHORT_RUN_MS}) a BullMQ job's own cost (a few Redis round
   * trips) outweighs them, so up to {@link MAX_BATCH} share a job: the
   * attempts dispatched and running or queued are spread over
   * {@link JOBS_PER_SLOT} jobs per live worker slot, so a step that refills a
   * few ended attempts still sends them as one job once the slots have work
   * queued. A crash suspect always has a job to itself.
   */
  #batches(tasks: readonly StartTask[]): StartTask[][] {
    const alone: StartTask[][] = [];
    const rest: StartTask[] = [];
    for (const t of tasks) {
      if ((this.#crashes.get(t.id) ?? 0) > 0) alone.push([t]);
      else rest.push(t);
    }
    let size = 1;
    if (this.#short()) {
      const jobs = JOBS_PER_SLOT * Math.max(1, this.#liveSlots());
      size = Math.min(MAX_BATCH, Math.max(1, Math.ceil((this.#remote.size - this.#suspended) / jobs)));
    }
    const groups = alone;
    for (let i = 0; i < rest.length; i += size) groups.push(rest.slice(i, i + size));
    return groups;
  }

  /** Attempts have been measured, and on average they run under {@link SHORT_RUN_MS}. */
  #short(): boolean {
    return this.#runMsAverage < SHORT_RUN_MS;
  }

  /** Feeds the moving average of how long attempts run on the workers (waits excluded: -1). */
  #ran(runMs: number): void {
    if (runMs < 0) return;
    const sample = Math.min(runMs, 4 * SHORT_RUN_MS);
    const avg = this.#runMsAverage;
    this.#runMsAverage = avg === Number.POSITIVE_INFINITY ? sample : avg + (sample - avg) / 8;
  }

  resume(ref: TaskRef, waitId: number, outcome: WaitOutcome): void {
    const r = this.#find(ref.id, ref.attempt);
    if (!r) return;
    if (r.waits === 1) this.#suspended--;
    r.waits = Math.max(0, r.waits - 1);
    this.#send({ type: "resume", id: ref.id, attempt: ref.attempt, waitId, outcome });
  }

  abort(ref: TaskRef, reason: SerializedError): void {
    const r = this.#find(ref.id, ref.attempt);
    if (!r) return;
    this.#forget(r);
    if (r.worker !== null) {
      this.#unacked.add(`${ref.attempt} ${ref.id}`);
      this.#aborting.set(`${ref.attempt} ${ref.id}`, { ref: r.ref, worker: r.worker });
    }
    // Not reported taken yet: take it off the queue; if a worker has it already, abort it again once it says so.
    if (r.worker === null) {
      this.#abortOnPlace.set(ref.id, { attempt: ref.attempt, reason });
      if (r.jobId !== null && this.#byJob.get(r.jobId)?.length === 1)
        void this.#jobs
          ?.remove(r.jobId)
          .then((removed) => {
            if (removed === 1) this.#abortOnPlace.delete(ref.id);
          })
          .catch(() => undefined);
    }
    this.#send({ type: "abort", id: ref.id, attempt: ref.attempt, reason });
  }

  #send(m: DownMessage): void {
    if (this.#down.length === 0) queueMicrotask(() => this.#flushDown());
    this.#down.push(m);
  }

  #flushDown(): void {
    const batch = this.#down;
    this.#down = [];
    if (batch.length === 0 || this.#commands === undefined) return;
    void sendDown(this.#commands, this.queue, this.#reply, batch).catch(() => undefined);
  }

  #find(id: string, attempt: number): Remote | undefined {
    const r = this.#remote.get(id);
    return r !== undefined && r.ref.attempt === attempt ? r : undefined;
  }

  #forget(r: Remote): void {
    if (this.#remote.get(r.ref.id) === r) {
      this.#remote.delete(r.ref.id);
      if (r.waits > 0) this.#suspended--;
    }
    this.#unjob(r);
  }

  /** `r` is no longer waiting in its job (taken, or ended). */
  #unjob(r: Remote): void {
    if (r.jobId === null) return;
    const members = this.#byJob.get(r.jobId);
    if (members !== undefined) {
      const at = members.indexOf(r);
      if (at >= 0) members.splice(at, 1);
      if (members.length === 0) this.#byJob.delete(r.jobId);
    }
  }

  #fail(ref: TaskRef, error: SerializedError): void {
    const r = this.#find(ref.id, ref.attempt);
    if (r) this.#forget(r);
    this.#link?.finished(ref, { ok: false, error });
  }

  // ------------------------------------------------------------ up stream

  async #readUp(): Promise<void> {
    const key = upKey(this.queue, this.#reply);
    let unTrimmed = 0;
    // Trimmed one round behind what was read: a killed coordinator may not have logged what it read last, and resume collects it from here.
    let mark: string | null = null;
    await followStream(
      this.#reader as Redis,
      key,
      "0-0",
      256,
      () => this.#closed,
      (fields) => {
        for (const m of JSON.parse(fieldOf(fields, "m") ?? "[]") as UpMessage[]) this.#onMessage(m);
      },
      (last, entries) => {
        unTrimmed += entries;
        if (unTrimmed < 1024) return;
        unTrimmed = 0;
        if (mark !== null) void this.#commands?.xtrim(key, "MINID", mark).catch(() => undefined);
        mark = last;
      },
    );
  }

  #onMessage(m: UpMessage): void {
    if (m.type === "aborted") {
      this.#unacked.delete(`${m.attempt} ${m.id}`);
      if (this.#unacked.size === 0) this.#acked?.();
      return;
    }
    const link = this.#link;
    if (!link || this.#closed) return;
    switch (m.type) {
      case "placed": {
        const late = this.#abortOnPlace.get(m.id);
        if (late !== undefined && late.attempt === m.attempt) {
          this.#abortOnPlace.delete(m.id);
          this.#unacked.add(`${m.attempt} ${m.id}`);
          return this.#send({ type: "abort", id: m.id, attempt: m.attempt, reason: late.reason });
        }
        const r = this.#find(m.id, m.attempt);
        if (!r) return;
        r.worker = m.worker;
        this.#unjob(r);
        // A worker that died between its last heartbeat and now: its attempt is lost already.
        if (!this.#beats.has(m.worker)) this.#beats.set(m.worker, { count: "", at: Date.now(), slots: 0 });
        return link.placed?.(r.ref, m.worker);
      }
      case "spawn":
      case "abortWait":
      case "promise":
      case "log":
      case "emit":
        return forwardCall(link, m);
      case "wait": {
        const r = this.#find(m.id, m.attempt);
        if (r && r.waits++ === 0) this.#suspended++;
        return link.wait({ id: m.id, attempt: m.attempt }, m.waitId, m.ids, m.timeoutMs);
      }
      case "finished": {
        this.#aborting.delete(`${m.attempt} ${m.id}`);
        const r = this.#find(m.id, m.attempt);
        if (r) this.#forget(r);
        this.#ran(m.runMs);
        return link.finished({ id: m.id, attempt: m.attempt }, m.outcome);
      }
      default:
        return; // ready, pong, fatal, loadFailed: local workers only
    }
  }

  // ------------------------------------------------------------ resume

  /**
   * Reads what the workers sent to this run's earlier coordinators (they
   * died: their tokens are still in {@link runKey}) and returns the attempts
   * in `live` that finished. Attempts of theirs still on a worker are
   * aborted there and jobs of theirs no worker took are dropped: the resumed
   * run starts those again as new attempts.
   */
  async collect(runId: string, live: ReadonlyMap<string, number>): Promise<readonly CollectedResult[]> {
    const commands = this.#commands;
    const jobs = this.#jobs;
    if (!commands || !jobs) return [];
    const key = runKey(this.queue, runId);
    const tokens = (await commands.smembers(key)).filter((t) => t !== this.#reply);
    this.#runId = runId;
    await commands.sadd(key, this.#reply);
    this.#keep(false);
    this.#inherited = tokens;
    const found: CollectedResult[] = [];
    const reason = serializeError(
      new TaskCancelledError(
        ErrorCodes.TASK_CANCELLED,
        "the coordinator that started this attempt died; the resumed run starts the task again",
      ),
    );
    for (const token of tokens) {
      const seen = await readAttempts(commands, upKey(this.queue, token), live);
      const stop: DownMessage[] = [];
      for (const a of seen.values()) {
        if (a.outcome !== null)
          found.push({
            id: a.id,
            attempt: a.attempt,
            worker: a.worker,
            outcome: a.outcome,
            spawned: a.spawned,
            emitted: a.emitted,
            promised: a.promised,
          });
        else if (a.worker !== null) stop.push({ type: "abort", id: a.id, attempt: a.attempt, reason });
      }
      if (stop.length > 0) await sendDown(commands, this.queue, token, stop);
    }
    if (tokens.length > 0) {
      const orphans = new Set(tokens);
      const queued = await jobs.getJobs(["waiting", "prioritized", "delayed"]);
      for (const job of queued)
        if (orphans.has((job.data as JobData | undefined)?.reply ?? "")) await job.remove().catch(() => undefined);
    }
    return found;
  }

  // ------------------------------------------------------------ faults

  /**
   * Keeps this coordinator's keys a week (`KEEP_S`) from now: the run's record
   * (with this coordinator's token added first when `join`) and its up
   * stream. They outlive a killed coordinator for `trellis resume`, and go
   * away on their own if no resume comes.
   */
  #keep(join: boolean): void {
    const commands = this.#commands;
    if (!commands || this.#runId === null) return;
    this.#keptAt = Date.now();
    const run = runKey(this.queue, this.#runId);
    const pipeline = commands.pipeline();
    if (join) pipeline.sadd(run, this.#reply);
    void pipeline
      .expire(run, KEEP_S)
      .expire(upKey(this.queue, this.#reply), KEEP_S)
      .exec()
      .catch(() => undefined);
  }

  /** Runs every second: heartbeats, the Redis watchdog, and attempts waiting with no worker at all. */
  #tick(): void {
    const now = Date.now();
    if (this.#redisDownSince !== null) {
      if (now - this.#redisDownSince >= this.#redisDownMs)
        this.#break(this.#unreachable(`lost the connection ${Math.round((now - this.#redisDownSince) / 1000)} s ago`));
      return;
    }
    void this.#poll();
    if (now - this.#keptAt >= KEEP_RENEW_MS) this.#keep(false);
    if (this.#remote.size > 0 && this.#beats.size === 0) {
      this.#noWorkerSince ??= now;
      if (now - this.#noWorkerSince >= this.#workerWaitMs) {
        const error = new TrellisError(
          ErrorCodes.WORKER_CRASH,
          `no trellis worker has served the queue "${this.queue}" at ${safeUrl(this.#url)} for ${Math.round((now - this.#noWorkerSince) / 1000)} s; ` +
            `start workers with \`trellis worker <module> --redis ${safeUrl(this.#url)} --queue ${this.queue}\` (the same queue and workflow modules as the run)`,
          { queue: this.queue },
        );
        this.#noWorkerSince = null;
        for (const r of [...this.#remote.values()]) this.#fail(r.ref, serializeError(error));
      }
    } else this.#noWorkerSince = null;
  }

  /** Reads the heartbeats; a worker whose count has not moved for `leaseMs` (or that left) is gone. */
  async #poll(): Promise<void> {
    const commands = this.#commands;
    if (this.#polling || !commands) return;
    this.#polling = true;
    try {
      const [beats, slots] = await Promise.all([
        commands.hgetall(beatsKey(this.queue)),
        commands.hgetall(slotsKey(this.queue)),
      ]);
      const now = Date.now();
      for (const [name, count] of Object.entries(beats)) {
        const b = this.#beats.get(name);
        const n = Number(slots[name] ?? 0);
        if (!b) this.#beats.set(name, { count, at: now, slots: n });
        else if (b.count !== count) {
          b.count = count;
          b.at = now;
          b.slots = n;
        }
      }
      for (const [name, b] of [...this.#beats]) {
        if (!(name in beats)) this.#workerGone(name, "left the queue");
        else if (now - b.at >= this.#leaseMs) this.#workerGone(name, `sent no heartbeat for ${this.#leaseMs} ms`);
      }
    } catch {
      // Redis away: the watchdog counts.
    } finally {
      this.#polling = false;
    }
  }

  /**
   * A worker is gone (its lease ran out, or it left): what it hosted is
   * judged as the pools judge a dead worker (`judgeDeath`). A remote worker
   * cannot name a culprit, so the attempts that were running are suspects:
   * a lone one is the culprit (a failed attempt), several each run again
   * alone on a worker; suspended ones are innocent and run again elsewhere
   * (`task.rehosted`, not a failed attempt); a task on `maxWorkerCrashes`
   * dying workers fails for good.
   */
  #workerGone(name: string, why: string): void {
    this.#beats.delete(name);
    void this.#commands?.hdel(beatsKey(this.queue), name).catch(() => undefined);
    const hosted: HostedAttempt[] = [];
    for (const r of [...this.#remote.values()]) {
      if (r.worker !== name) continue;
      hosted.push({ id: r.ref.id, attempt: r.ref.attempt, state: r.waits > 0 ? "waiting" : "running" });
      this.#forget(r);
    }
    for (const [key, a] of [...this.#aborting]) {
      if (a.worker !== name) continue;
      hosted.push({ id: a.ref.id, attempt: a.ref.attempt, state: "aborted" });
      this.#aborting.delete(key);
    }
    this.#judge(hosted, name, { kind: "lost", why }, false);
  }

  /** A job failed in BullMQ: its worker died after taking it and before reporting it (stalled), or it could not be processed. */
  #jobFailed(jobId: string, reason: string): void {
    const members = this.#byJob.get(jobId);
    if (!members) return;
    this.#byJob.delete(jobId);
    const hosted: HostedAttempt[] = [];
    for (const r of members) {
      if (this.#find(r.ref.id, r.ref.attempt) !== r || r.worker !== null) continue;
      this.#forget(r);
      hosted.push({ id: r.ref.id, attempt: r.ref.attempt, state: "running" });
    }
    // Which worker took it is not known (it died before saying so): the job names it.
    this.#judge(
      hosted,
      `the worker that took job ${jobId}`,
      { kind: "lost", why: `lost it (BullMQ: ${reason})` },
      true,
    );
  }

  /**
   * The verdicts on a dead worker's attempts, passed to the engine. `unseen`:
   * the worker never reported the attempt, so what else it ran is unknown and
   * a lone attempt is not taken for the culprit (a suspect instead).
   */
  #judge(hosted: readonly HostedAttempt[], worker: string, loss: WorkerLoss, unseen: boolean): void {
    const link = this.#link;
    if (!link || hosted.length === 0) return;
    const verdicts = judgeDeath({ hosted, culprit: null }, this.#crashes, this.#maxWorkerCrashes);
    const reason = describeLoss(loss).reason;
    // The innocent first: their lost executions are forgotten before a culprit's failure reaches the waits they had.
    for (const v of verdicts) {
      if (v.crashes > 0) this.#crashes.set(v.id, v.crashes);
      const kind = unseen && v.kind === "culprit" ? "suspect" : v.kind;
      if (kind === "innocent" || kind === "suspect")
        link.rehosted(v, { worker, reason, isolated: kind === "suspect", crashes: v.crashes });
    }
    for (const v of verdicts) {
      if (v.kind === "culprit" && !unseen)
        link.finished(v, { ok: false, error: crashError(v, worker, loss, v.crashes, this.#maxWorkerCrashes) });
      else if (v.kind === "limit")
        link.finished(v, { ok: false, error: crashLimitError(v, worker, loss, this.#maxWorkerCrashes) });
    }
  }

  #redisBack(): void {
    if (this.#redisDownSince === null) return;
    this.#redisDownSince = null;
    // Workers could not beat while Redis was away: every one gets a fresh lease.
    const now = Date.now();
    for (const b of this.#beats.values()) b.at = now;
  }

  #unreachable(what: string): TrellisError {
    return new TrellisError(
      ErrorCodes.REDIS_UNREACHABLE,
      `the bullmq executor ${what} to Redis at ${safeUrl(this.#url)} and gave up after ${this.#redisDownMs} ms (redisDownMs); ` +
        "check that Redis runs and is reachable (URL, password, TLS with rediss://), then run again or `trellis resume` the run",
      { url: safeUrl(this.#url) },
    );
  }

  /** Redis is gone for good: every attempt fails, and so does every later one. */
  #break(error: TrellisError): void {
    if (this.#broken) return;
    this.#broken = serializeError(error);
    for (const r of [...this.#remote.values()]) this.#fail(r.ref, this.#broken);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // When the run returns, the signals of the attempts it aborted have fired on their workers (a worker that died never answers: 2 s at most).
    if (this.#unacked.size > 0 && this.#redisDownSince === null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.#acked = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
      ]);
      clearTimeout(timer);
      this.#acked = null;
    }
    this.#closed = true;
    clearInterval(this.#timer);
    const commands = this.#commands;
    const leftovers = [...this.#remote.values()];
    this.#remote.clear();
    this.#suspended = 0;
    const tidy = async (): Promise<void> => {
      if (!commands || !this.#connected || this.#redisDownSince !== null) return;
      // Jobs no worker took yet are dropped; attempts still running get their abort.
      const untaken = new Set<string>();
      for (const r of leftovers) if (r.worker === null && r.jobId !== null) untaken.add(r.jobId);
      for (const jobId of untaken) await this.#jobs?.remove(jobId).catch(() => undefined);
      await commands.del(upKey(this.queue, this.#reply));
      // This run's record in Redis: gone with its last coordinator; what a resume collected is in the log now.
      if (this.#runId !== null) {
        for (const token of this.#inherited) await commands.del(upKey(this.queue, token));
        await commands.srem(runKey(this.queue, this.#runId), this.#reply, ...this.#inherited);
      }
      await this.#jobs?.close();
      await this.#events?.close();
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      tidy().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
    // Not connected (Redis away, or it refused us): BullMQ's own connections must stop retrying too, without waiting for Redis.
    void this.#jobs?.close().catch(() => undefined);
    void this.#events?.close().catch(() => undefined);
    if (this.#reader) hangUp(this.#reader);
    // A read stuck on a connection that is gone never settles: do not wait for it long.
    await Promise.race([this.#readerDone, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    if (commands) hangUp(commands);
    if (this.#eventsConnection) hangUp(this.#eventsConnection);
  }
}
