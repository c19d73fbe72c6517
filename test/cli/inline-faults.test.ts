// Process-level faults on the inline executor, where tasks run in the CLI's
// own process: a task's process.exit still ends the run in the log and the
// summary says why; a hard kill leaves every event flushed so far, even when
// a task blocks the event loop; a second Ctrl-C exits at once.
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TrellisEvent } from "trellis";
import { ErrorCodes } from "trellis";
import { ROOT, inlineRun, trellis } from "./cli-process.ts";

const tmp = mkdtempSync(join(tmpdir(), "trellis-cli-inline-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FIXTURE = ".tmp/fixtures/cli-inline-faults.js";

/** `trellis run` of the fixture on the inline executor, logging to `out`, drawing nothing; `flags` name the task and its input. */
function faultRun(out: string, ...flags: string[]): string[] {
  return inlineRun(FIXTURE, out, "--snapshots", "none", ...flags);
}

function events(out: string): TrellisEvent[] {
  return readFileSync(join(out, "events.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as TrellisEvent);
}

/** The CLI as a child process, its output collected; `until(text)` resolves once stderr holds `text`. */
function start(args: readonly string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ["bin/trellis.mjs", ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  const waiting: { text: string; resolve: () => void }[] = [];
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiting.filter((x) => stderr.includes(x.text))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    until: (text: string) =>
      stderr.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ text, resolve })),
  };
}

describe("inline executor: process-level faults", () => {
  it("a task's process.exit: the log gets its task.failed and run.finished, and the summary says what happened", async () => {
    const out = join(tmp, "exit");
    const r = await trellis([...faultRun(out), "--progress", "plain"]);
    expect(r.code).toBe(3);
    const log = events(out);
    const failed = log.find((e) => e.type === "task.failed");
    expect(failed?.data).toMatchObject({
      id: "inline_exit_parent/inline_exiter#1",
      error: { code: ErrorCodes.PROCESS_EXIT },
    });
    const last = log.at(-1);
    expect(last?.type).toBe("run.finished");
    expect(last?.data).toMatchObject({ status: "failed", error: { code: ErrorCodes.PROCESS_EXIT } });
    expect(r.stdout).toContain("FAILED");
    expect(r.stdout).toContain("process.exit(3) was called by inline_exit_parent/inline_exiter#1");
    expect(r.stdout).toContain("Do not call process.exit() in a task");
  });

  it("an error thrown from a task's timer ends the process: the log and the summary name it", async () => {
    const out = join(tmp, "uncaught");
    const r = await trellis([...faultRun(out, "--task", "inline_throw_parent"), "--progress", "off"]);
    expect(r.code).toBe(1);
    const last = events(out).at(-1);
    expect(last?.data).toMatchObject({
      status: "failed",
      error: { code: ErrorCodes.PROCESS_EXIT, cause: { message: "late boom" } },
    });
    expect(r.stdout).toContain(
      "an error nobody caught (Error: late boom) ended the process while inline_throw_parent/inline_thrower#1 ran",
    );
  });

  it("SIGKILL while a task blocks the event loop from the first turn: the log is not empty", async () => {
    const out = join(tmp, "blocked");
    const cli = start(faultRun(out, "--task", "inline_blocker", "--input", JSON.stringify({ out })));
    await cli.until("blocking");
    cli.child.kill("SIGKILL");
    expect((await cli.exited).signal).toBe("SIGKILL");
    expect(events(out)[0]).toMatchObject({ seq: 1, type: "run.started" });
  });

  it("SIGKILL while the run waits: every event up to the wait is in the log, in order", async () => {
    const out = join(tmp, "parked");
    const cli = start(faultRun(out, "--task", "inline_parker", "--input", JSON.stringify({ out })));
    await cli.until("on disk");
    cli.child.kill("SIGKILL");
    await cli.exited;
    const log = events(out);
    log.forEach((e, i) => expect(e.seq).toBe(i + 1));
    expect(log.map((e) => e.type)).toEqual(["run.started", "task.created", "task.started", "task.log"]);
  });

  it("Ctrl-C cancels the run; a second Ctrl-C exits at once, even with a task that never finishes", async () => {
    const out = join(tmp, "sigint");
    const cli = start(faultRun(out, "--task", "inline_parker", "--input", JSON.stringify({ out })));
    await cli.until("on disk");
    cli.child.kill("SIGINT");
    await cli.until("interrupted: cancelling the run");
    cli.child.kill("SIGINT");
    const end = await cli.exited;
    expect(end.code === 130 || end.signal === "SIGINT").toBe(true);
    expect(events(out).at(-1)).toMatchObject({ type: "run.finished", data: { status: "cancelled" } });
  });
});
