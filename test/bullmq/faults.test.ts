// Faults of the bullmq executor with real worker processes on the real Redis:
// a worker killed with SIGKILL in the middle of a run.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ErrorCodes, run } from "trellis";
import type { TrellisEvent } from "trellis";
import { distFlow } from "../../.tmp/fixtures/dist-flow.js";
import { eventsOf } from "../executors/helpers.ts";
import type { WorkerProcess } from "../helpers/bullmq.ts";
import { REDIS_URL, dropQueue, startWorker, stopWorkers, uniqueQueue } from "../helpers/bullmq.ts";

const queue = uniqueQueue("kill");
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  // The victim (kill-b) holds the leaves from 400 on until it is killed: when the test kills it, the attempts it
  // holds are still running there (not finished with their results on the way), on a fast machine or a slow one.
  workers = await Promise.all(
    ["kill-a", "kill-b", "kill-c"].map((name) =>
      startWorker({
        fixture: "dist-flow",
        queue,
        name,
        concurrency: 4,
        ...(name === "kill-b" ? { env: { DIST_LEAF_HOLD_FROM: "400" } } : {}),
      }),
    ),
  );
}, 120_000);

afterAll(async () => {
  await stopWorkers(workers);
  await dropQueue(queue);
}, 60_000);

test("SIGKILL of one of three workers in the middle of a 2,000-task run: the run succeeds, the attempts it held are re-hosted (not failed) and ran again elsewhere, no succeeded task ran twice", {
  timeout: 300_000,
}, async () => {
  const journal = join(mkdtempSync(join(tmpdir(), "trellis-kill-")), "journal.txt");
  const victim = workers[1] as WorkerProcess;
  // Kill once 300 leaves succeeded and the victim holds at least 3 leaves it never finishes (leaf i is
  // `dist_leaf#<i + 1>`; from i = 400 on, see beforeAll), so it dies with attempts running there.
  const onVictim = new Set<string>();
  const holding = (): number =>
    [...onVictim].filter((id) => Number(/\/dist_leaf#(\d+)$/.exec(id)?.[1] ?? 0) > 400).length;
  let succeeded = 0;
  let killedWith = -1;
  let checking = false;
  const observer = {
    onEvent(e: TrellisEvent): void {
      if (e.type === "task.placed" && e.data.worker === victim.name) onVictim.add(e.data.id);
      if (e.type === "task.succeeded") {
        onVictim.delete(e.data.id);
        succeeded++;
      }
      // Several attempts running there: none can be named the culprit, so all are re-hosted, not failed. Checked again
      // once the batch of messages being read is handled: a placed attempt whose result came in the same batch is not held.
      if (killedWith < 0 && !checking && succeeded >= 300 && holding() >= 3) {
        checking = true;
        setImmediate(() => {
          checking = false;
          if (killedWith >= 0 || holding() < 3) return;
          killedWith = onVictim.size;
          victim.child.kill("SIGKILL");
        });
      }
    },
  };
  const result = await run(
    distFlow,
    { n: 2000, group: 50, cap: 12, ms: 20, journal },
    { executor: "bullmq", redis: REDIS_URL, queue, keepEvents: true, observers: [observer] },
  );
  expect(killedWith).toBeGreaterThan(0);
  expect(await victim.exited).toBe("SIGKILL");
  expect(result.error).toBeNull();
  expect(result.status).toBe("succeeded");
  expect(result.output).toEqual({ sums: 40, total: 2000 * 1999 });

  // The attempts the victim held were re-hosted as #12's crash rules say (the same attempt, not a failed one: the
  // root has no retries) and ran again on the other workers, alone there when they had been running (suspects).
  const rehosted = eventsOf(result, "task.rehosted");
  expect(rehosted.length).toBeGreaterThan(0);
  // Each names the victim, or the job it took and died with before saying so (BullMQ's stalled-job check found it).
  const held = (worker: string): boolean => worker === victim.name || worker.startsWith("the worker that took job ");
  expect(rehosted.every((e) => held(e.data.worker) && e.data.reason === "lost")).toBe(true);
  // Only when a single attempt was still running there at its death (its siblings' results were on their way) is
  // that one the culprit: a failed attempt, which the leaves' retries cover.
  const crashed = eventsOf(result, "task.retrying").filter((e) => e.data.error.code === ErrorCodes.WORKER_CRASH);
  expect(crashed.length).toBeLessThanOrEqual(1);
  if (crashed.length === 0) expect(rehosted.some((e) => e.data.isolated)).toBe(true);
  expect(eventsOf(result, "task.failed")).toEqual([]);
  const all = result.events ?? [];
  for (const e of rehosted) {
    const again = all.find(
      (p) => p.type === "task.placed" && p.seq > e.seq && p.data.id === e.data.id && p.data.attempt === e.data.attempt,
    );
    expect(again?.type === "task.placed" && again.data.worker).toBeTruthy();
    expect(again?.type === "task.placed" && again.data.worker).not.toBe(victim.name);
  }
  // Every leaf's side effect happened, and none that succeeded ran again: a leaf written twice is one the victim held
  // when it died (it wrote its line, its result never left), re-hosted or retried as the culprit, so it ran again.
  const lines = readFileSync(journal, "utf8").trim().split("\n");
  const times = new Map<string, number>();
  for (const line of lines) {
    const id = line.split(" ")[0] ?? "";
    times.set(id, (times.get(id) ?? 0) + 1);
  }
  expect(times.size).toBe(2000);
  const lost = new Set([...rehosted, ...crashed].map((e) => e.data.id));
  const twice = [...times].filter(([, n]) => n > 1);
  expect(twice.every(([id, n]) => n === 2 && lost.has(id))).toBe(true);
});
