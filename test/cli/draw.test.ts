import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLine, inlineRun, trellis } from "./cli-process.ts";

const tmp = mkdtempSync(join(tmpdir(), "trellis-cli-draw-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("trellis preview and render", () => {
  it("preview draws the declared shape without running anything and says where", async () => {
    const out = join(tmp, "preview");
    const r = await trellis(["preview", "demos/static_preview.ts", "--out", out, "--formats", "png,svg"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("preview of A");
    expect(r.stdout).toContain(join(out, "preview.dot"));
    for (const f of ["preview.dot", "preview.png", "preview.svg"]) expect(existsSync(join(out, f))).toBe(true);
    const dot = readFileSync(join(out, "preview.dot"), "utf8");
    for (const t of ["b", "c", "d"]) expect(dot).toContain(`A/${t}~1`);
    expect(existsSync(join(out, "events.jsonl"))).toBe(false);
  });

  it("preview of a module without an entry is a usage error", async () => {
    const r = await trellis(["preview", ".tmp/fixtures/cli-no-entry.js"]);
    expect(r.code).toBe(64);
    expect(expectOneLine(r.stderr)).toContain("--task");
  });

  it("render redraws a run's snapshots identical to the live ones, or one --step", async () => {
    const live = join(tmp, "live");
    expect((await trellis(inlineRun(".tmp/fixtures/cli-ok.js", live, "--formats", "none"))).code).toBe(0);
    const again = join(tmp, "again");
    const r = await trellis(["render", join(live, "events.jsonl"), "--out", again, "--formats", "none"]);
    expect(r.code).toBe(0);
    const names = readdirSync(join(live, "dots")).sort();
    expect(names.length).toBeGreaterThan(1);
    expect(r.stdout).toContain(`redrew ${names.length} snapshots`);
    expect(readdirSync(join(again, "dots")).sort()).toEqual(names);
    for (const n of names)
      expect(readFileSync(join(again, "dots", n), "utf8")).toBe(readFileSync(join(live, "dots", n), "utf8"));
    const one = join(tmp, "one");
    const s = await trellis(["render", join(live, "events.jsonl"), "--out", one, "--step", "2"]);
    expect(s.code).toBe(0);
    expect(readdirSync(join(one, "dots"))).toEqual(["000002.dot"]);
    expect(readdirSync(join(one, "pngs"))).toEqual(["000002.png"]);
    const missing = await trellis(["render", join(live, "events.jsonl"), "--out", one, "--step", "999"]);
    expect(missing.code).toBe(64);
    expect(expectOneLine(missing.stderr)).toContain("999");
  });

  it("render of a log whose last line is cut off (a killed run) draws the events before it, warns, and exits 0", async () => {
    const live = join(tmp, "cut");
    expect(
      (await trellis(inlineRun(".tmp/fixtures/cli-ok.js", live, "--formats", "none", "--snapshots", "all"))).code,
    ).toBe(0);
    const lines = readFileSync(join(live, "events.jsonl"), "utf8").trimEnd().split("\n");
    const log = join(tmp, "cut.jsonl");
    writeFileSync(log, [...lines.slice(0, -1), (lines.at(-1) as string).slice(0, 30)].join("\n"));
    const out = join(tmp, "cut-out");
    const r = await trellis(["render", log, "--out", out, "--formats", "none", "--snapshots", "all"]);
    expect(r.code).toBe(0);
    expect(expectOneLine(r.stderr)).toMatch(/^trellis: warning: line \d+ of .* is cut off/);
    expect(readdirSync(join(out, "dots")).length).toBe(readdirSync(join(live, "dots")).length - 1);
  });

  it("run with --formats none after a run with PNGs: the old PNGs go, and the summary counts only this run's files", async () => {
    const out = join(tmp, "owned");
    const first = await trellis(inlineRun(".tmp/fixtures/cli-ok.js", out));
    expect(first.stdout).toMatch(/pngs\/ \(\d+\)/);
    const second = await trellis(inlineRun(".tmp/fixtures/cli-ok.js", out, "--formats", "none"));
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain("pngs/");
    expect(readdirSync(join(out, "pngs"))).toEqual([]);
  });
});
