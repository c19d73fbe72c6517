/**
 * Writes events as JSONL bytes, exactly the UTF-8 of
 * `JSON.stringify(event) + "\n"`, straight into a growing byte buffer.
 *
 * The envelope (fixed keys; `ts` and `runId` change rarely, so the bytes
 * from `"ts"` to `"data":` are kept per event type until they do) and the
 * `data` of the four event types every task writes (`task.created`,
 * `edge.created`, `task.started`, `task.succeeded`) are written field by
 * field: ASCII strings and integers go byte by byte, strings that recur
 * (definition names, parent ids) are copied from a cache, and no
 * intermediate string is built. On a run of tiny tasks, building a
 * ~200-byte string per event (and the garbage it leaves) made the log cost
 * more than the engine. Anything else (other event types, task inputs and
 * outputs, strings that need escaping) goes through `JSON.stringify`.
 * test/core/line.test.ts checks the bytes against `JSON.stringify` on
 * generated events.
 */
import type { Json } from "./codec.ts";
import { isEmptyObject } from "./codec.ts";
import type { TrellisEvent } from "./types.ts";

const QUOTE = 0x22;

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Parts shorter than this are copied by a loop; longer ones by `TypedArray.set`. */
const SHORT = 8;
/** Recurring strings kept as bytes; the cache starts over when it holds this many. */
const RECURRING_MAX = 4096;

const PART = {
  seq: ascii('{"v":1,"seq":'),
  null: ascii("null"),
  emptyObject: ascii("{}"),
  emptyArray: ascii("[]"),
  parent: ascii(',"parent":'),
  labels: ascii(',"labels":'),
  inputs: ascii(',"inputs":'),
  placeholder: ascii(',"placeholder":'),
  priority: ascii(',"priority":'),
  kind: ascii(',"kind":'),
  output: ascii(',"output":'),
  end: ascii("}\n"),
};

/** A byte buffer that JSON text is appended to; it grows when a value does not fit. */
export class JsonBytes {
  bytes: Buffer;
  used = 0;

  constructor(size = 256 * 1024) {
    this.bytes = Buffer.allocUnsafe(size);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.used + n <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + n));
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
  }

  raw(part: Uint8Array): void {
    const n = part.length;
    this.reserve(n);
    const b = this.bytes;
    let at = this.used;
    if (n > SHORT) {
      b.set(part, at);
      this.used = at + n;
      return;
    }
    for (let i = 0; i < n; i++) b[at++] = part[i] as number;
    this.used = at;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.used += this.bytes.write(s, this.used);
  }

  /** A JSON string literal; printable ASCII without `"` or `\` is copied byte by byte. */
  string(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const b = this.bytes;
    const start = this.used;
    let at = start;
    b[at++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) {
        this.used = start;
        this.text(JSON.stringify(s));
        return;
      }
      b[at++] = c;
    }
    b[at++] = QUOTE;
    this.used = at;
  }

  stringOrNull(s: string | null): void {
    if (s === null) this.raw(PART.null);
    else this.string(s);
  }

  /** A number as JSON writes it (non-finite numbers are `null`). */
  number(n: number): void {
    // Sequence numbers, attempts and priorities: small integers, written with integer arithmetic
    // (`(d / 10) | 0` on an int32 is a multiply; `Math.floor(d / 10)` was a float division per digit).
    if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) {
      this.reserve(10);
      const b = this.bytes;
      if (n < 10) {
        b[this.used++] = 0x30 + n;
        return;
      }
      let at = this.used + digitsOf(n);
      this.used = at;
      let d = n;
      do {
        const q = (d / 10) | 0;
        b[--at] = 0x30 + d - q * 10;
        d = q;
      } while (d > 0);
      return;
    }
    if (Number.isSafeInteger(n) && n >= 0) {
      this.text(String(n));
      return;
    }
    this.text(JSON.stringify(n));
  }

  /** Copies the bytes at `[from, to)` of this buffer to its end (text written earlier on the same buffer). */
  again(from: number, to: number): void {
    const n = to - from;
    this.reserve(n);
    const b = this.bytes;
    let at = this.used;
    if (n > 2 * SHORT) b.copyWithin(at, from, to);
    else for (let i = from; i < to; i++) b[at++] = b[i] as number;
    this.used = this.used + n;
  }

  /** Any JSON value; `null` and `{}` without `JSON.stringify`. */
  value(v: Json): void {
    if (v === null) this.raw(PART.null);
    else if (typeof v === "object" && isEmptyObject(v)) this.raw(PART.emptyObject);
    else this.text(JSON.stringify(v));
  }

  strings(list: readonly string[]): void {
    if (list.length === 0) this.raw(PART.emptyArray);
    else this.text(JSON.stringify(list));
  }
}

/** The number of decimal digits of a non-negative int32 of 10 or more. */
function digitsOf(n: number): number {
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  if (n < 1000000000) return 9;
  return 10;
}

/** Where the digits of the sequence number start in a line. */
const SEQ_DIGITS_AT = PART.seq.length;

/** Per-type start of `data` kept with the envelope: the first key of the hot event types. */
const DATA_OPENER: Partial<Record<TrellisEvent["type"], string>> = {
  "task.created": '{"id":',
  "task.started": '{"id":',
  "task.succeeded": '{"id":',
  "edge.created": '{"from":',
};

const TAIL = {
  /** `task.created` of an instance without labels, inputs or placeholder, up to its priority. */
  createdPlain: ascii(',"labels":[],"inputs":{},"placeholder":null,"priority":'),
  attempt: ascii(',"attempt":'),
  /** `task.started` of a first attempt, from its attempt to the line's end. */
  attempt1: ascii(',"attempt":1}}\n'),
  inputsHash: ascii(',"inputsHash":'),
  outputNull: ascii(',"output":null}}\n'),
  lineage: ascii(',"kind":"lineage"}}\n'),
  data: ascii(',"kind":"data"}}\n'),
  /** Closes `data` and the line. */
  end: ascii("}}\n"),
};

/** Byte strings for values that recur on many lines, by value; starts over when it grows past {@link RECURRING_MAX}. */
class Recurring {
  readonly #bytes = new Map<string, Uint8Array>();
  readonly #prefix: string;
  readonly #suffix: string;

  /** `prefix` is JSON text written before the value, e.g. `,"task":`; `suffix` after it. */
  constructor(prefix: string, suffix = "") {
    this.#prefix = prefix;
    this.#suffix = suffix;
  }

  /** The last value asked for and its bytes: consecutive lines usually repeat it (the same string object). */
  #lastValue: string | null = null;
  #lastBytes: Uint8Array | null = null;

  get(value: string): Uint8Array {
    if (value === this.#lastValue) return this.#lastBytes as Uint8Array;
    const bytes = this.#lookUp(value);
    this.#lastValue = value;
    this.#lastBytes = bytes;
    return bytes;
  }

  #lookUp(value: string): Uint8Array {
    let bytes = this.#bytes.get(value);
    if (bytes === undefined) {
      if (this.#bytes.size >= RECURRING_MAX) this.#bytes.clear();
      bytes = Buffer.from(this.#prefix + JSON.stringify(value) + this.#suffix);
      this.#bytes.set(value, bytes);
    }
    return bytes;
  }
}

/**
 * Writes events of any number of runs as lines into one {@link JsonBytes}.
 * Keeps the envelope bytes of the current `ts`/`runId` and the bytes of
 * recurring strings, so a hot line is a handful of copies.
 */
export class EventLines {
  #out: JsonBytes;
  /**
   * The instance id written last by `task.created` or `task.started`, and
   * where its JSON string is in {@link out}: the `edge.created` after a
   * `task.created` names the same instance (`to`), and so does a
   * `task.succeeded` after its `task.started` when the task was quick; those
   * copy the bytes instead of encoding the id again. Null once the buffer
   * changed under the writer (swapped, or its `used` set by hand).
   */
  #id: string | null = null;
  #idFrom = 0;
  #idTo = 0;
  /** Where the last line written ended in {@link out}. */
  #end = 0;
  #ts = "";
  #runId = "";
  /** Per event type: `,"ts":…,"runId":…,"type":…,"data":` (and the first data key of hot types) for the current ts and runId. */
  readonly #heads = new Map<string, Uint8Array>();
  readonly #tasks = new Recurring(',"task":');
  readonly #parents = new Recurring(',"parent":');
  readonly #froms = new Recurring("", ',"to":');
  /**
   * The inputs hash written last with its line's end (`,"inputsHash":…}}\n`)
   * and where: a fan-out's children share one hash, copied like {@link #id}.
   */
  #hash: string | null = null;
  #hashFrom = 0;
  #hashTo = 0;
  /** The start of the last line, `{"v":1,"seq":` and its number (see {@link #start}), and that number (-1: none to count from). */
  #seqBytes: Uint8Array = PART.seq;
  #seq = -1;
  /** `,"task":…,"parent":…` and the rest of a plain `task.created` up to its priority, for the last task and parent. */
  #plainTask: string | null = null;
  #plainParent: string | null = null;
  #plain: Uint8Array = TAIL.createdPlain;

  constructor(out: JsonBytes = new JsonBytes()) {
    this.#out = out;
  }

  /** Where lines go; the log writer swaps in an empty buffer while a full one is being written. */
  get out(): JsonBytes {
    return this.#out;
  }

  set out(buffer: JsonBytes) {
    this.#out = buffer;
    this.#id = null;
    this.#hash = null;
  }

  /** Writes the id `id` as a JSON string, and keeps where it is for {@link #idAgain}. */
  #idFirst(out: JsonBytes, id: string): void {
    const from = out.used;
    out.string(id);
    this.#id = id;
    this.#idFrom = from;
    this.#idTo = out.used;
  }

  /** Writes the id `id` as a JSON string: a copy when it is the one {@link #idFirst} wrote last (usually the same string object). */
  #idAgain(out: JsonBytes, id: string): void {
    if (id === this.#id) out.again(this.#idFrom, this.#idTo);
    else out.string(id);
  }

  /** Appends one event as one line: the bytes of `JSON.stringify(event) + "\n"`. */
  write(event: TrellisEvent): void {
    const out = this.#out;
    // The kept id is only good while the buffer holds what this writer wrote up to here (no swap, no reset).
    if (out.used !== this.#end) {
      this.#id = null;
      this.#hash = null;
    }
    this.#line(out, event);
    this.#end = out.used;
  }

  #line(out: JsonBytes, event: TrellisEvent): void {
    out.raw(this.#start(event.seq));
    out.raw(this.#head(event));
    switch (event.type) {
      case "task.created": {
        const d = event.data;
        this.#idFirst(out, d.id);
        if (
          d.labels.length === 0 &&
          d.placeholder === null &&
          d.inputs !== null &&
          typeof d.inputs === "object" &&
          isEmptyObject(d.inputs)
        )
          out.raw(this.#plainMiddle(d.task, d.parent));
        else {
          this.#taskAndParent(out, d.task, d.parent);
          out.raw(PART.labels);
          out.strings(d.labels);
          out.raw(PART.inputs);
          out.value(d.inputs);
          out.raw(PART.placeholder);
          out.stringOrNull(d.placeholder);
          out.raw(PART.priority);
        }
        out.number(d.priority);
        if (d.inputsHash === undefined) out.raw(TAIL.end);
        else if (d.inputsHash === this.#hash) out.again(this.#hashFrom, this.#hashTo);
        else {
          const from = out.used;
          out.raw(TAIL.inputsHash);
          out.string(d.inputsHash);
          out.raw(TAIL.end);
          this.#hash = d.inputsHash;
          this.#hashFrom = from;
          this.#hashTo = out.used;
        }
        return;
      }
      case "edge.created": {
        const d = event.data;
        out.raw(this.#froms.get(d.from)); // with `,"to":`
        this.#idAgain(out, d.to);
        if (d.kind === "lineage") out.raw(TAIL.lineage);
        else if (d.kind === "data") out.raw(TAIL.data);
        else {
          out.raw(PART.kind);
          out.string(d.kind);
          out.raw(TAIL.end);
        }
        return;
      }
      case "task.started":
        this.#idFirst(out, event.data.id);
        if (event.data.attempt === 1) out.raw(TAIL.attempt1);
        else {
          out.raw(TAIL.attempt);
          out.number(event.data.attempt);
          out.raw(TAIL.end);
        }
        return;
      case "task.succeeded":
        this.#idAgain(out, event.data.id);
        if (event.data.output === null) out.raw(TAIL.outputNull);
        else {
          out.raw(PART.output);
          out.value(event.data.output);
          out.raw(TAIL.end);
        }
        return;
      default:
        out.text(JSON.stringify(event.data));
        out.raw(PART.end);
    }
  }

  /**
   * `{"v":1,"seq":` and the sequence number: the bytes of the last line's
   * start with its number counted up in place when `seq` follows it (the
   * usual case: one digit changes), else written anew.
   */
  #start(seq: number): Uint8Array {
    const b = this.#seqBytes;
    if (seq === this.#seq + 1 && this.#seq >= 0) {
      let i = b.length - 1;
      while (i >= SEQ_DIGITS_AT && b[i] === 0x39) b[i--] = 0x30;
      if (i >= SEQ_DIGITS_AT) {
        b[i] = (b[i] as number) + 1;
        this.#seq = seq;
        return b;
      }
    }
    // A new start (the first line, a number that does not follow, or one digit more): made once, then counted up.
    const scratch = new JsonBytes(64);
    scratch.raw(PART.seq);
    scratch.number(seq);
    const start = new Uint8Array(scratch.bytes.subarray(0, scratch.used));
    // Counted up in place only from a plain decimal integer (no exponent or fraction to carry into).
    this.#seq = Number.isSafeInteger(seq) && seq >= 0 && seq < 1e15 ? seq : -1;
    this.#seqBytes = start;
    return start;
  }

  #taskAndParent(out: JsonBytes, task: string, parent: string | null): void {
    out.raw(this.#tasks.get(task));
    if (parent === null) {
      out.raw(PART.parent);
      out.raw(PART.null);
    } else out.raw(this.#parents.get(parent));
  }

  /** The bytes of a plain `task.created` from `,"task":` up to its priority, kept for the last task and parent. */
  #plainMiddle(task: string, parent: string | null): Uint8Array {
    if (task === this.#plainTask && parent === this.#plainParent && this.#plainTask !== null) return this.#plain;
    const scratch = new JsonBytes(256);
    this.#taskAndParent(scratch, task, parent);
    scratch.raw(TAIL.createdPlain);
    this.#plain = scratch.bytes.subarray(0, scratch.used);
    this.#plainTask = task;
    this.#plainParent = parent;
    return this.#plain;
  }

  #head(event: TrellisEvent): Uint8Array {
    if (event.ts !== this.#ts || event.runId !== this.#runId) {
      this.#ts = event.ts;
      this.#runId = event.runId;
      this.#heads.clear();
    }
    let bytes = this.#heads.get(event.type);
    if (bytes === undefined) {
      const opener = DATA_OPENER[event.type] ?? "";
      bytes = Buffer.from(
        `,"ts":${JSON.stringify(event.ts)},"runId":${JSON.stringify(event.runId)},"type":${JSON.stringify(event.type)},"data":${opener}`,
      );
      this.#heads.set(event.type, bytes);
    }
    return bytes;
  }
}
