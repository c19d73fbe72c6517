/**
 * Appends events to `events.jsonl`. Lines are encoded straight into a byte
 * buffer and written with synchronous appends at the end of a scheduler turn
 * (at most every 25 ms while the run is busy, or when 64 KiB wait), so a
 * crash loses at most the last turn and the run never waits on a callback
 * to log.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { JsonBytes, writeEventLine } from "./line.ts";
import type { TrellisEvent } from "./types.ts";

export interface EventSink {
  write(event: TrellisEvent): void;
  /** End of a scheduler turn: flush if due. */
  tick?(): void;
  flush(): void;
  close(): void;
}

/** Lines are encoded into a byte buffer; once it holds this much, it is written. */
const BUFFER_BYTES = 256 * 1024;
/** A turn's end writes when this much waits, however recent the last write. */
const TICK_FLUSH_BYTES = 64 * 1024;
/** Longest time a written event waits in memory while the run is busy. */
const TICK_FLUSH_MS = 25;

export class JsonlWriter implements EventSink {
  readonly path: string;
  #fd: number;
  readonly #out = new JsonBytes(2 * BUFFER_BYTES);
  #lastFlush = 0;

  constructor(path: string) {
    this.path = path;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#fd = openSync(path, "w");
    } catch (error) {
      throw new TrellisError(
        ErrorCodes.OUTPUT_DIR,
        `cannot write the event log at ${path}: ${(error as Error).message}; choose a writable --out folder`,
        { path },
        { cause: error },
      );
    }
  }

  write(event: TrellisEvent): void {
    writeEventLine(this.#out, event);
    if (this.#out.used >= BUFFER_BYTES) this.flush();
  }

  /**
   * Flushes at the end of a scheduler turn, but at most every
   * {@link TICK_FLUSH_MS} unless {@link TICK_FLUSH_BYTES} are waiting: a run
   * of tiny tasks would otherwise pay one system call per task. The run's end
   * always flushes.
   */
  tick(): void {
    if (this.#out.used === 0) return;
    if (this.#out.used < TICK_FLUSH_BYTES && performance.now() - this.#lastFlush < TICK_FLUSH_MS) return;
    this.flush();
  }

  flush(): void {
    this.#lastFlush = performance.now();
    const out = this.#out;
    const used = out.used;
    if (used === 0) return;
    out.used = 0;
    if (this.#fd < 0) return;
    let off = 0;
    while (off < used) off += writeSync(this.#fd, out.bytes, off, used - off);
  }

  close(): void {
    this.flush();
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** Keeps events in memory (tests, and runs without an output folder that want the log). */
export class MemorySink implements EventSink {
  readonly events: TrellisEvent[] = [];
  write(event: TrellisEvent): void {
    this.events.push(event);
  }
  flush(): void {}
  close(): void {}
}
