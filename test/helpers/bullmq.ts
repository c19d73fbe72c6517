// Shared by the bullmq tests: `trellis worker` processes started from the
// compiled CLI, each test file on its own queue of the real Redis.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";

export const REPO = join(import.meta.dirname, "..", "..");
export const REDIS_URL = process.env["TRELLIS_TEST_REDIS"] ?? "redis://127.0.0.1:6379";

/** A queue name no other test uses. */
export function uniqueQueue(label: string): string {
  return `test-${label}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

export interface WorkerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal) once it is gone. */
  readonly exited: Promise<number | string | null>;
}

export interface WorkerSpec {
  readonly fixture: string;
  readonly queue: string;
  readonly name: string;
  readonly redis?: string;
  readonly concurrency?: number;
  /** Command prefix, e.g. `["ip", "netns", "exec", "ns1"]`. */
  readonly prefix?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts `trellis worker .tmp/fixtures/<fixture>.js`; resolves once it serves the queue (or rejects with its stderr). */
export function startWorker(spec: WorkerSpec): Promise<WorkerProcess> {
  const args = [
    join(REPO, "bin", "trellis.mjs"),
    "worker",
    join(REPO, ".tmp", "fixtures", `${spec.fixture}.js`),
    "--redis",
    spec.redis ?? REDIS_URL,
    "--queue",
    spec.queue,
    "--name",
    spec.name,
    "--concurrency",
    String(spec.concurrency ?? 4),
  ];
  const [command, ...rest] =
    spec.prefix && spec.prefix.length > 0 ? [...spec.prefix, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(command as string, rest, {
    cwd: REPO,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...spec.env },
  });
  let err = "";
  child.stdout?.resume();
  const exited = new Promise<number | string | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal)),
  );
  return new Promise((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes("serves queue")) resolve({ name: spec.name, child, stderr: () => err, exited });
    });
    void exited.then((code) =>
      reject(new Error(`worker ${spec.name} exited (${String(code)}) before serving: ${err}`)),
    );
  });
}

/** Stops workers with SIGTERM (SIGKILL after 5 s) and waits until they are gone. */
export async function stopWorkers(workers: readonly WorkerProcess[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return;
      w.child.kill("SIGTERM");
      const timer = setTimeout(() => w.child.kill("SIGKILL"), 5000);
      await w.exited;
      clearTimeout(timer);
    }),
  );
}

/** Removes everything the queue left in Redis (BullMQ's keys and Trellis's streams). */
export async function dropQueue(queue: string, redis = REDIS_URL): Promise<void> {
  const q = new Queue(queue, { connection: { url: redis } });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  const conn = new Redis(redis);
  const keys = await conn.keys(`trellis:${queue}:*`);
  if (keys.length > 0) await conn.del(...keys);
  conn.disconnect();
}

/** The seconds to live (Redis `TTL`: -1 for none) of each key `trellis:<queue>:<kind>:*`, by key. */
export async function keyTtls(queue: string, kind: "run" | "up", redis = REDIS_URL): Promise<Map<string, number>> {
  const conn = new Redis(redis);
  try {
    const keys = await conn.keys(`trellis:${queue}:${kind}:*`);
    return new Map(await Promise.all(keys.map(async (k) => [k, await conn.ttl(k)] as const)));
  } finally {
    conn.disconnect();
  }
}

/** A TCP port nobody listens on now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Starts a test-owned `redis-server` on `port` that keeps nothing on disk,
 * bound to 127.0.0.1 and `extraBinds`, with `args` added; resolves once it
 * accepts connections (rejects with its output if it exits first).
 */
export async function startRedisServer(
  port: number,
  extraBinds: readonly string[] = [],
  args: readonly string[] = [],
): Promise<ChildProcess> {
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", ...extraBinds, "--save", "", "--appendonly", "no", ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    server.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) resolve();
    });
    server.on("exit", (code) => reject(new Error(`redis-server exited (${String(code)}): ${out}`)));
  });
  return server;
}
