/**
 * `trellis view` and `trellis run --view` as a user runs them: the URL they
 * print, the log they serve, Ctrl-C, the one-line errors, and `--open`
 * (with `BROWSER` naming a script that hands the URL it was given to the
 * test through a named pipe: no sleeps, the read returns when it wrote).
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { commandWords, openCommands } from "../../dist/cli/open-browser.js";
import type { LogMessage } from "../../dist/view/server.js";
import { ROOT, expectOneLine, inlineRun, trellis } from "../cli/cli-process.ts";
import { runLog, tempDir } from "./view-helpers.ts";

const BIN = fileURLToPath(new URL("../../bin/trellis.mjs", import.meta.url));

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves with the exit code and what it wrote. */
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves when the output so far matches. */
  waitFor(pattern: RegExp, stream: "stdout" | "stderr"): Promise<string>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** Starts the command and resolves once it printed the viewer's URL on `stream`. */
async function start(
  args: readonly string[],
  stream: "stdout" | "stderr",
  env: Record<string, string> = {},
): Promise<Started> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: "1", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const text = { stdout: "", stderr: "" };
  const waiters: (() => void)[] = [];
  for (const s of ["stdout", "stderr"] as const)
    child[s]?.on("data", (chunk: Buffer) => {
      text[s] += chunk.toString("utf8");
      for (const w of waiters.splice(0)) w();
    });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => {
      resolve({ code, ...text });
      for (const w of waiters.splice(0)) w();
    }),
  );
  const waitFor = async (pattern: RegExp, s: "stdout" | "stderr"): Promise<string> => {
    for (;;) {
      const m = pattern.exec(text[s]);
      if (m) return m[1] ?? m[0];
      if (child.exitCode !== null)
        throw new Error(
          `the command ended (exit ${child.exitCode}) without printing ${pattern}:\n${text.stdout}\n${text.stderr}`,
        );
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const url = await waitFor(/viewer: (http:\/\/127\.0\.0\.1:\d+\/)/, stream);
  return { child, url, exited, waitFor };
}

/** Reads the viewer's stream until a message says the run finished. */
async function untilFinished(url: string): Promise<LogMessage[]> {
  const controller = new AbortController();
  const res = await fetch(`${url}api/stream`, { signal: controller.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const messages: LogMessage[] = [];
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended before run.finished");
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const data = buffer
          .slice(0, end)
          .split("\n")
          .find((l) => l.startsWith("data: "));
        buffer = buffer.slice(end + 2);
        if (data === undefined) continue;
        const m = JSON.parse(data.slice(6)) as LogMessage;
        messages.push(m);
        if (m.last?.type === "run.finished") return messages;
      }
    }
  } finally {
    controller.abort();
  }
}

/**
 * A stand-in browser: a script that writes the arguments it was started with to a named pipe,
 * and the pipe's next contents (they arrive when the script has run).
 */
function fakeBrowser(): { script: string; received(): Promise<string> } {
  const dir = tempDir("trellis-browser-");
  const pipe = join(dir, "opened");
  execFileSync("mkfifo", [pipe]);
  const script = join(dir, "browser.sh");
  writeFileSync(script, `#!/bin/sh\nprintf '%s' "$*" > '${pipe}'\n`);
  chmodSync(script, 0o755);
  return { script, received: () => readFile(pipe, "utf8") };
}

/** A stand-in browser that cannot open anything. */
function brokenBrowser(): string {
  const script = join(tempDir("trellis-browser-"), "broken.sh");
  writeFileSync(script, "#!/bin/sh\necho 'no display' >&2\nexit 3\n");
  chmodSync(script, 0o755);
  return script;
}

/** Ctrl-C to a viewer: it must stop with exit 0; what it printed. */
async function interrupt(s: Started): Promise<{ code: number | null; stdout: string; stderr: string }> {
  s.child.kill("SIGINT");
  const done = await s.exited;
  expect(done.code).toBe(0);
  return done;
}

describe("trellis view", () => {
  it("serves a run's output folder on 127.0.0.1 until Ctrl-C", async () => {
    const log = await runLog();
    const out = tempDir();
    copyFileSync(log, join(out, "events.jsonl"));
    const s = await start(["view", out], "stdout");
    const body = (await (await fetch(`${s.url}api/log`)).json()) as LogMessage;
    expect(body.runId).toBe("view_main-1");
    expect(body.last?.type).toBe("run.finished");
    expect((await fetch(s.url)).status).toBe(200);
    expect((await interrupt(s)).stderr).toBe("");
  });

  it("--open starts the browser BROWSER names at the page's URL", async () => {
    const out = tempDir();
    copyFileSync(await runLog(), join(out, "events.jsonl"));
    const browser = fakeBrowser();
    const s = await start(["view", out, "--open"], "stdout", { BROWSER: browser.script });
    expect(await browser.received()).toBe(s.url);
    expect(await (await fetch(s.url)).text()).toContain("<html");
    expect(((await (await fetch(`${s.url}api/log`)).json()) as LogMessage).runId).toBe("view_main-1");
    expect((await interrupt(s)).stderr).toBe("");
  });

  it("--open with no browser that works says so in a note, and keeps serving", async () => {
    const out = tempDir();
    copyFileSync(await runLog(), join(out, "events.jsonl"));
    const broken = brokenBrowser();
    const s = await start(["view", out, "--open"], "stdout", { BROWSER: `/no/such/browser:${broken}` });
    const note = await s.waitFor(/^trellis: note: (.*)$/m, "stderr");
    expect(note).toBe(
      `could not open a browser (from BROWSER): /no/such/browser did not start (spawn /no/such/browser ENOENT); ${broken} exited with code 3; open ${s.url} yourself`,
    );
    expect((await fetch(s.url)).status).toBe(200);
    expect(((await (await fetch(`${s.url}api/log`)).json()) as LogMessage).last?.type).toBe("run.finished");
    expect((await interrupt(s)).stderr).toBe(`trellis: note: ${note}\n`);
  });

  it("reads BROWSER as Python does: commands tried in order, %s for the URL, quotes grouping words", () => {
    const url = "http://127.0.0.1:8080/";
    expect(openCommands(url, { BROWSER: "firefox --new-window:chromium" }, "linux")).toEqual([
      ["firefox", "--new-window", url],
      ["chromium", url],
    ]);
    expect(openCommands(url, { BROWSER: `open -a "Google Chrome" --args %s` }, "darwin")).toEqual([
      ["open", "-a", "Google Chrome", "--args", url],
    ]);
    expect(openCommands(url, { BROWSER: "" }, "linux")).toEqual([["xdg-open", url]]);
    expect(openCommands(url, {}, "darwin")).toEqual([["open", url]]);
    expect(openCommands(url, {}, "win32")).toEqual([["cmd", "/c", "start", "", url]]);
    expect(commandWords(`  a 'b c'  "" d`)).toEqual(["a", "b c", "", "d"]);
  });

  it("fails in one line for a missing folder, a folder without a log, a bad port and a port in use", async () => {
    const missing = await trellis(["view", "no/such/folder"]);
    expect(missing.code).toBe(66);
    expect(expectOneLine(missing.stderr)).toContain('cannot find "no/such/folder"');

    const empty = tempDir();
    const noLog = await trellis(["view", empty]);
    expect(noLog.code).toBe(66);
    expect(expectOneLine(noLog.stderr)).toContain("holds no events.jsonl");

    const badPort = await trellis(["view", empty, "--port", "99999"]);
    expect(badPort.code).toBe(64);
    expect(expectOneLine(badPort.stderr)).toContain("expected a port from 0");

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const out = tempDir();
      copyFileSync(await runLog(), join(out, "events.jsonl"));
      const inUse = await trellis(["view", out, "--port", String((taken.address() as AddressInfo).port)]);
      expect(inUse.code).toBe(64);
      expect(expectOneLine(inUse.stderr)).toMatch(
        /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*pick another --port/,
      );
    } finally {
      taken.close();
    }
  });
});

/** `trellis run --view` of the cli-ok fixture, inline, logging to `out`. */
function liveRunArgs(out: string): string[] {
  return inlineRun("test/fixtures/cli-ok.ts", out, "--formats", "none", "--progress", "off", "--view");
}

describe("trellis run --view", () => {
  it("serves the run in progress, and after it until Ctrl-C; the exit code is the run's", async () => {
    const out = join(tempDir(), "run");
    mkdirSync(out);
    // An earlier run's log in the folder is not shown as this run's.
    copyFileSync(await runLog(), join(out, "events.jsonl"));
    const s = await start(liveRunArgs(out), "stderr");
    const messages = await untilFinished(s.url);
    expect(messages.every((m) => m.runId === "" || m.runId === "cli_sum-1")).toBe(true);
    await s.waitFor(/the viewer stays open at/, "stderr");
    expect((await interrupt(s)).stdout).toContain("cli-ok: succeeded");
  });

  it("--view --open starts the browser at the live page", async () => {
    const out = join(tempDir(), "run");
    const browser = fakeBrowser();
    const s = await start([...liveRunArgs(out), "--open"], "stderr", { BROWSER: browser.script });
    expect(await browser.received()).toBe(s.url);
    await untilFinished(s.url);
    await s.waitFor(/the viewer stays open at/, "stderr");
    expect((await interrupt(s)).stderr).not.toContain("note:");
  });

  it("refuses viewer flags without --view", async () => {
    const r = await trellis(["run", "test/fixtures/cli-ok.ts", "--port", "8080"]);
    expect(r.code).toBe(64);
    expect(expectOneLine(r.stderr)).toContain("add --view");
  });
});
