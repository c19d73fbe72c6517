// The engine process is killed with SIGKILL at seeded random points (by the
// number of events on disk) of a 2,082-task workflow over three levels
// (test/fixtures/resume-flow.ts: a fan-out, data edges, two reduces), then
// `trellis resume` finishes it. Each time: the output is the uninterrupted
// run's, no task whose `task.succeeded` was on disk at the kill ran again
// (every task body appends its id to a journal, one journal per process),
// and the log folds to what the run reports. Some resumes are killed too,
// and resumed again.
//
// TRELLIS_KILL_POINTS sets the kill points per executor (default 4, to keep
// the suite's time; the 100 by hand: TRELLIS_KILL_POINTS=100
// TRELLIS_KILL_EXECUTORS=threads npx vitest run test/durability/kill.test.ts),
// TRELLIS_KILL_SEED the seed (default 12), TRELLIS_KILL_EXECUTORS the
// executors (default threads,processes).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, watch } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import type { TrellisEvent } from "trellis";
import { foldEvents } from "trellis";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin/trellis.mjs");
const FLOW = join(ROOT, ".tmp/fixtures/resume-flow.js");
const POINTS = Number(process.env["TRELLIS_KILL_POINTS"] ?? 4);
const SEED = Number(process.env["TRELLIS_KILL_SEED"] ?? 12);
/** Kill points whose resume is killed too (per executor). */
const RESUME_KILLS = Math.max(1, Math.round(POINTS / 8));
const EXECUTORS = (process.env["TRELLIS_KILL_EXECUTORS"] ?? "threads,processes").split(",") as (
  | "threads"
  | "processes"
)[];

/** mulberry32: a small seeded generator, so every kill point is reproducible. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Complete lines of the log (a line cut by the kill is not one). */
function logEvents(out: string): TrellisEvent[] {
  const text = readFileSync(join(out, "events.jsonl"), "utf8");
  const end = text.lastIndexOf("\n");
  return text
    .slice(0, end + 1)
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as TrellisEvent);
}

/**
 * Runs the CLI; with `killAt`, kills it with SIGKILL as soon as the log holds
 * that many lines (watching the file as it grows).
 */
function cli(args: readonly string[], journal: string, out: string, killAt: number | null): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, TRELLIS_JOURNAL: journal, CI: "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const log = join(out, "events.jsonl");
    let seen = 0;
    let lines = 0;
    let killed = false;
    const check = (): void => {
      if (killAt === null || killed || !existsSync(log)) return;
      const size = statSync(log).size;
      if (size <= seen) {
        if (size < seen) seen = lines = 0; // a resume truncated a cut line
        return;
      }
      const bytes = readFileSync(log).subarray(seen, size);
      seen = size;
      for (const b of bytes) if (b === 0x0a) lines++;
      if (lines >= killAt) {
        killed = true;
        child.kill("SIGKILL");
      }
    };
    // fs.watch may coalesce or miss changes: a tight interval backs it up.
    const watcher = killAt === null ? null : watch(out, check);
    const timer = killAt === null ? null : setInterval(check, 2);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      watcher?.close();
      if (timer) clearInterval(timer);
      resolve({ code, signal, stderr });
    });
  });
}

function journalIds(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
}

function succeeded(events: readonly TrellisEvent[]): Set<string> {
  return new Set(events.filter((e) => e.type === "task.succeeded").map((e) => (e.data as { id: string }).id));
}

function finished(events: readonly TrellisEvent[]) {
  const last = events.at(-1);
  return last?.type === "run.finished" ? last.data : null;
}

/** The log's last complete state agrees with what the run wrote in run.finished, and seq has no gap. */
function expectConsistent(events: readonly TrellisEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  const plan = foldEvents(events);
  const end = finished(events);
  expect(end).not.toBeNull();
  expect(plan.status).toBe(end?.status);
  expect(plan.counts).toEqual(end?.counts);
  expect(plan.output).toEqual(end?.output);
}

const common = ["--snapshots", "none", "--progress", "off", "--workers", "2"];

describe.each(EXECUTORS)("SIGKILL at random event counts, then trellis resume (%s)", (executor) => {
  let reference: { output: unknown; lines: number };
  const rand = random(SEED + (executor === "threads" ? 0 : 1000));

  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), `kill-ref-${executor}-`));
    const done = await cli(
      ["run", FLOW, "--out", out, "--executor", executor, ...common],
      join(out, "journal"),
      out,
      null,
    );
    expect(done.code, done.stderr).toBe(0);
    const events = logEvents(out);
    expect(finished(events)?.status).toBe("succeeded");
    expect(foldEvents(events).nodes.size).toBeGreaterThanOrEqual(2000);
    reference = { output: finished(events)?.output, lines: events.length };
  }, 60_000);

  const points = Array.from({ length: POINTS }, (_, i) => i + 1);
  test.each(points)(
    "kill point %i",
    async (point) => {
      const killAt = 20 + Math.floor(rand() * (reference.lines - 40));
      const killResumeToo = point <= RESUME_KILLS;
      const out = mkdtempSync(join(tmpdir(), `kill-${executor}-${point}-`));
      const first = await cli(
        ["run", FLOW, "--out", out, "--executor", executor, ...common],
        join(out, "journal-0"),
        out,
        killAt,
      );
      const atKill = logEvents(out);
      if (first.signal !== "SIGKILL") {
        // The run ended before the log held killAt lines (the last flush came all at once): nothing to resume.
        expect(finished(atKill)?.output).toEqual(reference.output);
        return;
      }
      let before = atKill;
      for (let phase = 1; finished(before) === null; phase++) {
        // Kill the first resume too (at some point of what is left) on some points; every resume is resumed.
        const killResumeAt =
          killResumeToo && phase === 1
            ? before.length + 5 + Math.floor(rand() * Math.max(1, reference.lines - before.length - 10))
            : null;
        const resumed = await cli(["resume", out, ...common], join(out, `journal-${phase}`), out, killResumeAt);
        const after = logEvents(out);
        const done = succeeded(before);
        for (const id of journalIds(join(out, `journal-${phase}`)))
          expect(done.has(id), `${id} ran again after its success was logged`).toBe(false);
        // What a resume appends starts with run.resumed, seq going on from the log's last complete line.
        if (after.length > before.length)
          expect(after[before.length]).toMatchObject({
            type: "run.resumed",
            seq: before.length + 1,
            data: { fromSeq: before.length },
          });
        if (resumed.signal !== "SIGKILL") expect(resumed.code, resumed.stderr).toBe(0);
        before = after;
      }
      // A kill that came after run.finished was written leaves nothing to resume: resume says so, and exits 0.
      if (finished(atKill) !== null) {
        const again = await cli(["resume", out, ...common], join(out, "journal-again"), out, null);
        expect(again.code).toBe(0);
        expect(again.stderr).toMatch(/already finished \(succeeded\)/);
      } else expect(before.filter((e) => e.type === "run.resumed").length).toBeGreaterThanOrEqual(1);
      expect(finished(before)?.output).toEqual(reference.output);
      expectConsistent(before);
      // The suite checks every log left under its temp folder against the schema; a hand-run of 100 points keeps the first few.
      if (point > 8) rmSync(out, { recursive: true, force: true });
    },
    60_000,
  );
});
