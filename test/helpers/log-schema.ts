/** Validates event-log lines against the JSON Schema that ships in schema/. */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";

const schema = JSON.parse(readFileSync(new URL("../../schema/events.schema.json", import.meta.url), "utf8")) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

/** Problems found in the log at `path` (empty when every line is valid). */
export function logProblems(path: string): string[] {
  const problems: string[] = [];
  const lines = readFileSync(path, "utf8").split("\n");
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
    const seq = (event as { seq?: unknown }).seq;
    if (seq !== expectedSeq) problems.push(`${path}:${i + 1}: seq ${String(seq)}, expected ${expectedSeq} (gap-free from 1)`);
    expectedSeq++;
  });
  return problems;
}
