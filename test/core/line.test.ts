import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Json } from "../../dist/events/codec.js";
import { EventLines, JsonBytes } from "../../dist/events/line.js";
import type { TrellisEvent } from "../../dist/events/types.js";
import { JsonlWriter } from "../../dist/events/writer.js";

/** Strings with what JSON must escape: quotes, backslashes, control characters, lone surrogates, non-ASCII. */
const anyString = fc.oneof(
  fc.constantFrom("root", "root/a#1", 'q"q', "é", ""), // repeats, so cached envelopes and strings are reused
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({
    unit: fc.constantFrom('"', "\\", "\n", "\u0000", "\u001f", "\u007f", "\ud800", "\udc00", "é", "😀", "a", "/", "#"),
  }),
);
const anyNumber = fc.oneof(
  fc.nat(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 9, 10, 99, 100, 999_999_999, 1e9, 2 ** 31 - 1, 2 ** 31, Number.MAX_SAFE_INTEGER, 2 ** 60),
);
const anyJson = fc.oneof(fc.constant(null), fc.constant({}), fc.constant([]), fc.jsonValue()) as fc.Arbitrary<Json>;

const envelope = { v: fc.constant(1 as const), seq: anyNumber, ts: anyString, runId: anyString };

const anyEvent: fc.Arbitrary<TrellisEvent> = fc.oneof(
  fc.record({
    ...envelope,
    type: fc.constant("task.created" as const),
    data: fc.record({
      id: anyString,
      task: anyString,
      parent: fc.option(anyString),
      labels: fc.array(anyString, { maxLength: 3 }),
      inputs: anyJson,
      placeholder: fc.option(anyString),
      priority: anyNumber,
    }),
  }),
  fc.record({
    ...envelope,
    type: fc.constant("edge.created" as const),
    data: fc.record({ from: anyString, to: anyString, kind: fc.constantFrom("data" as const, "lineage" as const) }),
  }),
  fc.record({
    ...envelope,
    type: fc.constant("task.started" as const),
    data: fc.record({ id: anyString, attempt: anyNumber }),
  }),
  fc.record({
    ...envelope,
    type: fc.constant("task.succeeded" as const),
    data: fc.record({ id: anyString, output: anyJson }),
  }),
  fc.record({
    ...envelope,
    type: fc.constant("task.log" as const),
    data: fc.record({ id: anyString, message: anyString, fields: anyJson }),
  }),
);

describe("event lines", () => {
  test("are the UTF-8 bytes of JSON.stringify(event) plus a newline, for any event", () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { minLength: 1, maxLength: 4 }), (events) => {
        // One writer for several events, so cached envelopes and strings are reused (and must be right).
        const lines = new EventLines(new JsonBytes(16)); // tiny on purpose: lines make the buffer grow
        for (const event of events) {
          const out = lines.out;
          out.used = 0;
          lines.write(event);
          expect(out.bytes.subarray(0, out.used).toString("utf8")).toBe(`${JSON.stringify(event)}\n`);
          expect(Buffer.compare(out.bytes.subarray(0, out.used), Buffer.from(`${JSON.stringify(event)}\n`))).toBe(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test("written one after another into one buffer, an instance id named again by the next lines is the same bytes", () => {
    // task.created then edge.created, task.started then task.succeeded: the second line copies the id the first wrote;
    // task.created lines of the same task, parent and inputs hash reuse their bytes too.
    const id = fc.constantFrom("root/a#1", "root/a#2", 'root/"q"#1', "root/é#1", "");
    const seq = fc.oneof(fc.nat(), fc.constantFrom(9, 10, 2 ** 31 - 1, 2 ** 31, Number.MAX_SAFE_INTEGER));
    const at = { v: fc.constant(1 as const), seq, ts: fc.constantFrom("t1", "t2"), runId: fc.constant("r") };
    const chain: fc.Arbitrary<TrellisEvent> = fc.oneof(
      fc.record({
        ...at,
        type: fc.constant("task.created" as const),
        data: fc.record(
          {
            id,
            task: fc.constantFrom("a", "b"),
            parent: fc.constantFrom("root", null),
            labels: fc.constantFrom<string[]>([], ["x"]),
            inputs: fc.constantFrom<Json>({}, { n: 1 }),
            placeholder: fc.constant(null),
            priority: fc.constantFrom(0, 2 ** 31),
            inputsHash: fc.constantFrom("6ae135673e8bb0dc", "0000000000000000"), // left out at times (old logs)
          },
          { requiredKeys: ["id", "task", "parent", "labels", "inputs", "placeholder", "priority"] },
        ),
      }),
      fc.record({
        ...at,
        type: fc.constant("edge.created" as const),
        data: fc.record({ from: fc.constant("root"), to: id, kind: fc.constant("lineage" as const) }),
      }),
      fc.record({
        ...at,
        type: fc.constant("task.started" as const),
        data: fc.record({ id, attempt: fc.oneof(fc.constant(1), fc.nat()) }),
      }),
      fc.record({ ...at, type: fc.constant("task.succeeded" as const), data: fc.record({ id, output: anyJson }) }),
    );
    fc.assert(
      fc.property(fc.array(chain, { minLength: 1, maxLength: 12 }), fc.nat({ max: 12 }), (events, swapAt) => {
        const lines = new EventLines(new JsonBytes(16)); // grows while the lines are written
        let text = "";
        events.forEach((event, i) => {
          if (i === swapAt) {
            // The log writer hands the full buffer over and writes on into a fresh one.
            text += lines.out.bytes.subarray(0, lines.out.used).toString("utf8");
            lines.out = new JsonBytes(16);
          }
          lines.write(event);
        });
        text += lines.out.bytes.subarray(0, lines.out.used).toString("utf8");
        expect(text).toBe(events.map((e) => `${JSON.stringify(e)}\n`).join(""));
      }),
      { numRuns: 2000 },
    );
  });

  test("sequence numbers that follow each other are written right across every carry, and after a jump", () => {
    const lines = new EventLines(new JsonBytes(16));
    const seqs = [
      ...Array.from({ length: 1203 }, (_, i) => i),
      5,
      6,
      9_999_999,
      10_000_000,
      10_000_001,
      2 ** 31,
      1.5,
      2.5,
    ];
    let expected = "";
    for (const seq of seqs) {
      const event = { v: 1, seq, ts: "t", runId: "r", type: "task.started", data: { id: "a", attempt: 1 } } as const;
      lines.write(event);
      expected += `${JSON.stringify(event)}\n`;
    }
    expect(lines.out.bytes.subarray(0, lines.out.used).toString("utf8")).toBe(expected);
  });

  test("a writer keeps every line, in order, across buffer flushes and a line larger than its buffer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "line-"));
    const writer = new JsonlWriter(join(dir, "events.jsonl"));
    const events: TrellisEvent[] = [];
    for (let seq = 1; seq <= 6000; seq++) {
      // One line larger than the buffer, one larger than what may wait behind a write in flight.
      const big = seq === 3000 ? "x".repeat(2_000_000) : seq === 5000 ? "y".repeat(17_000_000) : `v${seq}`;
      const event: TrellisEvent = {
        v: 1,
        seq,
        ts: "2026-01-01T00:00:00.000Z",
        runId: "r",
        type: "task.succeeded",
        data: { id: `root/t#${seq}`, output: big },
      };
      events.push(event);
      writer.write(event);
      if (seq % 1000 === 0) writer.tick();
    }
    await writer.close();
    const lines = readFileSync(join(dir, "events.jsonl"), "utf8").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.length).toBe(events.length);
    lines.forEach((line, i) => expect(line).toBe(JSON.stringify(events[i])));
  });

  test("a failed write is reported when the writer closes, naming the log", async () => {
    const writer = new JsonlWriter("/dev/full"); // every write fails: no space left
    writer.write({
      v: 1,
      seq: 1,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "r",
      type: "task.started",
      data: { id: "root", attempt: 1 },
    });
    await expect(writer.close()).rejects.toMatchObject({
      code: "OUTPUT_DIR",
      message: expect.stringContaining("/dev/full"),
    });
  });

  test("a task that exits the process on the inline executor loses no line recorded before it, and the run still ends in the log", () => {
    const out = mkdtempSync(join(tmpdir(), "line-exit-"));
    const child = spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/log-exit.ts", out], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(child.status).toBe(7);
    const text = readFileSync(join(out, "events.jsonl"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const events = text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as TrellisEvent);
    events.forEach((e, i) => expect(e.seq).toBe(i + 1));
    expect(events.filter((e) => e.type === "task.succeeded")).toHaveLength(3000);
    // The engine ends the run in the log before the process goes: the quitter failed, then run.finished.
    expect(events.at(-3)).toMatchObject({ type: "task.started", data: { id: "log_exit_root/log_exit_quitter#1" } });
    expect(events.at(-2)).toMatchObject({
      type: "task.failed",
      data: { id: "log_exit_root/log_exit_quitter#1", error: { code: "PROCESS_EXIT" } },
    });
    expect(events.at(-1)).toMatchObject({ type: "run.finished", data: { status: "failed" } });
  });
});
