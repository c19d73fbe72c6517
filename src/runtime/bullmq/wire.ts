/**
 * What the `bullmq` executor's coordinator and its remote workers agree on:
 * the Redis keys, the data of a job, the messages on the two streams, and
 * the defaults of the fault handling.
 *
 * - Each attempt is one BullMQ job on queue `<queue>` (data: {@link JobData}).
 *   A job names a task definition; the worker looks it up in the definitions
 *   its own modules registered. Nothing in a job is ever imported or run as code.
 * - Worker → coordinator: the stream {@link upKey} of the run (each entry one
 *   batch of {@link UpMessage}s, in the order the worker sent them).
 * - Coordinator → workers: the stream {@link downKey} of the queue (each entry
 *   one batch of `resume` / `abort` messages for one run, read by every worker,
 *   which ignores the attempts it does not host).
 * - Liveness: each worker bumps its counter in {@link beatsKey} every
 *   {@link HEARTBEAT_MS}; the coordinator deems a worker whose counter stopped
 *   for its `leaseMs` gone, and fails the attempts it hosted with `WORKER_CRASH`.
 */
import { Redis } from "ioredis";
import type { Json } from "../../events/codec.ts";
import type { HostToWorker, WorkerToHost } from "../worker/protocol.ts";

/** Queue name when none is given. */
export const DEFAULT_QUEUE = "trellis";
/** Largest encoded output (bytes of JSON) a remote attempt may send back, by default: 16 MiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** How often a worker proves it is alive. */
export const HEARTBEAT_MS = 1000;
/** A worker silent for this long is gone, by default (its attempts fail with `WORKER_CRASH`). */
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

/** The data of one job: one attempt. */
export interface JobData {
  /** The coordinator's stream token for this run (unique per run, unlike the run id). */
  readonly reply: string;
  readonly runId: string;
  readonly id: string;
  readonly attempt: number;
  /** The definition's name: looked up in the worker's registry, never loaded. */
  readonly task: string;
  /** Encoded inputs, every `From` resolved. */
  readonly inputs: Json;
  readonly maxOutputBytes: number;
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
 * A connection to `url` (`redis://[:password@]host:port[/db]`, or `rediss://`
 * for TLS, passed to ioredis as is). `maxRetriesPerRequest: null` is what
 * BullMQ requires of the connections its workers block on.
 */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
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
