import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLine, inlineRun, trellis } from "./cli-process.ts";

const tmp = mkdtempSync(join(tmpdir(), "trellis-cli-errors-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("trellis: every user error is one line and a usage exit code", () => {
  it("a bad flag exits 64 and names the flag", async () => {
    const r = await trellis(["run", "test/fixtures/cli-ok.ts", "--bogus"]);
    expect(r.code).toBe(64);
    expect(expectOneLine(r.stderr)).toContain("--bogus");
    expect(r.stderr).toContain("trellis run --help");
  });

  it("a bad flag value exits 64 and lists the choices", async () => {
    const r = await trellis(["run", "test/fixtures/cli-ok.ts", "--executor", "gpu"]);
    expect(r.code).toBe(64);
    expect(expectOneLine(r.stderr)).toMatch(/inline, threads, processes/);
    const w = await trellis(["run", "test/fixtures/cli-ok.ts", "--workers", "0"]);
    expect(w.code).toBe(64);
    expect(expectOneLine(w.stderr)).toContain("--workers");
  });

  it("an unknown command exits 64", async () => {
    const r = await trellis(["frobnicate"]);
    expect(r.code).toBe(64);
    expect(expectOneLine(r.stderr)).toContain("frobnicate");
  });

  it("a missing module exits 66 and names the path", async () => {
    const r = await trellis(["run", "test/fixtures/cli-nope.ts"]);
    expect(r.code).toBe(66);
    expect(expectOneLine(r.stderr)).toContain("test/fixtures/cli-nope.ts");
  });

  it("a module whose own import is missing exits 66 (as docs/cli.md says) and names the import", async () => {
    // .mts: the temporary folder has no package.json saying "type": "module".
    const file = join(tmp, "imports-missing.mts");
    writeFileSync(file, 'import { helper } from "./not-there.ts";\nexport default helper;\n');
    const r = await trellis(["run", file]);
    expect(r.code).toBe(66);
    const line = expectOneLine(r.stderr);
    expect(line).toContain("not-there.ts");
    expect(line).toContain("install or fix that import");
  });

  it("a module without an entry exits 64 and suggests --task with the tasks it has", async () => {
    const r = await trellis(["run", "test/fixtures/cli-no-entry.ts"]);
    expect(r.code).toBe(64);
    const line = expectOneLine(r.stderr);
    expect(line).toContain("export default");
    expect(line).toContain("--task");
    expect(line).toContain("cli_greet");
  });

  it("a module that throws while loading exits 65 with the reason", async () => {
    const r = await trellis(["run", "test/fixtures/cli-throws-on-import.ts"]);
    expect(r.code).toBe(65);
    expect(expectOneLine(r.stderr)).toContain("cli_dup");
  });

  it("malformed --input JSON exits 65 and shows the expected form", async () => {
    const r = await trellis(["run", "test/fixtures/cli-ok.ts", "--input", "{values: [1"]);
    expect(r.code).toBe(65);
    expect(expectOneLine(r.stderr)).toContain("--input");
  });

  it("a missing --input @file exits 66", async () => {
    const r = await trellis(["run", "test/fixtures/cli-ok.ts", "--input", "@no-such-inputs.json"]);
    expect(r.code).toBe(66);
    expect(expectOneLine(r.stderr)).toContain("no-such-inputs.json");
  });

  it("an unknown --task exits 64 and lists the tasks", async () => {
    const r = await trellis(["run", "test/fixtures/cli-ok.ts", "--task", "cli_nope"]);
    expect(r.code).toBe(64);
    const line = expectOneLine(r.stderr);
    expect(line).toContain("cli_nope");
    expect(line).toContain("cli_sum");
  });

  it("render of a malformed log exits 65 and names the line", async () => {
    const log = join(tmp, "bad.jsonl");
    writeFileSync(
      log,
      '{"v":1,"seq":1,"ts":"2024-01-01T00:00:00.000Z","runId":"r","type":"run.started","data":{"root":"r","task":"r","inputs":null,"options":{"executor":"inline","workers":1,"onViolation":"halt"}}}\nthis is not json\n',
    );
    const r = await trellis(["render", log]);
    expect(r.code).toBe(65);
    expect(expectOneLine(r.stderr)).toContain("bad.jsonl:2");
  });

  it("render of JSON lines that are not events exits 65", async () => {
    const log = join(tmp, "not-events.jsonl");
    writeFileSync(log, '{"hello":"world"}\n');
    const r = await trellis(["render", log]);
    expect(r.code).toBe(65);
    expect(expectOneLine(r.stderr)).toContain("not-events.jsonl:1");
  });

  it("render of a log of another format version exits 65, naming the version found and the ones supported", async () => {
    const log = join(tmp, "v2.jsonl");
    writeFileSync(
      log,
      '{"v":2,"seq":1,"ts":"2024-01-01T00:00:00.000Z","runId":"r","type":"run.started","data":{"root":"r"}}\n',
    );
    const r = await trellis(["render", log]);
    expect(r.code).toBe(65);
    const line = expectOneLine(r.stderr);
    expect(line).toContain("v=2");
    expect(line).toContain("version 1");
  });

  it("run with an --out that cannot be made (/proc/x) exits 73 at once", async () => {
    const r = await trellis(inlineRun("test/fixtures/cli-ok.ts", "/proc/trellis-out/x"), { timeoutMs: 30_000 });
    expect(r.code).toBe(73);
    expect(expectOneLine(r.stderr)).toContain("/proc/trellis-out");
  });

  it("render of a missing log exits 66", async () => {
    const r = await trellis(["render", join(tmp, "missing.jsonl")]);
    expect(r.code).toBe(66);
    expectOneLine(r.stderr);
  });

  it("no command prints the help and exits 64; --help exits 0 for each command", async () => {
    const none = await trellis([]);
    expect(none.code).toBe(64);
    expect(none.stderr).toContain("Usage: trellis");
    for (const cmd of ["run", "preview", "render", "demos"]) {
      const r = await trellis([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: trellis ${cmd}`);
    }
  });
});
