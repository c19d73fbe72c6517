import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { LimitedSpawns, run, task } from "trellis";
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
