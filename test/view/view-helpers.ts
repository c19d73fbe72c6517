/**
 * Helpers of the viewer tests: a run's log to look at (the fixture of
 * `test/fixtures/view-flows.ts`, run inline once per test file), temporary
 * folders, and headless Chromium through playwright-core.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";
import { run } from "trellis";
import { viewFanout, viewMain } from "../fixtures/view-flows.ts";

export function tempDir(prefix = "trellis-view-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let fixtureLog: Promise<string> | null = null;

/** The events.jsonl of one run of `view_main` over 1, 2, 3 (a violation under `reject`, a failed retry, an HTML task name). */
export function runLog(): Promise<string> {
  fixtureLog ??= (async () => {
    const out = tempDir("trellis-view-run-");
    await run(
      viewMain,
      { numbers: [1, 2, 3] },
      { executor: "inline", out, formats: [], snapshots: "none", onViolation: "reject" },
    );
    return join(out, "events.jsonl");
  })();
  return fixtureLog;
}

/** The events.jsonl of a run of `view_fanout` with `n` children (inline, no snapshots). */
export async function fanoutLog(n: number): Promise<string> {
  const out = tempDir("trellis-view-fanout-");
  await run(viewFanout, { n }, { executor: "inline", out, formats: [], snapshots: "none" });
  return join(out, "events.jsonl");
}

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** Runs a compiled demo inline (`trellis run dist/demos/<name>.js`) and returns its log's path (a violation demo halts: exit code 2). */
export async function demoRunLog(name: string): Promise<string> {
  const out = tempDir(`trellis-view-${name}-`);
  const args = [
    join(REPO, "bin", "trellis.mjs"),
    "run",
    join(REPO, "dist", "demos", `${name}.js`),
    "--out",
    out,
    "--executor",
    "inline",
    "--snapshots",
    "none",
    "--progress",
    "off",
  ];
  await new Promise<void>((resolve) => execFile(process.execPath, args, { cwd: REPO }, () => resolve()));
  return join(out, "events.jsonl");
}

/** The log's lines, each with its newline. */
export function logLines(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => `${l}\n`);
}

export const CHROMIUM = process.env["TRELLIS_CHROMIUM"] ?? "/usr/bin/chromium";

/** Headless Chromium with no network traffic of its own (the machine may have no network). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
