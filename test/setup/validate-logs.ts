/**
 * Every event log the test suite writes is checked against the JSON Schema.
 * Each test file gets its own TMPDIR (child processes inherit it), and after
 * the file's tests every events.jsonl found under it is validated, and
 * folded: the output each `task.succeeded` records must be the one the fold
 * gives that node (see `test/helpers/log-outputs.ts`).
 */
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect } from "vitest";

const base = process.env["TRELLIS_TEST_TMP_BASE"] ?? process.env["TMPDIR"] ?? "/tmp";
process.env["TRELLIS_TEST_TMP_BASE"] = base;
const dir = join(base, `trellis-test-${process.pid}-${Date.now()}`);
mkdirSync(dir, { recursive: true });
process.env["TMPDIR"] = dir;

function logsUnder(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...logsUnder(path));
    else if (name === "events.jsonl") out.push(path);
  }
  return out;
}

afterAll(async () => {
  const logs = logsUnder(dir);
  // The validator (Ajv, the compiled schema, the fold) loads only for a file that wrote a log.
  const problems: string[] = [];
  if (logs.length > 0) {
    const { logProblems } = await import("../helpers/log-schema.ts");
    for (const log of logs) problems.push(...logProblems(log));
  }
  rmSync(dir, { recursive: true, force: true });
  expect(problems.slice(0, 20)).toEqual([]);
});
