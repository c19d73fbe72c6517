// `trellis run --cache <dir>`: a later run reuses what an earlier one stored,
// and a changed `version` re-runs that definition and what consumes its
// output, nothing else (each run is its own process, as for a user who edits
// the workflow between runs).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TrellisEvent } from "trellis";
import { ROOT, trellis } from "./cli-process.ts";

const MODULE = join(ROOT, ".tmp/fixtures/cache-pipeline.js");

const tmp = mkdtempSync(join(tmpdir(), "trellis-cli-cache-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ITEMS = [1, 2, 3];
const FETCH = ITEMS.map((_, i) => `cache_pipeline/cache_fetch#${i + 1}`);
const TRANSFORM = ITEMS.map((_, i) => `cache_pipeline/cache_transform#${i + 1}`);
const SUMMARIZE = ["cache_pipeline/cache_summarize#1"];
const STAGES = [...FETCH, ...TRANSFORM, ...SUMMARIZE].sort();

function events(out: string): TrellisEvent[] {
  return readFileSync(join(out, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as TrellisEvent);
}

function idsOf(out: string, type: TrellisEvent["type"]): string[] {
  return events(out)
    .filter((e) => e.type === type)
    .map((e) => (e.data as { id: string }).id)
    .sort();
}

describe.each(["inline", "threads"])("trellis run --cache (%s)", (executor) => {
  it("a second run runs no stage; a new transform version re-runs the transforms and the summary only", async () => {
    const dir = join(tmp, executor);
    const journal = join(dir, "journal.txt");
    const cache = join(dir, "cache");
    let n = 0;
    /** One `trellis run` with the transform at `version`; returns its out folder, the summary and what ran. */
    const runAt = async (version: string) => {
      const out = join(dir, `out-${++n}`);
      writeFileSync(journal, "");
      process.env["TRELLIS_TEST_TRANSFORM_VERSION"] = version;
      try {
        const input = JSON.stringify({ journal, items: ITEMS });
        const r = await trellis([
          "run",
          MODULE,
          "--executor",
          executor,
          "--workers",
          "2",
          "--out",
          out,
          "--snapshots",
          "none",
          "--cache",
          cache,
          "--input",
          input,
        ]);
        expect(r.code, r.stderr).toBe(0);
        const ran = readFileSync(journal, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .sort();
        return { out, stdout: r.stdout, ran };
      } finally {
        delete process.env["TRELLIS_TEST_TRANSFORM_VERSION"];
      }
    };
    mkdirSync(dir, { recursive: true });

    const first = await runAt("1");
    expect(first.ran).toEqual(STAGES);
    expect(first.stdout).toMatch(/tasks\s+8 succeeded\n/);

    const second = await runAt("1");
    expect(second.ran).toEqual([]);
    expect(idsOf(second.out, "task.cached")).toEqual(STAGES);
    expect(idsOf(second.out, "task.started")).toEqual(["cache_pipeline"]);
    expect(second.stdout).toMatch(/tasks\s+8 succeeded \(7 from the cache\)/);

    // The transform's code changed (its version): it re-runs, and so does the summary, whose inputs changed with it.
    const third = await runAt("2");
    expect(third.ran).toEqual([...TRANSFORM, ...SUMMARIZE].sort());
    expect(idsOf(third.out, "task.cached")).toEqual(FETCH);
    expect(events(third.out).at(-1)?.data).toMatchObject({
      status: "succeeded",
      output: { total: 10 + 20 + 30 + 3 * 2, count: 3 },
    });

    // Back to version 1: its entries are still there.
    const fourth = await runAt("1");
    expect(fourth.ran).toEqual([]);
    expect(events(fourth.out).at(-1)?.data).toMatchObject({
      status: "succeeded",
      output: { total: 10 + 20 + 30 + 3 * 1, count: 3 },
    });
  });
});

describe("trellis run --no-cache", () => {
  it("runs every task, even one defined with cache: true, and stores nothing; without it, that task uses .trellis-cache/ of the current directory", async () => {
    const dir = mkdtempSync(join(tmp, "no-cache-"));
    const journal = join(dir, "journal.txt");
    writeFileSync(journal, "");
    const input = JSON.stringify({ journal, failWhile: join(dir, "absent"), x: 4 });
    const runFlaky = async (...flags: string[]) => {
      const r = await trellis(
        [
          "run",
          MODULE,
          "--task",
          "cache_flaky",
          "--executor",
          "inline",
          "--snapshots",
          "none",
          "--out",
          join(dir, "out"),
          ...flags,
          "--input",
          input,
        ],
        { cwd: dir },
      );
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(journal, "utf8")
        .split("\n")
        .filter((l) => l !== "").length;
    };
    expect(await runFlaky("--no-cache")).toBe(1);
    expect(await runFlaky("--no-cache")).toBe(2);
    expect(existsSync(join(dir, ".trellis-cache"))).toBe(false);
    expect(await runFlaky()).toBe(3);
    expect(existsSync(join(dir, ".trellis-cache"))).toBe(true);
    expect(await runFlaky()).toBe(3);
  });
});
