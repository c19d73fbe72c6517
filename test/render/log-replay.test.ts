/**
 * Snapshots redrawn from the log are the live snapshots: same numbering,
 * same bytes, step by step; and bad logs fail clearly without losing the
 * snapshots before the bad line.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCodes, TrellisError, renderLog, run } from "trellis";
import type { AnyTask, SnapshotPolicy } from "trellis";
import { DEMOS } from "../../.tmp/fixtures/render-demos.js";
import { fanRoot } from "../../.tmp/fixtures/render-shapes.js";
import { LogBuilder, filesUnder, layout, tempDir } from "./render-helpers.ts";

/** A clock that moves 1 ms per reading: timestamps (and so `auto` spacing) are the same in every run. */
function tickingClock(): () => number {
  let t = Date.UTC(2026, 0, 1);
  return () => ++t;
}

async function liveRun(
  root: AnyTask,
  inputs: unknown,
  policy: SnapshotPolicy,
  runId: string,
): Promise<{ out: string; dots: Map<string, string> }> {
  const out = tempDir();
  await run(root, inputs, {
    executor: "inline",
    workers: 2,
    out,
    snapshots: policy,
    formats: [],
    runId,
    now: tickingClock(),
  });
  return { out, dots: readDots(out) };
}

function readDots(out: string): Map<string, string> {
  const dir = join(out, "dots");
  return new Map(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f), "utf8")]),
  );
}

async function caught(p: Promise<unknown>): Promise<TrellisError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof TrellisError) return error;
    throw error;
  }
  throw new Error("expected a TrellisError");
}

describe("renderLog gives the live snapshots", () => {
  for (const policy of ["all", "steps", "auto", "final"] as const)
    it(`byte for byte, frame for frame, for the six demo shapes under "${policy}"`, async () => {
      for (const [name, [root, inputs]] of Object.entries(DEMOS)) {
        const live = await liveRun(root, inputs, policy, name);
        const replay = tempDir();
        const r = await renderLog(join(live.out, "events.jsonl"), { out: replay, policy, formats: [] });
        expect(r.warnings).toEqual([]);
        expect(r.frames).toBe(live.dots.size);
        expect(readDots(replay), `${name} under ${policy}`).toEqual(live.dots);
      }
    });

  it("on the threads executor too (events in whatever order the workers report them)", async () => {
    const [root, inputs] = DEMOS["dynamic_static_preview"] as [AnyTask, unknown];
    const out = tempDir();
    await run(root, inputs, { executor: "threads", workers: 2, out, snapshots: "all", formats: [], runId: "threads" });
    const live = readDots(out);
    const replay = tempDir();
    await renderLog(join(out, "events.jsonl"), { out: replay, policy: "all", formats: [] });
    expect(readDots(replay)).toEqual(live);
    expect(live.size).toBeGreaterThan(20);
  });

  it("for a 400-task fan-out under auto (grouped view, a burst, frames spaced by run time)", async () => {
    const live = await liveRun(fanRoot, { n: 400 }, "auto", "fan-400");
    const dots = [...live.dots.values()];
    expect(dots.some((d) => d.includes("render_fan_leaf ×400"))).toBe(true);
    expect(dots.length).toBeLessThan(60);
    const replay = tempDir();
    await renderLog(join(live.out, "events.jsonl"), { out: replay, formats: [] });
    expect(readDots(replay)).toEqual(live.dots);
  });

  it("draws one snapshot by its number, identical to the live one", async () => {
    const [root, inputs] = DEMOS["map_reduce"] as [AnyTask, unknown];
    const live = await liveRun(root, inputs, "all", "one-step");
    const replay = tempDir();
    const r = await renderLog(join(live.out, "events.jsonl"), {
      out: replay,
      policy: "all",
      step: 5,
      formats: ["png"],
    });
    expect(r.dotFiles).toEqual([join(replay, "dots", "000005.dot")]);
    expect(filesUnder(replay)).toEqual(["dots/000005.dot", "pngs/000005.png"]);
    expect(readFileSync(join(replay, "dots", "000005.dot"), "utf8")).toBe(live.dots.get("000005.dot"));
    const error = await caught(
      renderLog(join(live.out, "events.jsonl"), { out: replay, policy: "all", step: 10_000, formats: [] }),
    );
    expect(error.code).toBe(ErrorCodes.INVALID_OPTION);
  });
});

describe("renderLog on bad input", () => {
  async function liveLog(): Promise<{ out: string; lines: string[]; dots: Map<string, string> }> {
    const [root, inputs] = DEMOS["static_preview"] as [AnyTask, unknown];
    const live = await liveRun(root, inputs, "all", "bad-input");
    const lines = readFileSync(join(live.out, "events.jsonl"), "utf8").trimEnd().split("\n");
    return { out: live.out, lines, dots: live.dots };
  }

  it("a last line cut off (a killed run): the events before it are drawn, with a warning", async () => {
    const { lines, dots } = await liveLog();
    const dir = tempDir();
    const log = join(dir, "run.jsonl");
    const last = lines[lines.length - 1] as string;
    // What a run killed mid-write leaves: a prefix of the log, no newline after the last bytes.
    writeFileSync(log, [...lines.slice(0, -1), last.slice(0, last.length >> 1)].join("\n"));
    const r = await renderLog(log, { policy: "all", formats: [] });
    expect(r.lastSeq).toBe(lines.length - 1);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(`line ${lines.length}`);
    expect(r.warnings[0]).toContain("cut off");
    // The cut line is run.finished: every frame before the final one is there, identical.
    const written = readDots(dir);
    expect(written.size).toBe(dots.size - 1);
    for (const [file, dot] of written) expect(dot).toBe(dots.get(file));
  });

  it("a bad last line that ends with a newline was written whole: LOG_FORMAT naming it", async () => {
    const { lines } = await liveLog();
    const dir = tempDir();
    const log = join(dir, "run.jsonl");
    const last = lines[lines.length - 1] as string;
    writeFileSync(log, [...lines.slice(0, -1), last.slice(0, last.length >> 1)].join("\n") + "\n");
    const error = await caught(renderLog(log, { policy: "all", formats: [] }));
    expect(error.code).toBe(ErrorCodes.LOG_FORMAT);
    expect(error.details["line"]).toBe(lines.length);
  });

  it("a log of an unknown envelope version is refused, naming the version found and the ones supported", async () => {
    const { lines } = await liveLog();
    const dir = tempDir();
    const log = join(dir, "run.jsonl");
    writeFileSync(log, lines.map((l) => JSON.stringify({ ...(JSON.parse(l) as object), v: 2 })).join("\n") + "\n");
    const error = await caught(renderLog(log, { policy: "all", formats: [] }));
    expect(error.code).toBe(ErrorCodes.LOG_FORMAT);
    expect(error.details).toMatchObject({ line: 1, version: 2, supported: [1] });
    expect(error.message).toContain("v=2");
    expect(existsSync(join(dir, "dots"))).toBe(false);
  });

  it("a malformed line in the middle: LOG_FORMAT naming it, and the frames already in the folder are left as they were", async () => {
    const { out, lines, dots } = await liveLog();
    const log = join(tempDir(), "run.jsonl");
    const bad = 12;
    writeFileSync(log, [...lines.slice(0, bad - 1), "{not json", ...lines.slice(bad)].join("\n") + "\n");
    const before = filesUnder(out);
    const error = await caught(renderLog(log, { out, policy: "all", formats: ["png"] }));
    expect(error.code).toBe(ErrorCodes.LOG_FORMAT);
    expect(error.details["line"]).toBe(bad);
    expect(error.message).toContain(`:${bad}:`);
    // The render drew into a hidden folder that is gone; the live frames are untouched.
    expect(filesUnder(out)).toEqual(before);
    expect(readDots(out)).toEqual(dots);
  });

  it("an empty log: LOG_FORMAT, and the frames already in the folder are kept", async () => {
    const { out, dots } = await liveLog();
    await renderLog(join(out, "events.jsonl"), { policy: "all", formats: ["png"] });
    const before = filesUnder(out);
    expect(before.filter((f) => f.startsWith("pngs/"))).toHaveLength(dots.size);
    const empty = join(tempDir(), "empty.jsonl");
    writeFileSync(empty, "");
    const error = await caught(renderLog(empty, { out, policy: "all", formats: ["png"] }));
    expect(error.code).toBe(ErrorCodes.LOG_FORMAT);
    expect(filesUnder(out)).toEqual(before);
  });

  it("a successful render replaces the frames of every frame folder, and leaves other files alone", async () => {
    const { out, dots } = await liveLog();
    await renderLog(join(out, "events.jsonl"), { policy: "all", formats: ["png", "svg"] });
    writeFileSync(join(out, "pngs", "notes.txt"), "mine");
    const r = await renderLog(join(out, "events.jsonl"), { policy: "final", formats: [] });
    expect(r.dotFiles).toEqual([join(out, "dots", "000001.dot")]);
    expect(filesUnder(out).filter((f) => f !== "events.jsonl")).toEqual(["dots/000001.dot", "pngs/notes.txt"]);
    expect(readDots(out).get("000001.dot")).toBe([...dots.values()].at(-1));
  });

  it("a line whose fields are wrong is LOG_FORMAT too (not a crash in the fold)", async () => {
    const dir = tempDir();
    const log = join(dir, "run.jsonl");
    writeFileSync(
      log,
      JSON.stringify({ v: 1, seq: 1, ts: "", runId: "x", type: "task.created", data: { id: 3 } }) + "\n",
    );
    const error = await caught(renderLog(log, { formats: [] }));
    expect(error.code).toBe(ErrorCodes.LOG_FORMAT);
    expect(error.details["line"]).toBe(1);
  });

  it("an event type from a newer version: skipped with a warning, the drawing unchanged", async () => {
    const { lines, dots } = await liveLog();
    const dir = tempDir();
    const log = join(dir, "run.jsonl");
    const at = 6;
    const future = JSON.stringify({
      v: 1,
      seq: at,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "bad-input",
      type: "task.teleported",
      data: { id: "x" },
    });
    const renumbered = lines.map((l, i) => {
      const e = JSON.parse(l) as { seq: number };
      return i + 1 >= at ? JSON.stringify({ ...e, seq: e.seq + 1 }) : l;
    });
    writeFileSync(log, [...renumbered.slice(0, at - 1), future, ...renumbered.slice(at - 1)].join("\n") + "\n");
    const r = await renderLog(log, { policy: "all", formats: [] });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain("task.teleported");
    expect(r.warnings[0]).toContain(`line ${at}`);
    expect(readDots(dir)).toEqual(dots);
  });

  it("an output folder that cannot be written: OUTPUT_DIR", async () => {
    const { out } = await liveLog();
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "not a folder");
    const error = await caught(renderLog(join(out, "events.jsonl"), { out: join(file, "out"), formats: [] }));
    expect(error.code).toBe(ErrorCodes.OUTPUT_DIR);
  });

  it("ids unsafe in a file name or in DOT (../, newlines, quotes): nothing written outside the output folder", async () => {
    const root = tempDir();
    const log = new LogBuilder("../../evil").root('../../etc/"passwd\n').status('../../etc/"passwd\n', "task.started");
    log
      .created('../../etc/"passwd\n/x\ny#1', "x\ny", '../../etc/"passwd\n')
      .created("..\\..\\win#1", "..", '../../etc/"passwd\n');
    const logPath = join(root, "run.jsonl");
    writeFileSync(logPath, log.jsonl());
    const out = join(root, "out");
    const r = await renderLog(logPath, { out, policy: "all", formats: ["png"] });
    expect(r.frames).toBe(4);
    expect(filesUnder(root)).toEqual(
      [...[1, 2, 3, 4].flatMap((n) => [`out/dots/00000${n}.dot`, `out/pngs/00000${n}.png`])]
        .sort()
        .concat("run.jsonl")
        .sort(),
    );
    const last = readFileSync(join(out, "dots", "000004.dot"), "utf8");
    expect((await layout(last)).nodes).toHaveLength(3);
  });

  it("a missing log: LOG_FORMAT, and the output folder is left as it was", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "dots"));
    writeFileSync(join(dir, "dots", "000001.dot"), "kept");
    const error = await caught(renderLog(join(dir, "missing.jsonl"), { formats: [] }));
    expect(error.code).toBe(ErrorCodes.LOG_FORMAT);
    expect(readFileSync(join(dir, "dots", "000001.dot"), "utf8")).toBe("kept");
  });
});
