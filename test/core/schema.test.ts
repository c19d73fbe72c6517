import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { EventOf, TrellisEvent } from "trellis";
import { From, LimitedSpawns, run, task } from "trellis";
import { WaitEndReasons } from "../../dist/events/types.js";
import { eventLogSchema } from "../../dist/events/schema.js";
import { outputProblems } from "../helpers/log-outputs.ts";
import { logProblems } from "../helpers/log-schema.ts";

const item = task({ name: "schema_item" }, async (ctx, { i }: { i: number }) => {
  ctx.log("item", { i, when: new Date(0) });
  if (i === 2) throw new Error("two");
  return i;
});
const root = task({ name: "schema_root", calls: [item] }, async (ctx) => {
  ctx.promise(LimitedSpawns(item, 3));
  const hs = [0, 1, 2].map((i) => ctx.spawn(item, { i }));
  try {
    await ctx.waitForAll(hs);
  } catch {
    /* expected: item 2 fails */
  }
  ctx.spawn(item, { i: 4 }); // breaks the budget: halts the run
  return "done";
});

describe("the JSON Schema of the log", () => {
  test("the shipped file is the one generated from src/events/schema.ts (run `npm run schema` after changing it)", () => {
    const shipped = readFileSync(new URL("../../schema/events.schema.json", import.meta.url), "utf8");
    expect(shipped).toBe(`${JSON.stringify(eventLogSchema(), null, 2)}\n`);
  });

  test("describes every line the engine writes, including failures and violations", async () => {
    const out = mkdtempSync(join(tmpdir(), "schema-"));
    const result = await run(root, {}, { executor: "inline", out });
    expect(result.status).toBe("halted");
    expect(logProblems(join(out, "events.jsonl"))).toEqual([]);
  });

  test("catches a line that breaks the envelope or a payload", async () => {
    const out = mkdtempSync(join(tmpdir(), "schema-bad-"));
    await run(root, {}, { executor: "inline", out });
    const path = join(out, "events.jsonl");
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    const second = JSON.parse(lines[1]!) as { data: Record<string, unknown> };
    delete second.data["id"];
    const tampered = [JSON.stringify({ ...first, type: 42 }), JSON.stringify(second), ...lines.slice(2)];
    const badPath = join(out, "tampered.jsonl");
    writeFileSync(badPath, tampered.join("\n") + "\n");
    const problems = logProblems(badPath);
    expect(problems.some((p) => p.includes(":1:"))).toBe(true);
    expect(problems.some((p) => p.includes(":2:"))).toBe(true);
  });
});

const emitsThenReturns = task({ name: "schema_emits" }, async (ctx) => {
  ctx.emit("emitted");
  return "returned";
});
const emitsThenReturnsNothing = task({ name: "schema_emits_void" }, async (ctx) => {
  ctx.emit({ n: 1 });
});
const emitRoot = task({ name: "schema_emit_root" }, async (ctx) => {
  const a = ctx.spawn(emitsThenReturns, {});
  const b = ctx.spawn(emitsThenReturnsNothing, {});
  const echo = ctx.spawn(item, { i: From(b, ["n"]) });
  await ctx.waitForAll([a, b, echo]);
  ctx.emit("root emitted");
  return "root returned";
});

function readLog(path: string): TrellisEvent[] {
  return readFileSync(path, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as TrellisEvent);
}

describe("the schema of task.resumed", () => {
  test("lists exactly the reasons a wait can end with", () => {
    const schema = JSON.parse(readFileSync(new URL("../../schema/events.schema.json", import.meta.url), "utf8")) as {
      allOf: {
        if: { properties: { type: { const: string } } };
        then: { properties: { data: { properties: Record<string, { enum?: string[] }> } } };
      }[];
    };
    const resumed = schema.allOf.find((b) => b.if.properties.type.const === "task.resumed");
    expect(resumed?.then.properties.data.properties["reason"]?.enum).toEqual([...WaitEndReasons]);
  });
});

describe("what the log says a task produced", () => {
  test("task.succeeded of a task that emitted holds the emitted value, never its return value", async () => {
    const out = mkdtempSync(join(tmpdir(), "schema-emit-"));
    const result = await run(emitRoot, {}, { executor: "inline", out, snapshots: "none" });
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe("root emitted");
    const events = readLog(join(out, "events.jsonl"));
    const succeeded = new Map(
      events
        .filter((e): e is EventOf<"task.succeeded"> => e.type === "task.succeeded")
        .map((e) => [e.data.id, e.data.output]),
    );
    expect(succeeded.get("schema_emit_root/schema_emits#1")).toBe("emitted");
    expect(succeeded.get("schema_emit_root/schema_emits_void#1")).toEqual({ n: 1 });
    expect(succeeded.get("schema_emit_root")).toBe("root emitted");
    expect(events.at(-1)).toMatchObject({ type: "run.finished", data: { output: "root emitted" } });
    expect(outputProblems(events)).toEqual([]);
    expect(logProblems(join(out, "events.jsonl"))).toEqual([]);
  });

  test("the output check over every log catches a task.succeeded that disagrees with its emit", async () => {
    const out = mkdtempSync(join(tmpdir(), "schema-emit-bad-"));
    await run(emitRoot, {}, { executor: "inline", out, snapshots: "none" });
    const events = readLog(join(out, "events.jsonl"));
    const tampered = events.map((e) =>
      e.type === "task.succeeded" && e.data.id === "schema_emit_root/schema_emits#1"
        ? { ...e, data: { ...e.data, output: "returned" } }
        : e,
    );
    const badPath = join(out, "tampered.jsonl");
    writeFileSync(badPath, tampered.map((e) => JSON.stringify(e)).join("\n") + "\n");
    const problems = logProblems(badPath);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("schema_emit_root/schema_emits#1");
    expect(problems[0]).toContain("emitted");
  });
});
