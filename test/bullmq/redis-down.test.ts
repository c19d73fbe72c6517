// Redis itself failing under a bullmq run: a test-owned redis-server that is
// paused for a moment (the run waits and goes on), then killed (the run fails
// with REDIS_UNREACHABLE after redisDownMs, never hangs).
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ErrorCodes, bullmqExecutor, run } from "trellis";
import type { TrellisEvent } from "trellis";
import { distFlow } from "../../.tmp/fixtures/dist-flow.js";
import { eventsOf } from "../executors/helpers.ts";
import type { WorkerProcess } from "../helpers/bullmq.ts";
import { freePort, startRedisServer, startWorker, stopWorkers, uniqueQueue } from "../helpers/bullmq.ts";

let redis: ChildProcess | undefined;
let url = "";
const queue = uniqueQueue("down");
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = await startRedisServer(port);
  workers = [await startWorker({ fixture: "dist-flow", queue, name: "down-a", redis: url, concurrency: 4 })];
}, 60_000);

afterAll(async () => {
  await stopWorkers(workers);
  redis?.kill("SIGKILL");
}, 60_000);

/** Calls `act` once `count` leaves succeeded. */
function after(count: number, act: () => void): { onEvent(e: TrellisEvent): void } {
  let done = 0;
  return {
    onEvent(e) {
      if (e.type === "task.succeeded" && ++done === count) act();
    },
  };
}

test("Redis paused for a second and a half: the run waits and then succeeds", { timeout: 120_000 }, async () => {
  const server = redis as ChildProcess;
  const pause = after(50, () => {
    server.kill("SIGSTOP");
    setTimeout(() => server.kill("SIGCONT"), 1500);
  });
  const executor = await bullmqExecutor({ redis: url, queue, redisDownMs: 10_000 });
  const result = await run(
    distFlow,
    { n: 200, group: 20, cap: 8, ms: 5, journal: "" },
    { executor, observers: [pause] },
  );
  expect(result.error).toBeNull();
  expect(result.status).toBe("succeeded");
  expect(result.output).toEqual({ sums: 10, total: 200 * 199 });
});

test("Redis gone for longer than redisDownMs: the run fails with REDIS_UNREACHABLE, saying what to check", {
  timeout: 120_000,
}, async () => {
  const server = redis as ChildProcess;
  const kill = after(50, () => server.kill("SIGKILL"));
  const executor = await bullmqExecutor({ redis: url, queue, redisDownMs: 2000 });
  const result = await run(
    distFlow,
    { n: 400, group: 20, cap: 8, ms: 5, journal: "" },
    { executor, observers: [kill], keepEvents: true },
  );
  expect(result.status).toBe("failed");
  const codes = new Set(eventsOf(result, "task.failed").map((e) => e.data.error.code));
  expect(codes.has(ErrorCodes.REDIS_UNREACHABLE)).toBe(true);
  const error = eventsOf(result, "task.failed").find((e) => e.data.error.code === ErrorCodes.REDIS_UNREACHABLE)?.data
    .error;
  expect(error?.message).toContain("redisDownMs");
});
