/**
 * Validates event-log lines against the JSON Schema that ships in schema/,
 * and checks that the outputs the log records agree with its fold
 * (see `log-outputs.ts`).
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import type { TrellisEvent } from "trellis";
import { outputProblems } from "./log-outputs.ts";

const schema = JSON.parse(readFileSync(new URL("../../schema/events.schema.json", import.meta.url), "utf8")) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

/** Problems found in the log at `path` (empty when every line is valid and the outputs agree with the fold). */
export function logProblems(path: string): string[] {
  const problems: string[] = [];
  const lines = readFileSync(path, "utf8").split("\n");
  const events: TrellisEvent[] = [];
  let expectedSeq = 1;
  lines.forEach((line, i) => {
    if (line === "") return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      problems.push(`${path}:${i + 1}: not JSON`);
      return;
    }
    if (!validate(event)) problems.push(`${path}:${i + 1}: ${ajv.errorsText(validate.errors)}`);
    else events.push(event as TrellisEvent);
    const seq = (event as { seq?: unknown }).seq;
    if (seq !== expectedSeq)
      problems.push(`${path}:${i + 1}: seq ${String(seq)}, expected ${expectedSeq} (gap-free from 1)`);
    expectedSeq++;
  });
  // Only a log whose every line is valid is folded: the fold trusts its input.
  if (problems.length === 0) problems.push(...outputProblems(events, path));
  return problems;
}
