import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLine, trellis } from "./cli-process.ts";

const tmp = mkdtempSync(join(tmpdir(), "trellis-cli-demos-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("trellis demos", () => {
  it("runs each demo in its own process, on the default executor, one line each, and exits 0 when each ended as expected", async () => {
    // map_reduce and the violation demo both define `square`: they can only run side by side in separate processes.
    const r = await trellis(["demos", "map_reduce", "map_reduce_spawn_violation", "--out-root", tmp], {
      timeoutMs: 240_000,
    });
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l.trim() !== "");
    expect(lines[0]).toMatch(/^ok\s+map_reduce\s+succeeded\s+[\d.]+ s\s+\d+ snapshots\s+result 91$/);
    expect(lines[1]).toMatch(/^ok\s+map_reduce_spawn_violation\s+halted\s+.*LimitedSpawns: limit 5, attempted 6$/);
    expect(lines[2]).toContain("2 of 2 demos ended as expected");
  });

  it("an unknown demo name exits 64 and lists the demos", async () => {
    const r = await trellis(["demos", "nope"]);
    expect(r.code).toBe(64);
    expect(expectOneLine(r.stderr)).toContain("static_preview");
  });
});
