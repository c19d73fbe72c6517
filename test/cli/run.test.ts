import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runIfMain, task } from "trellis";
import { ROOT, inlineRun, trellis } from "./cli-process.ts";

const tmp = mkdtempSync(join(tmpdir(), "trellis-cli-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function finished(out: string): { status: string; output: unknown } {
  const lines = readFileSync(join(out, "events.jsonl"), "utf8").trim().split("\n");
  const last = JSON.parse(lines.at(-1) ?? "{}") as { type: string; data: { status: string; output: unknown } };
  expect(last.type).toBe("run.finished");
  return last.data;
}

describe("trellis run", () => {
  it("runs the default export over the module's inputs, prints a summary and writes the log", async () => {
    const out = join(tmp, "ok");
    const r = await trellis(inlineRun(".tmp/fixtures/cli-ok.js", out));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cli-ok: succeeded");
    expect(r.stdout).toMatch(/output\s+12/);
    expect(r.stdout).toMatch(/tasks\s+4 succeeded/);
    expect(r.stdout).toMatch(/violations\s+none/);
    expect(r.stdout).toContain("events.jsonl");
    expect(finished(out)).toEqual(expect.objectContaining({ status: "succeeded", output: 12 }));
    // Snapshots are drawn by default when there is an output folder.
    expect(readdirSync(join(out, "dots")).length).toBeGreaterThan(0);
    expect(readdirSync(join(out, "pngs")).length).toBe(readdirSync(join(out, "dots")).length);
    expect(r.stdout).toMatch(/dots\/ \(\d+\), pngs\/ \(\d+\)/);
  });

  it("takes --input JSON, --input @file and --task by task name or export name", async () => {
    const out = join(tmp, "input");
    const r = await trellis([
      "run",
      ".tmp/fixtures/cli-ok.js",
      "--executor",
      "inline",
      "--out",
      out,
      "--input",
      '{"values":[10,20]}',
    ]);
    expect(r.code).toBe(0);
    expect(finished(out).output).toBe(60);
    const file = join(tmp, "inputs.json");
    writeFileSync(file, JSON.stringify({ x: 21 }));
    const byName = await trellis(
      inlineRun(".tmp/fixtures/cli-ok.js", out, "--task", "cli_double", "--input", `@${file}`),
    );
    expect(byName.code).toBe(0);
    expect(finished(out).output).toBe(42);
    const byExport = await trellis(
      inlineRun(".tmp/fixtures/cli-no-entry.js", out, "--task", "greet", "--input", '{"who":"ada"}'),
    );
    expect(byExport.code).toBe(0);
    expect(finished(out).output).toBe("hello ada");
  });

  it("--task without --input does not feed the default entry's `inputs` export to another task: it gets {} and a note says so", async () => {
    const out = join(tmp, "task-no-input");
    const r = await trellis(inlineRun(".tmp/fixtures/cli-ok.js", out, "--task", "cli_double", "--formats", "none"));
    const started = JSON.parse(readFileSync(join(out, "events.jsonl"), "utf8").split("\n")[0] ?? "{}") as {
      data: { inputs: unknown };
    };
    expect(started.data.inputs).toEqual({});
    expect(r.stderr).toContain("note: cli_double runs with {} as its inputs");
    expect(r.stderr).toContain("--input");
    // The default entry named by --task (its task name or export name) still takes the export.
    for (const name of ["cli_sum", "sum"]) {
      const byName = await trellis(inlineRun(".tmp/fixtures/cli-ok.js", out, "--task", name, "--formats", "none"));
      expect(byName.code).toBe(0);
      expect(finished(out).output).toBe(12);
      expect(byName.stderr).not.toContain("note:");
    }
  });

  it("exits 1 when the root task fails, with the error in the summary", async () => {
    const out = join(tmp, "fails");
    const r = await trellis(inlineRun(".tmp/fixtures/cli-fails.js", out));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAILED");
    expect(r.stdout).toContain("cli_boom always fails");
    expect(finished(out).status).toBe("failed");
  });

  it("shows ctx.log lines live with their task id (--quiet hides them), and a failed run's summary shows where and how it failed", async () => {
    const out = join(tmp, "logs");
    const r = await trellis([
      "run",
      "test/fixtures/cli-logs.ts",
      "--executor",
      "threads",
      "--workers",
      "1",
      "--out",
      out,
      "--formats",
      "none",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[cli_logs] starting\n");
    expect(r.stderr).toContain("[cli_logs/cli_flaky#1] trying { n: 1, attempt: 1 }\n");
    expect(r.stderr).toContain("[cli_logs/cli_flaky#1] trying { n: 1, attempt: 2 }\n");
    // The task where it went wrong, its attempts, and the line of the user's code (from a worker's stack).
    expect(r.stdout).toContain(
      "failed      cli_logs/cli_flaky#1 (failed after 2 attempts): TypeError: cli_flaky cannot take 1",
    );
    expect(r.stdout).toMatch(/^ {14}at test\/fixtures\/cli-logs\.ts:6:\d+$/m);
    expect(r.stdout).toMatch(/error\s+TASK_FAILED: cli_logs\/cli_flaky#1 failed/);
    expect(r.stdout).toMatch(/slowest\s+\S+ \d+ ms/);
    const quiet = await trellis(inlineRun("test/fixtures/cli-logs.ts", out, "--formats", "none", "--quiet"));
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).not.toContain("trying");
    expect(readFileSync(join(out, "events.jsonl"), "utf8")).toContain('"message":"trying"');
  });

  it("exits 2 when a promise halts the run, with the violation's figures in the summary", async () => {
    const out = join(tmp, "violation");
    const r = await trellis(inlineRun("demos/map_reduce_spawn_violation.ts", out));
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("HALTED");
    expect(r.stdout).toContain("LimitedSpawns(square, 5)");
    expect(r.stdout).toContain("limit 5, attempted 6");
    expect(finished(out).status).toBe("halted");
  });

  it("--on-violation reject raises in the offending task instead of halting: the uncaught error fails the run (exit 1)", async () => {
    const out = join(tmp, "reject");
    const r = await trellis(inlineRun("demos/branch_violation.ts", out, "--on-violation", "reject"));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("(rejected; the run went on)");
    expect(finished(out).status).toBe("failed");
  });

  it("a workflow file runs itself when executed directly (npx tsx file.ts), and not when imported", async () => {
    const cwd = mkdtempSync(join(tmp, "direct-"));
    const tsx = join(ROOT, "node_modules", ".bin", "tsx");
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(tsx, [join(ROOT, "test", "fixtures", "cli-ok.ts")], { cwd, timeout: 60_000 }, (error, stdout) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout }),
      );
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cli-ok: succeeded");
    expect(existsSync(join(cwd, "outputs", "cli-ok", "events.jsonl"))).toBe(true);
    const here = task({ name: "cli_not_main" }, async () => 1);
    await expect(runIfMain(import.meta.url, here, {})).resolves.toBeNull();
  });
});
