// A bullmq coordinator killed (SIGKILL) while its remote workers go on: the
// attempts that finish meanwhile leave their results in Redis, and
// `trellis resume` records them (succeeded, with their output, on the worker
// that ran them) instead of running those tasks again.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { TrellisEvent } from "trellis";
import { trellis } from "../cli/cli-process.ts";
import type { WorkerProcess } from "../helpers/bullmq.ts";
import { REDIS_URL, REPO, dropQueue, keyTtls, startWorker, stopWorkers, uniqueQueue } from "../helpers/bullmq.ts";

const queue = uniqueQueue("resume");
const workers: WorkerProcess[] = [];
const fixture = join(REPO, ".tmp", "fixtures", "dist-flow.js");
const quiet = ["--formats", "none", "--snapshots", "none", "--progress", "off"];

beforeAll(async () => {
  workers.push(await startWorker({ fixture: "dist-flow", queue, name: "resume-w", concurrency: 8 }));
}, 60_000);

afterAll(async () => {
  await stopWorkers(workers);
  await dropQueue(queue);
}, 60_000);

function events(out: string): TrellisEvent[] {
  return readFileSync(join(out, "events.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.endsWith("}"))
    .map((l) => JSON.parse(l) as TrellisEvent);
}

/** Resolves once `check()` holds, looking every 20 ms (a gate on another process's progress, not a timing). */
async function until(what: string, check: () => boolean, limitMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("SIGKILL of the coordinator while its leaves run on a worker: they finish meanwhile, and trellis resume collects their results instead of running them again", {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "trellis-bull-resume-"));
  const out = join(dir, "out");
  const gate = join(dir, "gate");
  const journal = join(dir, "journal.txt");
  writeFileSync(journal, "");
  const n = 6;
  const coordinator = spawn(
    process.execPath,
    [
      join(REPO, "bin", "trellis.mjs"),
      "run",
      fixture,
      "--task",
      "gated_flow",
      "--input",
      JSON.stringify({ n, gate, journal }),
      "--executor",
      "bullmq",
      "--redis",
      REDIS_URL,
      "--queue",
      queue,
      "--out",
      out,
      ...quiet,
    ],
    { cwd: REPO, stdio: "ignore" },
  );
  const gone = new Promise((resolve) => coordinator.on("exit", (_code, signal) => resolve(signal)));
  const leafPlaced = (): number =>
    existsSync(join(out, "events.jsonl"))
      ? events(out).filter((e) => e.type === "task.placed" && e.data.id.startsWith("gated_flow/")).length
      : 0;
  // Every leaf is on the worker, held by the gate: the coordinator dies.
  await until("the leaves to be placed", () => leafPlaced() === n);
  coordinator.kill("SIGKILL");
  expect(await gone).toBe("SIGKILL");

  // The log as a coordinator killed a moment earlier would leave it: it saw the leaves start but not where they landed.
  const lines = readFileSync(join(out, "events.jsonl"), "utf8").split("\n");
  const lastStart = lines.findLastIndex((l) => l.includes('"task.started"') && l.includes("gated_flow/gated_leaf"));
  writeFileSync(join(out, "events.jsonl"), `${lines.slice(0, lastStart + 1).join("\n")}\n`);
  const cut = events(out);
  expect(cut.filter((e) => e.type === "task.placed" && e.data.id !== "gated_flow")).toEqual([]);
  expect(cut.filter((e) => e.type === "task.started").length).toBe(1 + n);

  // With no coordinator, the leaves finish and leave their results in Redis.
  writeFileSync(gate, "");
  await until("the leaves to finish", () => readFileSync(journal, "utf8").trim().split("\n").length === n);
  // What the dead coordinator left in Redis is kept for a resume, and only for a week (no run record lives forever).
  for (const kind of ["run", "up"] as const) {
    const ttls = [...(await keyTtls(queue, kind)).values()];
    expect(ttls.length, kind).toBe(1);
    expect(
      ttls.every((t) => t > 7 * 24 * 3600 - 120 && t <= 7 * 24 * 3600),
      `${kind}: ${ttls}`,
    ).toBe(true);
  }

  const resumed = await trellis(
    ["resume", out, "--executor", "bullmq", "--redis", REDIS_URL, "--queue", queue, ...quiet],
    { timeoutMs: 100_000 },
  );
  expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
  expect(resumed.stdout).toMatch(/output\s+150/);

  // No leaf ran twice: each appended its line once, in its first attempt.
  const ran = readFileSync(journal, "utf8").trim().split("\n").sort();
  expect(ran).toEqual(Array.from({ length: n }, (_, i) => `gated_flow/gated_leaf#${i + 1} 1`).sort());

  const all = events(out);
  const at = all.findIndex((e) => e.type === "run.resumed");
  const after = all.slice(at + 1);
  const leaf = (e: TrellisEvent): boolean => "id" in e.data && String(e.data.id).startsWith("gated_flow/");
  // Recorded as the first attempts' successes, with their outputs, on the worker that ran them; none started again.
  expect(after.filter((e) => e.type === "task.started" && leaf(e))).toEqual([]);
  const succeeded = after.filter((e) => e.type === "task.succeeded" && leaf(e));
  expect(succeeded.map((e) => e.type === "task.succeeded" && e.data.output).sort()).toEqual([0, 10, 20, 30, 40, 50]);
  const placed = after.filter((e) => e.type === "task.placed" && leaf(e));
  expect(placed.map((e) => e.type === "task.placed" && `${e.data.worker} ${e.data.attempt}`)).toEqual(
    Array.from({ length: n }, () => "resume-w 1"),
  );
  const finished = all.at(-1);
  expect(finished?.type === "run.finished" && finished.data.status).toBe("succeeded");
});
