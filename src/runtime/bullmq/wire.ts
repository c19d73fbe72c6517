/**
 * What the `bullmq` executor's coordinator and its remote workers agree on:
 * the Redis keys, the data of a job, the messages on the two streams, and
 * the defaults of the fault handling.
 *
 * - Each attempt is one BullMQ job on queue `<queue>` (data: {@link JobData}),
 *   or, while attempts are short, a few attempts share one job.
 *   A job names a task definition; the worker looks it up in the definitions
 *   its own modules registered. Nothing in a job is ever imported or run as code.
 * - Worker → coordinator: the stream {@link upKey} of the run (each entry one
 *   batch of {@link UpMessage}s, in the order the worker sent them).
 * - Coordinator → workers: the stream {@link downKey} of the queue (each entry
 *   one batch of `resume` / `abort` messages for one run, read by every worker,
 *   which ignores the attempts it does not host).
 * - Liveness: each worker bumps its counter in {@link beatsKey} every
 *   {@link HEARTBEAT_MS}; the coordinator deems a worker whose counter stopped
 *   for its `leaseMs` gone, and judges the attempts it hosted as the local pools do.
 */
import { Redis } from "ioredis";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import type { Json } from "../../events/codec.ts";
import type { PromiseSpec } from "../../events/types.ts";
import type { TaskOutcome } from "../executor.ts";
import type { HostToWorker, WorkerToHost } from "../worker/protocol.ts";

/** Queue name when none is given. */
export const DEFAULT_QUEUE = "trellis";
/** Largest encoded output (bytes of JSON) a remote attempt may send back, by default: 16 MiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** How often a worker proves it is alive. */
export const HEARTBEAT_MS = 1000;
/** A worker silent for this long is gone, by default (its attempts are judged by `judgeDeath`). */
export const DEFAULT_LEASE_MS = 5000;
/**
 * BullMQ's job lock: a job fetched by a worker that dies before it reports
 * the attempt is found by BullMQ's stalled-job check within
 * `lockDuration + stalledInterval` and failed (`maxStalledCount: 0`), which
 * the coordinator turns into a `WORKER_CRASH`.
 */
export const LOCK_DURATION_MS = 5000;
export const STALLED_INTERVAL_MS = 2500;
/** How long the coordinator tolerates a lost Redis connection before the run fails with `REDIS_UNREACHABLE`, by default. */
export const DEFAULT_REDIS_DOWN_MS = 30_000;
/** How long the coordinator waits at start for a first worker, by default. */
export const DEFAULT_WORKER_WAIT_MS = 30_000;
/**
 * How long a coordinator's keys (its up stream, the run's record in
 * {@link runKey}) outlive it, in seconds: a week. A coordinator that closes
 * deletes them; one that was killed leaves them for `trellis resume` to
 * collect, and Redis drops them a week after their last use, so runs never
 * resumed do not pile up. The coordinator renews them every
 * {@link KEEP_RENEW_MS} while it runs, and each batch a worker sends renews
 * its stream.
 */
export const KEEP_S = 7 * 24 * 3600;
export const KEEP_RENEW_MS = 60_000;

/** One attempt of a job. */
export interface JobAttempt {
  readonly id: string;
  readonly attempt: number;
  /** The definition's name: looked up in the worker's registry, never loaded. */
  readonly task: string;
  /** Encoded inputs, every `From` resolved. */
  readonly inputs: Json;
}

/**
 * The data of one job: one attempt, or several short ones that the
 * coordinator batched (one BullMQ job, one slot on the worker, for all).
 */
export interface JobData {
  /** The coordinator's stream token for this run (unique per run, unlike the run id). */
  readonly reply: string;
  readonly runId: string;
  readonly attempts: readonly JobAttempt[];
  readonly maxOutputBytes: number;
  /** Run it alone on the worker: no other attempt starts there until it finishes or waits (a crash suspect; never batched). */
  readonly alone: boolean;
}

/** Worker → coordinator: the worker protocol plus where an attempt landed. */
export type UpMessage =
  | WorkerToHost
  | { readonly type: "placed"; readonly id: string; readonly attempt: number; readonly worker: string }
  /** The worker hosting the attempt fired its signal (the answer to an `abort`). */
  | { readonly type: "aborted"; readonly id: string; readonly attempt: number };

/** Coordinator → workers: the answers the worker protocol routes to an attempt. */
export type DownMessage = Extract<HostToWorker, { type: "resume" } | { type: "abort" }>;

export const upKey = (queue: string, reply: string): string => `trellis:${queue}:up:${reply}`;
export const downKey = (queue: string): string => `trellis:${queue}:down`;
export const beatsKey = (queue: string): string => `trellis:${queue}:beats`;
export const slotsKey = (queue: string): string => `trellis:${queue}:slots`;
/**
 * The reply tokens of every coordinator a run has had (a set): a coordinator
 * adds its own before its first job and removes it when it closes, so the
 * tokens left are those of coordinators that died, whose up streams hold what
 * their workers sent after the death (what `trellis resume` collects).
 */
export const runKey = (queue: string, runId: string): string => `trellis:${queue}:run:${runId}`;

/** Coordinator → workers: appends `messages` for the workers of the coordinator `reply` to the queue's down stream. */
export function sendDown(
  commands: Redis,
  queue: string,
  reply: string,
  messages: readonly DownMessage[],
): Promise<unknown> {
  return commands.xadd(downKey(queue), "MAXLEN", "~", 100_000, "*", "r", reply, "m", JSON.stringify(messages));
}

/** Worker → coordinator: appends `messages` to the up stream of `reply`, and keeps the stream a week ({@link KEEP_S}) for a resume. */
export async function sendUp(
  commands: Redis,
  queue: string,
  reply: string,
  messages: readonly UpMessage[],
): Promise<void> {
  const key = upKey(queue, reply);
  const results = await commands.pipeline().xadd(key, "*", "m", JSON.stringify(messages)).expire(key, KEEP_S).exec();
  const failed = results?.find(([error]) => error !== null);
  if (failed) throw failed[0] as Error;
}

/**
 * A connection to `url` (`redis://[:password@]host:port[/db]`, or `rediss://`
 * for TLS, passed to ioredis as is). `maxRetriesPerRequest: null` is what
 * BullMQ requires of the connections its workers block on.
 */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** Node's codes for a server certificate the client does not trust (`tls.connect`'s verification errors). */
const UNTRUSTED_CERT = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * For an error that trying again cannot fix (a TLS certificate this process
 * does not trust, a server that does not speak TLS, a wrong or missing
 * password): what went wrong and what to do, for `url`. Null for an error
 * worth waiting out (refused, reset, timed out: Redis may be restarting).
 * ioredis retries every error forever, so both sides of the `bullmq`
 * executor ask this to fail at once instead of hanging.
 */
export function permanentRedisProblem(url: string, error: unknown): string | null {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  const at = safeUrl(url);
  if (UNTRUSTED_CERT.has(code))
    return (
      `the TLS certificate of Redis at ${at} is not trusted (${code}: ${message}). ` +
      "For a server certificate signed by your own CA, give Node that CA's certificate with NODE_EXTRA_CA_CERTS=/path/to/ca.pem " +
      "in the environment of the coordinator (trellis run, trellis resume) and of every trellis worker; check that the certificate names the host in the URL"
    );
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_"))
    return `the TLS handshake with Redis at ${at} failed (${code}: ${message}); check that this port serves TLS (rediss://) or use redis:// for a plain one`;
  if (/^(WRONGPASS|NOAUTH)\b|^ERR (AUTH|invalid password|Client sent AUTH)/.test(message))
    return `Redis at ${at} refused the connection: ${message}. Put the password in the URL, rediss://:password@host:port (or user:password@ with an ACL user)`;
  return null;
}

/** The error of a side (`who`: "the bullmq executor", "the worker") that Redis will not serve ({@link permanentRedisProblem}). */
export function redisRefused(url: string, who: string, problem: string, cause: unknown): TrellisError {
  return new TrellisError(
    ErrorCodes.REDIS_UNREACHABLE,
    `${who} could not use Redis: ${problem}`,
    { url: safeUrl(url), permanent: true },
    { cause },
  );
}

/**
 * Closes `redis` now. ioredis listens for ONE error on its socket; a TLS
 * socket closed in the middle of its handshake may emit a second (the
 * server's alert), which would then crash the process as an unhandled
 * 'error' event: the socket gets a listener that drops it.
 */
export function hangUp(redis: Redis): void {
  redis.disconnect();
  (redis as unknown as { stream?: { on?: (event: string, listener: () => void) => void } }).stream?.on?.(
    "error",
    () => undefined,
  );
}

/** The URL without its password, for messages. */
export function safeUrl(url: string): string {
  return url.replace(
    /\/\/([^@/]*)@/,
    (_m, auth: string) => `//${auth.includes(":") ? `${auth.split(":")[0] ?? ""}:***` : "***"}@`,
  );
}

/** Fields of a stream entry as a map (XREAD returns `[k1, v1, k2, v2, ...]`). */
export function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** What a dead coordinator's up stream says about one attempt (see {@link readAttempts}). */
export interface SeenAttempt {
  readonly id: string;
  readonly attempt: number;
  /** The worker that reported taking it (`placed`), null when its message is not in the stream. */
  worker: string | null;
  /** Its result, null while it has none. */
  outcome: TaskOutcome | null;
  readonly spawned: string[];
  emitted: boolean;
  readonly promised: PromiseSpec[];
}

/**
 * Reads the whole up stream `key` (1,000 entries per XRANGE) and gathers,
 * for each attempt `live` names (`id` → attempt), what its worker reported.
 */
export async function readAttempts(
  redis: Redis,
  key: string,
  live: ReadonlyMap<string, number>,
): Promise<Map<string, SeenAttempt>> {
  const seen = new Map<string, SeenAttempt>();
  const of = (id: string, attempt: number): SeenAttempt | undefined => {
    if (live.get(id) !== attempt) return undefined;
    let a = seen.get(id);
    if (a === undefined) {
      a = { id, attempt, worker: null, outcome: null, spawned: [], emitted: false, promised: [] };
      seen.set(id, a);
    }
    return a;
  };
  for (let from = "-"; ; ) {
    const entries = (await redis.xrange(key, from, "+", "COUNT", 1000)) as [string, string[]][];
    for (const [entryId, fields] of entries) {
      from = `(${entryId}`;
      for (const m of JSON.parse(fieldOf(fields, "m") ?? "[]") as UpMessage[]) {
        switch (m.type) {
          case "placed": {
            const a = of(m.id, m.attempt);
            if (a) a.worker = m.worker;
            break;
          }
          case "finished": {
            const a = of(m.id, m.attempt);
            if (a) a.outcome = m.outcome;
            break;
          }
          case "spawn":
            of(m.id, m.attempt)?.spawned.push(m.child.id);
            break;
          case "emit": {
            const a = of(m.id, m.attempt);
            if (a) a.emitted = true;
            break;
          }
          case "promise":
            of(m.id, m.attempt)?.promised.push(...m.promises);
            break;
          default:
            break; // waits, logs and answers change nothing the log must hold before a success
        }
      }
    }
    if (entries.length < 1000) return seen;
  }
}

/** One XREAD answer: `[[key, [[entryId, fields], ...]], ...]` or null on timeout. */
export type XReadReply = [string, [string, string[]][]][] | null;

/**
 * Reads stream `key` after entry `from` until `closed()`, `count` entries per
 * XREAD (blocking up to 1 s), handing each entry to `onEntry` and each batch's
 * last id to `afterBatch`. While Redis is away it tries again every 200 ms.
 */
export async function followStream(
  reader: Redis,
  key: string,
  from: string,
  count: number,
  closed: () => boolean,
  onEntry: (fields: readonly string[]) => void,
  afterBatch?: (last: string, entries: number) => void,
): Promise<void> {
  let last = from;
  while (!closed()) {
    let reply: XReadReply;
    try {
      reply = (await reader.xread("COUNT", count, "BLOCK", 1000, "STREAMS", key, last)) as XReadReply;
    } catch {
      if (closed()) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    let n = 0;
    for (const [, entries] of reply ?? []) {
      for (const [entryId, fields] of entries) {
        last = entryId;
        n++;
        onEntry(fields);
      }
    }
    afterBatch?.(last, n);
  }
}
