import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCodes, TrellisError, createSnapshotObserver, run } from "trellis";
import type { SnapshotPolicy } from "trellis";
import { DEMOS } from "../../.tmp/fixtures/render-demos.js";
import { WEIRD_CHILD, WEIRD_ROOT, weirdRoot } from "../../.tmp/fixtures/render-shapes.js";
import { decodePng, filesUnder, layout, svgTexts, tempDir } from "./render-helpers.ts";

const [mapReduce, mapInputs] = DEMOS["map_reduce"] as NonNullable<(typeof DEMOS)[string]>;

function frameFiles(out: string, dir: string, ext: string): string[] {
  return filesUnder(out).filter((f) => f.startsWith(`${dir}/`) && f.endsWith(`.${ext}`));
}

describe("live snapshots of run()", () => {
  it("writes dots/000001.dot … and a PNG for each, drawn in the image worker before run() resolves", async () => {
    const out = tempDir();
    await run(mapReduce, mapInputs, { executor: "inline", out, runId: "snap-default" });
    const dots = frameFiles(out, "dots", "dot");
    expect(dots.length).toBeGreaterThan(5);
    expect(dots).toEqual(dots.map((_, i) => `dots/${String(i + 1).padStart(6, "0")}.dot`));
    expect(frameFiles(out, "pngs", "png")).toEqual(dots.map((d) => d.replace(/^dots/, "pngs").replace(/dot$/, "png")));
    const last = decodePng(readFileSync(join(out, "pngs", dots[dots.length - 1]?.slice(5, 11) + ".png")));
    expect(last.width).toBeGreaterThan(100);
    expect(existsSync(join(out, "svgs"))).toBe(false);
  });

  it("writes SVGs when asked, and only what the formats say", async () => {
    const out = tempDir();
    await run(mapReduce, mapInputs, {
      executor: "inline",
      out,
      runId: "snap-svg",
      snapshots: "final",
      formats: ["svg"],
    });
    expect(filesUnder(out).filter((f) => f !== "events.jsonl")).toEqual(["dots/000001.dot", "svgs/000001.svg"]);
    expect(readFileSync(join(out, "svgs", "000001.svg"), "utf8")).toContain("<svg");
  });

  it("writes nothing with snapshots: none, and refuses an unknown policy or format", async () => {
    const out = tempDir();
    await run(mapReduce, mapInputs, { executor: "inline", out, runId: "snap-none", snapshots: "none" });
    expect(filesUnder(out)).toEqual(["events.jsonl"]);
    expect(readdirSync(out), "no empty frame folders either").toEqual(["events.jsonl"]);
    for (const options of [{ snapshots: "sometimes" as SnapshotPolicy }, { formats: ["gif" as "png"] }]) {
      const error = await run(mapReduce, mapInputs, { executor: "inline", out, ...options }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrellisError);
      expect((error as TrellisError).code).toBe(ErrorCodes.INVALID_OPTION);
    }
  });

  it("replaces the frames of an earlier run in the same folder, and leaves other files alone", async () => {
    const out = tempDir();
    mkdirSync(join(out, "dots"), { recursive: true });
    writeFileSync(join(out, "dots", "000999.dot"), "stale");
    writeFileSync(join(out, "dots", "notes.txt"), "mine");
    await run(mapReduce, mapInputs, { executor: "inline", out, runId: "snap-stale", snapshots: "final", formats: [] });
    expect(filesUnder(out)).toEqual(["dots/000001.dot", "dots/notes.txt", "events.jsonl"]);
  });

  it("owns the frames of its folder: formats [] and snapshots none remove an earlier run's images too", async () => {
    const out = tempDir();
    await run(mapReduce, mapInputs, {
      executor: "inline",
      out,
      runId: "snap-own-1",
      snapshots: "final",
      formats: ["png", "svg"],
    });
    writeFileSync(join(out, "pngs", "notes.txt"), "mine");
    expect(filesUnder(out)).toEqual([
      "dots/000001.dot",
      "events.jsonl",
      "pngs/000001.png",
      "pngs/notes.txt",
      "svgs/000001.svg",
    ]);
    await run(mapReduce, mapInputs, { executor: "inline", out, runId: "snap-own-2", snapshots: "final", formats: [] });
    expect(filesUnder(out)).toEqual(["dots/000001.dot", "events.jsonl", "pngs/notes.txt"]);
    await run(mapReduce, mapInputs, { executor: "inline", out, runId: "snap-own-3", snapshots: "none" });
    expect(filesUnder(out)).toEqual(["events.jsonl", "pngs/notes.txt"]);
  });

  it("an output folder Node cannot make (/proc/x) fails with OUTPUT_DIR at once instead of spinning", () => {
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", "test/fixtures/out-unmakeable.ts", "/proc/trellis-out/x"],
      { encoding: "utf8", timeout: 30_000 },
    );
    expect(child.error, "the child timed out: a folder check spins").toBeUndefined();
    expect(JSON.parse(child.stdout)).toEqual({
      run: "OUTPUT_DIR",
      runWithoutSnapshots: "OUTPUT_DIR",
      snapshots: "OUTPUT_DIR",
      preview: "OUTPUT_DIR",
    });
  });

  it("fails with OUTPUT_DIR before the run starts when the folder cannot be written", () => {
    const parent = join(tempDir(), "a-file");
    writeFileSync(parent, "x");
    expect(() => createSnapshotObserver({ out: join(parent, "out") })).toThrow(
      expect.objectContaining({ code: ErrorCodes.OUTPUT_DIR }),
    );
  });

  it("draws task names with quotes, backslashes, <>{}|, & and unicode verbatim, and writes only frame files", async () => {
    const out = join(tempDir(), "weird");
    await run(
      weirdRoot,
      {},
      { executor: "inline", out, runId: "snap-weird", snapshots: "all", formats: ["png", "svg"] },
    );
    const files = filesUnder(out);
    expect(files.every((f) => f === "events.jsonl" || /^(dots|pngs|svgs)\/\d{6}\.(dot|png|svg)$/.test(f))).toBe(true);
    const dots = files.filter((f) => f.endsWith(".dot"));
    const last = readFileSync(join(out, dots[dots.length - 1] as string), "utf8");
    expect((await layout(last)).nodes).toHaveLength(2);
    const texts = svgTexts(readFileSync(join(out, "svgs", dots[dots.length - 1]?.slice(5, 11) + ".svg"), "utf8"));
    expect(texts).toContain(WEIRD_ROOT);
    expect(texts).toContain(WEIRD_CHILD);
  });
});
