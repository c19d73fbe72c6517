/**
 * Durability costs (issue #12):
 *
 * - **Resume of a 100,000-task log**: a real inline run of the 100k fan-out
 *   writes its log; the log is cut back to the point where half the children
 *   had succeeded (what a kill leaves: the root waiting, 50,000 children
 *   pending), and `resume()` continues it. Measured: from calling `resume()`
 *   to the first new `task.started` (reading and folding the log, starting
 *   the engine), and to the end of the run.
 * - **The input hash**: `task.created` records `inputsHash` for every spawn.
 *   Its cost on the 100k inline fan-out is measured as the hash alone over
 *   the children's encoded inputs, against the fan-out's time; with
 *   `--baseline <dist dir>` (a build of Trellis before the hash, e.g. a
 *   worktree of the commit before it, built with `node scripts/build.mjs`)
 *   the same fan-out also runs on that build, alternating, median of 3.
 *
 *   npx tsx bench/resume.ts
 *   npx tsx bench/resume.ts --baseline /path/to/old/dist
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { RunObserver, TrellisEvent } from "trellis";
import { resume, run, task } from "trellis";
import { inputsHash } from "../dist/events/input-hash.js";
import { encode } from "../dist/events/codec.js";
import { commandFor, runCase } from "./lib/child.ts";
import { epochMs, isEntry, parseArgs, printResult } from "./lib/cli.ts";
import { benchRunOptions } from "./lib/engine-env.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { benchFanout } from "./tasks/noop-tasks.ts";

export const RESUME_GROUP = "Durability (resume from a log, the input hash)";
const FILE = "bench/resume.ts";
const N = 100_000;

interface ResumeCase {
  readonly n: number;
  readonly logLines: number;
  readonly logMiB: number;
  /** `resume()` call to the first `task.started` it commits, ms. */
  readonly firstStartMs: number;
  /** CPU time (user + system) of this process over the same span, ms: less sensitive than wall time to a loaded machine. */
  readonly firstStartCpuMs: number;
  /** `resume()` call to its return (the run finished), ms. */
  readonly resumeMs: number;
  readonly pendingAtResume: number;
}

/** Runs the fan-out, cuts its log where half the children succeeded, and resumes it. */
async function resumeCase(n: number): Promise<ResumeCase> {
  const { options, outDir, cleanup } = benchRunOptions({ executor: "inline", workers: 1 });
  try {
    const first = await run(benchFanout, { n }, options);
    if (first.status !== "succeeded") throw new Error(`the run to resume from ${first.status}`);
    const path = join(outDir, "events.jsonl");
    const lines = readFileSync(path, "utf8").split("\n");
    let succeeded = 0;
    let keep = lines.length;
    for (let i = 0; i < lines.length; i++)
      if ((lines[i] as string).includes('"type":"task.succeeded"') && ++succeeded === n / 2) {
        keep = i + 1;
        break;
      }
    const text = `${lines.slice(0, keep).join("\n")}\n`;
    writeFileSync(path, text);
    let firstStart = 0;
    let firstStartCpuMs = 0;
    const cpu0 = process.cpuUsage();
    const watch: RunObserver = {
      onEvent(event: TrellisEvent) {
        if (firstStart !== 0 || event.type !== "task.started") return;
        firstStart = epochMs();
        const used = process.cpuUsage(cpu0);
        firstStartCpuMs = (used.user + used.system) / 1000;
      },
    };
    const t0 = epochMs();
    const resumed = await resume(outDir, { executor: "inline", workers: 1, snapshots: "none", observers: [watch] });
    const resumeMs = epochMs() - t0;
    if (resumed.status !== "succeeded") throw new Error(`the resumed run ${resumed.status}`);
    return {
      n,
      logLines: keep,
      logMiB: Buffer.byteLength(text) / 2 ** 20,
      firstStartMs: firstStart - t0,
      firstStartCpuMs,
      resumeMs,
      pendingAtResume: n - n / 2,
    };
  } finally {
    cleanup();
  }
}

interface HashCase {
  readonly n: number;
  /** The fan-out of the build measured (spawn to waitForAll returning), ms. */
  readonly fanoutMs: number;
  /** inputsHash over the n children's encoded inputs, alone, ms (0 for a baseline build). */
  readonly hashMs: number;
}

/** The 100k inline fan-out on the Trellis at `dist` (default: this one), and the hash alone over its children's inputs. */
async function hashCase(n: number, dist: string | null): Promise<HashCase> {
  const t =
    dist === null
      ? { run, task }
      : ((await import(pathToFileURL(join(dist, "index.js")).href)) as { run: typeof run; task: typeof task });
  const noop = t.task({ name: "hash_noop" }, () => null);
  const fanout = t.task({ name: "hash_fanout" }, async (ctx, { n: count }: { n: number }) => {
    const start = epochMs();
    const hs = [];
    for (let i = 0; i < count; i++) hs.push(ctx.spawn(noop, {}));
    await ctx.waitForAll(hs);
    return epochMs() - start;
  });
  const { options, cleanup } = benchRunOptions({ executor: "inline", workers: 1 });
  try {
    const r = await t.run(fanout, { n }, options);
    if (r.status !== "succeeded" || typeof r.output !== "number") throw new Error(`fan-out ${r.status}`);
    let hashMs = 0;
    if (dist === null) {
      const encoded = encode({}, { strict: true, role: "inputs", label: "inputs" });
      const t0 = epochMs();
      let sink = 0;
      for (let i = 0; i < n; i++) sink += inputsHash(encoded).length;
      hashMs = epochMs() - t0;
      if (sink !== n * 16) throw new Error("the hash is not 16 characters");
    }
    return { n, fanoutMs: r.output, hashMs };
  } finally {
    cleanup();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** The rows of this group, each case in a fresh process. */
export async function resumeRows(options: BenchOptions & { baseline?: string | null }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const n = options.quick ? 20_000 : N;
  const nText = n.toLocaleString("en-US");
  const resumeArgs = ["--case", "resume", "--n", String(n)];
  try {
    const { result: r } = await runCase<ResumeCase>(FILE, resumeArgs);
    rows.push({
      group: RESUME_GROUP,
      name: `resume a ${nText}-task fan-out log cut at half (inline)`,
      metrics: {
        "log lines": r.logLines,
        "log MiB": r.logMiB,
        "to first task.started ms": r.firstStartMs,
        "… of it CPU ms": r.firstStartCpuMs,
        "resume() to end ms": r.resumeMs,
      },
      target: "≤ 2 s to the first new task start",
      met: r.firstStartMs <= 2000,
      headline: "to first task.started ms",
      command: commandFor(FILE, resumeArgs),
      note: `${r.pendingAtResume.toLocaleString("en-US")} children and the root left to run; the log is read, checked line by line and folded first`,
    });
  } catch (error) {
    rows.push(
      missingRow(
        RESUME_GROUP,
        `resume a ${nText}-task log`,
        commandFor(FILE, resumeArgs),
        (error as Error).message,
        "≤ 2 s to the first new task start",
      ),
    );
  }
  const hashArgs = ["--case", "hash", "--n", String(n)];
  try {
    const runs: HashCase[] = [];
    const base: HashCase[] = [];
    for (let i = 0; i < 3; i++) {
      runs.push((await runCase<HashCase>(FILE, hashArgs)).result);
      if (options.baseline)
        base.push((await runCase<HashCase>(FILE, [...hashArgs, "--dist", options.baseline])).result);
    }
    const fanoutMs = median(runs.map((r) => r.fanoutMs));
    const hashMs = median(runs.map((r) => r.hashMs));
    const estimate = (100 * hashMs) / (fanoutMs - hashMs);
    const baseMs = base.length > 0 ? median(base.map((r) => r.fanoutMs)) : null;
    const measured = baseMs === null ? null : (100 * (fanoutMs - baseMs)) / baseMs;
    rows.push({
      group: RESUME_GROUP,
      name: `inputsHash on the ${nText} inline fan-out`,
      metrics: {
        "fan-out ms": fanoutMs,
        "hash alone ms": hashMs,
        "hash share %": estimate,
        "without hash (baseline build) ms": baseMs,
        "with vs without %": measured,
      },
      target: "≤ 10 % overhead",
      met: (measured ?? estimate) <= 10,
      headline: measured === null ? "hash share %" : "with vs without %",
      command: commandFor(FILE, hashArgs),
      note:
        baseMs === null
          ? "median of 3 fresh processes; the share is the hash alone against the rest of the fan-out (pass --baseline <dist> for a side-by-side run)"
          : `median of 3 alternating fresh processes each; baseline: ${options.baseline}`,
    });
  } catch (error) {
    rows.push(
      missingRow(
        RESUME_GROUP,
        `inputsHash on the ${nText} inline fan-out`,
        commandFor(FILE, hashArgs),
        (error as Error).message,
        "≤ 10 % overhead",
      ),
    );
  }
  return rows;
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  const n = Number(args.get("n") ?? N);
  if (args.get("case") === "resume") printResult(await resumeCase(n));
  else if (args.get("case") === "hash") printResult(await hashCase(n, args.get("dist") ?? null));
  else {
    const rows = await resumeRows({ quick: args.has("quick"), baseline: args.get("baseline") ?? null });
    console.log(textTable(RESUME_GROUP, rows));
  }
}
