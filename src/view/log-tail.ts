/**
 * Follows an `events.jsonl` as it grows: reads only the bytes added since the
 * last read, parses complete lines with the same checks as `trellis render`
 * (`parseLogLine`), and tells listeners what changed. A line still being
 * written (no newline yet) waits for its end. A log replaced by a new run
 * (the file shrank, or its first line changed) starts over as a new
 * generation. A bad line stops the reading there and is kept as the
 * problem, so the viewer can say which line and why.
 */
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { TrellisError } from "../errors.ts";
import type { TrellisEvent } from "../events/types.ts";
import { parseLogLine } from "../events/read-log.ts";

/** Why the log cannot be read past some line. */
export interface LogProblem {
  /** 1-based line number, or 0 when the file itself cannot be read. */
  readonly line: number;
  readonly message: string;
}

export interface LogTailOptions {
  /** Keep reading as the file grows. Default false: read once. */
  readonly follow?: boolean;
  /**
   * Ignore what the file holds now until a new run replaces it (the file
   * shrinks or its first line changes): `trellis run --view` over an output
   * folder that holds an earlier run's log. Default false.
   */
  readonly skipExisting?: boolean;
  /** How often to look at the file besides file-system notifications, in ms. Default 250. */
  readonly pollMs?: number;
}

/** What a change did: `reset` (a new generation, read from the start) or new events from index `from`. */
export interface TailChange {
  readonly reset: boolean;
  readonly from: number;
}

const NEWLINE = 0x0a;

/** Lines parsed between two turns of the event loop: a long log's first read does not hold up the viewer's server. */
const LINES_PER_TURN = 2000;

export class LogTail {
  readonly path: string;
  /** The events read so far, in order (events of unknown types are counted in `skipped`, not kept). */
  readonly events: TrellisEvent[] = [];
  /** Lines of types this version does not know. */
  skipped = 0;
  problem: LogProblem | null = null;
  /** True when the file ends in a line without its newline (still being written, or cut off). */
  partial = false;
  /** Bumped each time the log starts over. */
  generation = 0;

  readonly #follow: boolean;
  readonly #pollMs: number;
  #offset = 0;
  #lineNo = 0;
  #seq = 0;
  #rest: Buffer = Buffer.alloc(0);
  #first: Buffer | null = null;
  #stale: { first: Buffer | null; size: number } | null = null;
  #listeners = new Set<(change: TailChange) => void>();
  #chain: Promise<void> = Promise.resolve();
  #watcher: FSWatcher | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(path: string, options: LogTailOptions = {}) {
    this.path = path;
    this.#follow = options.follow ?? false;
    this.#pollMs = options.pollMs ?? 250;
    if (options.skipExisting === true) this.#stale = { first: null, size: -1 };
  }

  /** Calls `listener` after each change; returns the function that stops it. */
  onChange(listener: (change: TailChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads what the file holds and, when following, starts watching it. */
  async start(): Promise<void> {
    if (this.#stale) {
      const now = await this.#readFirstLine();
      this.#stale = { first: now?.first ?? null, size: now?.size ?? -1 };
      if (now === null) this.#stale = null;
    }
    await this.refresh();
    if (!this.#follow || this.#closed) return;
    try {
      // The folder, not the file: the file may not exist yet, or be replaced.
      const name = basename(this.path);
      this.#watcher = watch(dirname(this.path), (_event, file) => {
        if (file === null || file === name) void this.refresh();
      });
      this.#watcher.on("error", () => this.#watcher?.close());
    } catch {
      // No notifications on this file system: polling alone will do.
    }
    this.#timer = setInterval(() => void this.refresh(), this.#pollMs);
    this.#timer.unref();
  }

  /** Reads what was added since the last read. Calls are queued, never run at once. */
  refresh(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#refresh()).catch(() => {});
    return this.#chain;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    if (this.#timer) clearInterval(this.#timer);
    this.#listeners.clear();
  }

  async #readFirstLine(): Promise<{ first: Buffer | null; size: number } | null> {
    let handle;
    try {
      handle = await open(this.path, "r");
    } catch {
      return null;
    }
    try {
      const { size } = await handle.stat();
      const buf = Buffer.alloc(Math.min(size, 64 * 1024));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      const end = buf.subarray(0, bytesRead).indexOf(NEWLINE);
      return { first: end < 0 ? null : Buffer.from(buf.subarray(0, end)), size };
    } finally {
      await handle.close();
    }
  }

  #reset(): void {
    this.events.length = 0;
    this.skipped = 0;
    this.problem = null;
    this.partial = false;
    this.#offset = 0;
    this.#lineNo = 0;
    this.#seq = 0;
    this.#rest = Buffer.alloc(0);
    this.#first = null;
    this.generation++;
  }

  async #refresh(): Promise<void> {
    if (this.#closed) return;
    const size = (await stat(this.path).catch(() => null))?.size;
    if (size === undefined) {
      if (!this.#follow && this.problem === null) {
        this.problem = { line: 0, message: `cannot read the event log ${this.path}: it does not exist` };
        this.#emit({ reset: false, from: this.events.length });
      }
      return;
    }
    if (this.#stale) {
      const now = await this.#readFirstLine();
      if (now === null) return;
      const replaced =
        now.size < this.#stale.size ||
        (now.first !== null && (this.#stale.first === null || !now.first.equals(this.#stale.first)));
      if (!replaced) return;
      this.#stale = null;
    }
    let reset = false;
    if (size < this.#offset) reset = true;
    else if (this.#first !== null) {
      const now = await this.#readFirstLine();
      if (now === null || now.first === null || !now.first.equals(this.#first)) reset = true;
    }
    if (reset) this.#reset();
    const from = this.events.length;
    const before = { problem: this.problem, partial: this.partial };
    if (this.problem === null && size > this.#offset) await this.#readFrom(size);
    if (!this.#follow) this.#finishLastLine();
    if (reset || this.events.length > from || this.problem !== before.problem || this.partial !== before.partial)
      this.#emit({ reset, from: reset ? 0 : from });
  }

  async #readFrom(size: number): Promise<void> {
    const handle = await open(this.path, "r");
    try {
      const chunk = Buffer.alloc(size - this.#offset);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.#offset);
      this.#offset += bytesRead;
      const data =
        this.#rest.length > 0
          ? Buffer.concat([this.#rest, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
      let start = 0;
      let lines = 0;
      for (
        let nl = data.indexOf(NEWLINE, start);
        nl >= 0 && this.problem === null && !this.#closed;
        nl = data.indexOf(NEWLINE, start)
      ) {
        const line = data.subarray(start, nl);
        if (this.#first === null && this.#lineNo === 0) this.#first = Buffer.from(line);
        start = nl + 1;
        this.#lineNo++;
        this.#parse(line.toString("utf8"));
        if (++lines % LINES_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.#rest = this.problem === null ? Buffer.from(data.subarray(start)) : Buffer.alloc(0);
      this.partial = this.problem === null && this.#rest.length > 0;
    } finally {
      await handle.close();
    }
  }

  #parse(text: string): boolean {
    if (text.trim() === "") return true;
    try {
      const parsed = parseLogLine(text, this.#lineNo, this.#seq + 1, this.path);
      this.#seq++;
      if (parsed.kind === "event") this.events.push(parsed.event);
      else if (parsed.kind === "unknown") this.skipped++;
      return true;
    } catch (error) {
      this.problem = {
        line: this.#lineNo,
        message: error instanceof TrellisError || error instanceof Error ? error.message : String(error),
      };
      return false;
    }
  }

  /** Read once: a last line without its newline is an event if it parses, else it was cut off. */
  #finishLastLine(): void {
    if (this.#rest.length === 0 || this.problem !== null) return;
    const text = this.#rest.toString("utf8");
    this.#rest = Buffer.alloc(0);
    this.#lineNo++;
    try {
      JSON.parse(text);
    } catch {
      // Not JSON at the end of the file: a cut-off line, not an error (as `trellis render` says).
      this.partial = true;
      return;
    }
    this.partial = false;
    this.#parse(text);
  }

  #emit(change: TailChange): void {
    for (const l of this.#listeners) l(change);
  }
}
