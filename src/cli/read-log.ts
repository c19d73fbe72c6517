/**
 * Reads an `events.jsonl` file into events, checking each line's envelope so
 * a malformed log is reported with its line number instead of failing later.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { EVENT_TYPES } from "../events/types.ts";
import type { TrellisEvent } from "../events/types.ts";
import { CliError } from "./cli-error.ts";
import { ExitCodes } from "./exit-codes.ts";

const KNOWN = new Set<string>(EVENT_TYPES);

/** Why one parsed line is not an event, or null when it is one. */
function envelopeProblem(value: unknown, expectedSeq: number): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "it is not a JSON object";
  const e = value as Record<string, unknown>;
  if (e["v"] !== 1) return `"v" is ${JSON.stringify(e["v"])}, expected 1`;
  if (typeof e["seq"] !== "number") return `"seq" is missing`;
  if (e["seq"] !== expectedSeq) return `"seq" is ${String(e["seq"])}, expected ${expectedSeq} (seq counts from 1 without gaps)`;
  if (typeof e["ts"] !== "string") return `"ts" is missing`;
  if (typeof e["runId"] !== "string") return `"runId" is missing`;
  if (typeof e["type"] !== "string") return `"type" is missing`;
  if (!KNOWN.has(e["type"])) return `unknown event type "${e["type"]}"`;
  if (typeof e["data"] !== "object" || e["data"] === null) return `"data" is missing`;
  return null;
}

/**
 * Every event of the log at `path`, in order. Blank lines are ignored.
 * @throws CliError exit 66 when the file is missing, 65 when a line is not an event.
 */
export function readEventLog(path: string, shownAs = path): TrellisEvent[] {
  if (!existsSync(path)) throw new CliError(ExitCodes.NO_INPUT, `cannot find the event log "${shownAs}"; name an events.jsonl written by a run (e.g. outputs/map_reduce/events.jsonl)`);
  if (statSync(path).isDirectory())
    throw new CliError(ExitCodes.NO_INPUT, `"${shownAs}" is a folder; name the events.jsonl inside it (e.g. ${shownAs.replace(/\/$/, "")}/events.jsonl)`);
  const lines = readFileSync(path, "utf8").split("\n");
  const events: TrellisEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? "";
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CliError(ExitCodes.DATA, `${shownAs}:${i + 1} is not valid JSON, so this is not an event log (or it is damaged); render a log written by trellis run`);
    }
    const problem = envelopeProblem(value, events.length + 1);
    if (problem !== null) throw new CliError(ExitCodes.DATA, `${shownAs}:${i + 1} is not a Trellis event: ${problem}; render a log written by trellis run`);
    events.push(value as TrellisEvent);
  }
  if (events.length === 0) throw new CliError(ExitCodes.DATA, `${shownAs} holds no events; render a log written by trellis run`);
  return events;
}
