/**
 * Reads `events.jsonl` line by line, checking each line so that the fold
 * can trust it: the envelope (`v`, gap-free `seq` from 1, `type`, `data`)
 * and, for known types, the whole `data` against the log's schema
 * (`events/schema.ts`, the definition the writer is tested against). Event
 * types this version does not know (a log from a newer Trellis) are
 * reported, not fatal.
 */
import { closeSync, createReadStream, openSync, readFileSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { compileSchema } from "./conforms.ts";
import type { Conformance } from "./conforms.ts";
import type { TrellisEvent } from "./types.ts";
import { EVENT_TYPES, EVENT_VERSION } from "./types.ts";

/**
 * One line of the log: a known event, an event of a type this version does
 * not know, or the last line of the file cut off in the middle (what a run
 * killed while writing leaves: the file is always a prefix of the log).
 */
export type LogLine =
  | { readonly kind: "event"; readonly line: number; readonly event: TrellisEvent }
  | {
      readonly kind: "unknown";
      readonly line: number;
      readonly type: string;
      readonly seq: number;
      readonly ts: string;
    }
  | { readonly kind: "cut"; readonly line: number };

/** Envelope versions (`v`) this Trellis reads. A new major version is an incompatible format. */
export const SUPPORTED_LOG_VERSIONS: readonly number[] = [EVENT_VERSION];

const KNOWN = new Set<string>(EVENT_TYPES);

type LogSchema = {
  allOf: { then: { properties: { data: Record<string, unknown> } } }[];
  definitions: Record<string, Record<string, unknown>>;
};
let payloads: Map<string, Conformance> | undefined;

/**
 * The check of each event type's `data`, compiled on first use from the
 * shipped `schema/events.schema.json`: the file generated from
 * `events/schema.ts` (a test keeps it up to date), so the reader checks what
 * the writer is held to without loading TypeBox, which would cost every
 * process and worker ~0.1 s at start-up.
 */
function payloadChecks(): Map<string, Conformance> {
  if (payloads) return payloads;
  const schema = JSON.parse(
    readFileSync(new URL("../../schema/events.schema.json", import.meta.url), "utf8"),
  ) as LogSchema;
  payloads = new Map(
    EVENT_TYPES.map((type, i) => [
      type as string,
      compileSchema((schema.allOf[i] as LogSchema["allOf"][number]).then.properties.data, schema.definitions),
    ]),
  );
  return payloads;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function formatError(path: string, line: number, what: string, details: Record<string, unknown> = {}): TrellisError {
  return new TrellisError(ErrorCodes.LOG_FORMAT, `${path}:${line}: ${what}`, { path, line, ...details });
}

/** Marks a line that is not JSON, so the reader can tell a cut-off last line from a bad one. */
const NOT_JSON = Symbol("not JSON");

/**
 * Parses one line. `expectedSeq` is the `seq` the line must have.
 * @throws TrellisError `LOG_FORMAT` naming the line.
 */
export function parseLogLine(text: string, line: number, expectedSeq: number, path = "events.jsonl"): LogLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw Object.assign(
      formatError(path, line, `not valid JSON (${(error as Error).message}); the line is malformed or truncated`),
      { [NOT_JSON]: true },
    );
  }
  if (!isObject(value)) throw formatError(path, line, "an event must be a JSON object");
  const { v, seq, type, data, ts } = value;
  if (typeof v !== "number") throw formatError(path, line, "missing envelope field `v`");
  if (!SUPPORTED_LOG_VERSIONS.includes(v))
    throw formatError(
      path,
      line,
      `envelope version v=${v}, but this Trellis reads version ${SUPPORTED_LOG_VERSIONS.join(", ")}; draw it with the Trellis that wrote it (a newer one, if v is higher)`,
      { version: v, supported: [...SUPPORTED_LOG_VERSIONS] },
    );
  if (typeof type !== "string" || type === "") throw formatError(path, line, "missing envelope field `type`");
  if (typeof seq !== "number" || !Number.isInteger(seq)) throw formatError(path, line, "missing envelope field `seq`");
  if (seq !== expectedSeq)
    throw formatError(path, line, `seq ${seq} where ${expectedSeq} was expected (the log must be gap-free from 1)`);
  if (!isObject(data)) throw formatError(path, line, "envelope field `data` must be an object");
  const stamp = typeof ts === "string" ? ts : "";
  if (!KNOWN.has(type)) return { kind: "unknown", line, type, seq, ts: stamp };
  const problem = (payloadChecks().get(type) as Conformance)(data);
  if (problem !== null) throw formatError(path, line, `${type}: data${problem}`);
  return { kind: "event", line, event: (ts === stamp ? value : { ...value, ts: stamp }) as unknown as TrellisEvent };
}

/** `LOG_FORMAT` for a log that cannot be opened at all. */
function unreadable(path: string, error: unknown): TrellisError {
  return new TrellisError(
    ErrorCodes.LOG_FORMAT,
    `cannot read the event log ${path}: ${(error as Error).message}`,
    { path, line: 0 },
    { cause: error },
  );
}

/**
 * The complete lines of the log's first `bytes` bytes, in order, each
 * checked like {@link readEventLog} does, given to `visit` (blank lines are
 * skipped). Synchronous, in large chunks: what `resume` reads a big log
 * with before anything else can happen.
 * @throws TrellisError `LOG_FORMAT` for an unreadable file or a bad line (naming it).
 */
export function visitLogLines(path: string, bytes: number, visit: (line: LogLine) => void): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    let chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
    let held = 0; // bytes of an unfinished line kept at the chunk's start
    let at = 0;
    let n = 0;
    let seq = 0;
    while (at < bytes) {
      if (held === chunk.length) {
        const bigger = Buffer.allocUnsafe(chunk.length * 2);
        chunk.copy(bigger, 0, 0, held);
        chunk = bigger;
      }
      const got = readSync(fd, chunk, held, Math.min(chunk.length - held, bytes - at), at);
      if (got === 0) break;
      at += got;
      const end = held + got;
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl >= 0 && nl < end; nl = chunk.indexOf(0x0a, start)) {
        n++;
        if (nl > start) {
          const text = chunk.toString("utf8", start, nl);
          if (text.trim() !== "") visit(parseLogLine(text, n, ++seq, path));
        }
        start = nl + 1;
      }
      held = end - start;
      chunk.copy(chunk, 0, start, end);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The lines of an event log, in order; blank lines are skipped. A last line
 * that is cut off (no newline after it, and not JSON) is one `cut` line, not
 * an error: a run killed while writing leaves one (see docs/event-log.md).
 * @throws TrellisError `LOG_FORMAT` for an unreadable file or a bad line (naming it).
 */
export async function* readEventLog(path: string): AsyncGenerator<LogLine> {
  const stream = createReadStream(path, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", reject);
  });
  try {
    await opened;
  } catch (error) {
    throw unreadable(path, error);
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  // Whether the file read so far ends with a newline: known for the whole file when the lines end.
  let terminated = true;
  stream.on("data", (chunk: string | Buffer) => {
    if (chunk.length > 0)
      terminated = typeof chunk === "string" ? chunk.endsWith("\n") : chunk[chunk.length - 1] === 0x0a;
  });
  let n = 0;
  let seq = 0;
  // Each line is parsed when the next one arrives, so the last one is known to be the last.
  let held: { text: string; n: number } | null = null;
  const parse = (h: { text: string; n: number }): LogLine => {
    const parsed = parseLogLine(h.text, h.n, seq + 1, path);
    seq++;
    return parsed;
  };
  try {
    for await (const text of lines) {
      n++;
      if (text.trim() === "") continue;
      if (held) yield parse(held);
      held = { text, n };
    }
    if (held) {
      const last = held;
      try {
        yield parse(last);
      } catch (error) {
        if (terminated || !(error instanceof TrellisError && NOT_JSON in error)) throw error;
        yield { kind: "cut", line: last.n };
      }
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}
