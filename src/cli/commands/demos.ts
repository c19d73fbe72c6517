/**
 * `trellis demos [names...]`: runs the demos of SPEC section 11, each in its
 * own child process (several demos reuse task names such as `square`, and
 * names are unique per process), prints one line per demo and exits 0 only
 * when every demo ended as expected (the violation demos are expected to halt).
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import type { Json } from "../../events/codec.ts";
import type { EventOf } from "../../events/types.ts";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes } from "../../report/exit-codes.ts";
import { DEMOS } from "../demo-list.ts";
import type { DemoExpectation } from "../demo-list.ts";
import type { ProgressMode } from "../../report/progress.ts";
import { detectProgressMode } from "../../report/progress.ts";
import { readEventLog } from "../../events/read-log.ts";
import { countFiles, describeDuration, describeFigures, describeValue } from "../../report/summary.ts";

/** The package root: bin/ and dist/ live there, whatever the current folder. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "bin", "trellis.mjs");
/** The demos compiled to JavaScript by the build (their sources are demos/*.ts in the repository). */
const DEMO_DIR = join(ROOT, "dist", "demos");

export interface DemosFlags {
  readonly outRoot?: string;
  readonly executor?: string;
  readonly workers?: number;
  readonly timeout?: number;
  readonly verbose?: boolean;
  readonly progress?: "auto" | ProgressMode;
}

/** What one demo did. */
export interface DemoOutcome {
  readonly demo: DemoExpectation;
  readonly ok: boolean;
  readonly status: string;
  readonly result: string;
  readonly snapshots: number;
  readonly images: number;
  readonly ms: number;
  readonly why: string | null;
  readonly log: string;
}

interface ChildResult {
  readonly code: number | null;
  readonly output: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

function runChild(args: string[], timeoutMs: number): Promise<ChildResult> {
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: process.cwd(), stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, output: Buffer.concat(chunks).toString("utf8"), timedOut, ms: performance.now() - started });
    });
  });
}

async function outcomeOf(demo: DemoExpectation, out: string, child: ChildResult): Promise<DemoOutcome> {
  const base = {
    demo,
    snapshots: countFiles(out, "dots"),
    images: countFiles(out, "pngs"),
    ms: child.ms,
    log: child.output,
  };
  if (child.timedOut) return { ...base, ok: false, status: "timeout", result: "", why: "did not finish in time" };
  let finished: EventOf<"run.finished"> | undefined;
  let violated: EventOf<"promise.violated"> | undefined;
  try {
    for await (const line of readEventLog(join(out, "events.jsonl"))) {
      if (line.kind !== "event") continue;
      const e = line.event;
      if (e.type === "run.finished") finished = e;
      else if (e.type === "promise.violated") violated ??= e;
    }
  } catch (error) {
    return {
      ...base,
      ok: false,
      status: "no log",
      result: "",
      why: error instanceof Error ? error.message : String(error),
    };
  }
  if (!finished)
    return {
      ...base,
      ok: false,
      status: "no end",
      result: "",
      why: `exit code ${String(child.code)} and no run.finished event`,
    };
  const status = finished.data.status;
  const result = violated
    ? `${violated.data.promise}: ${describeFigures(violated.data)}`
    : `result ${describeValue(finished.data.output as Json)}`;
  const problems: string[] = [];
  if (status !== demo.status) problems.push(`ended ${status}, expected ${demo.status}`);
  if (demo.output !== undefined && status === "succeeded" && !isDeepStrictEqual(finished.data.output, demo.output))
    problems.push(`result ${describeValue(finished.data.output)}, expected ${describeValue(demo.output)}`);
  if (demo.violation !== undefined && violated?.data.promise !== demo.violation)
    problems.push(`expected a broken ${demo.violation}`);
  // Every demo draws a PNG per snapshot (the default formats): missing images mean drawing failed.
  if (base.snapshots === 0) problems.push("no snapshots were drawn");
  else if (base.images !== base.snapshots)
    problems.push(`${base.snapshots} snapshots but ${base.images} PNG images; drawing failed (see the output below)`);
  const expectedCode = status === "succeeded" ? 0 : status === "halted" ? 2 : 1;
  if (child.code !== expectedCode) problems.push(`exit code ${String(child.code)}, expected ${expectedCode}`);
  return { ...base, ok: problems.length === 0, status, result, why: problems.length > 0 ? problems.join("; ") : null };
}

/** One line per demo: verdict, name, status, time, snapshots, result (last, as its length varies). */
export function formatDemoLine(o: DemoOutcome, nameWidth: number): string {
  const verdict = o.ok ? "ok  " : "FAIL";
  const shots = `${o.snapshots} snapshot${o.snapshots === 1 ? "" : "s"}${o.images !== o.snapshots ? ` (${o.images} png)` : ""}`;
  const line = `${verdict}  ${o.demo.name.padEnd(nameWidth)}  ${o.status.padEnd(9)}  ${describeDuration(o.ms).padStart(7)}  ${shots.padEnd(13)}  ${o.result}`;
  return o.why ? `${line}\n      ${o.why}` : line;
}

export async function demosCommand(names: readonly string[], flags: DemosFlags): Promise<ExitCode> {
  const unknown = names.filter((n) => !DEMOS.some((d) => d.name === n));
  if (unknown.length > 0)
    throw new CliError(
      ExitCodes.USAGE,
      `unknown demo "${unknown[0] ?? ""}"; the demos are: ${DEMOS.map((d) => d.name).join(", ")}`,
    );
  const chosen = names.length > 0 ? DEMOS.filter((d) => names.includes(d.name)) : DEMOS;
  const outRoot = resolve(flags.outRoot ?? "outputs");
  const mode =
    flags.progress === undefined || flags.progress === "auto" ? detectProgressMode(process.stderr) : flags.progress;
  const width = Math.max(...chosen.map((d) => d.name.length));
  const timeoutMs = (flags.timeout ?? 300) * 1000;
  const outcomes: DemoOutcome[] = [];
  const { default: ora } = await import("ora");
  for (const demo of chosen) {
    const out = join(outRoot, demo.name);
    // Stale snapshots of an earlier, longer run would be counted as this run's.
    for (const stale of ["events.jsonl", "dots", "pngs", "svgs"])
      rmSync(join(out, stale), { recursive: true, force: true });
    const args = ["run", join(DEMO_DIR, `${demo.name}.js`), "--out", out, "--progress", "off"];
    if (flags.executor !== undefined) args.push("--executor", flags.executor);
    if (flags.workers !== undefined) args.push("--workers", String(flags.workers));
    const spinner =
      mode === "tty" && process.stderr.columns > 0
        ? ora({ text: `${demo.name}…`, stream: process.stderr, discardStdin: false }).start()
        : null;
    const outcome = await outcomeOf(demo, out, await runChild(args, timeoutMs));
    spinner?.stop();
    outcomes.push(outcome);
    process.stdout.write(`${formatDemoLine(outcome, width)}\n`);
    if ((!outcome.ok || flags.verbose) && outcome.log.trim() !== "")
      process.stdout.write(`${outcome.log.replace(/^/gm, "      | ")}\n`);
  }
  const good = outcomes.filter((o) => o.ok).length;
  const shown = relative(process.cwd(), outRoot) || ".";
  process.stdout.write(
    `${good} of ${outcomes.length} demos ended as expected (the violation demos are expected to halt); outputs in ${shown.startsWith("..") || !existsSync(outRoot) ? outRoot : shown}/\n`,
  );
  return good === outcomes.length ? ExitCodes.OK : ExitCodes.FAILED;
}
