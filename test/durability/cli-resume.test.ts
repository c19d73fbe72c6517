// `trellis resume <out-dir>` as a user runs it: what it says and its exit codes.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { expectOneLine, trellis } from "../cli/cli-process.ts";

const FLOW = ".tmp/fixtures/cli-ok.js";
const quiet = ["--snapshots", "none", "--progress", "off"];

describe("trellis resume", () => {
  test("a run that already finished is not resumed: one line, and the exit code of how it ended", async () => {
    const out = mkdtempSync(join(tmpdir(), "cli-resume-"));
    expect((await trellis(["run", FLOW, "--out", out, "--executor", "inline", ...quiet])).code).toBe(0);
    const before = readFileSync(join(out, "events.jsonl"), "utf8");
    const again = await trellis(["resume", out, ...quiet]);
    expect(again.code).toBe(0);
    expect(expectOneLine(again.stderr)).toMatch(
      /already finished \(succeeded\) at event \d+: there is nothing to resume/,
    );
    expect(readFileSync(join(out, "events.jsonl"), "utf8")).toBe(before);
  });

  test("a crashed run is resumed from the modules its log records, or from --module; the cut last line is reported", async () => {
    const out = mkdtempSync(join(tmpdir(), "cli-resume-"));
    expect((await trellis(["run", FLOW, "--out", out, "--executor", "inline", ...quiet])).code).toBe(0);
    const lines = readFileSync(join(out, "events.jsonl"), "utf8").split("\n");
    writeFileSync(join(out, "events.jsonl"), `${lines.slice(0, 6).join("\n")}\n${(lines[6] ?? "").slice(0, 9)}`);
    const resumed = await trellis(["resume", out, ...quiet]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(expectOneLine(resumed.stderr)).toMatch(
      /^trellis: warning: the last line of .* was cut off by the crash \(9 bytes after event 6\)/,
    );
    expect(resumed.stdout).toMatch(/output\s+12/);
    writeFileSync(join(out, "events.jsonl"), `${lines.slice(0, 6).join("\n")}\n`);
    const byModule = await trellis([
      "resume",
      out,
      "--module",
      FLOW,
      "--executor",
      "threads",
      "--workers",
      "1",
      ...quiet,
    ]);
    expect(byModule.code, byModule.stderr).toBe(0);
    expect(byModule.stdout).toMatch(/output\s+12/);
  });

  test("a folder without a log is a usage error that names the file", async () => {
    const out = mkdtempSync(join(tmpdir(), "cli-resume-"));
    const missing = await trellis(["resume", out]);
    expect(missing.code).toBe(66);
    expect(expectOneLine(missing.stderr)).toMatch(/cannot find .*events\.jsonl; name the output folder of a run/);
  });
});
