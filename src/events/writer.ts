/**
 * Appends events to `events.jsonl`. Lines are encoded straight into a byte
 * buffer; at the end of a scheduler turn (at most every 25 ms while the run
 * is busy, or when 64 KiB wait) the buffer is handed to Node's thread pool
 * and written there while the run goes on filling a second buffer. One write
 * is in flight at a time, each starting where the last ended, so the file is
 * always a prefix of the log. A crash loses at most the last turn; the run
 * never waits on the disk, except that {@link JsonlWriter.close} waits for
 * the last write.
 */
import { close as closeFd, mkdirSync, openSync, write, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { EventLines, JsonBytes } from "./line.ts";
import type { TrellisEvent } from "./types.ts";

export interface EventSink {
  write(event: TrellisEvent): void;
  /** End of a scheduler turn: write out if due. */
  tick?(): void;
  /** Write out everything buffered (it may still be on its way to the disk until `close`). */
  flush(): void;
  /** Everything is on disk (or failed) when this settles. */
  close(): void | Promise<void>;
}

/** Once the buffer holds this much, it is written out. */
const BUFFER_BYTES = 256 * 1024;
/** A turn's end writes when this much waits, however recent the last write. */
const TICK_FLUSH_BYTES = 64 * 1024;
/** Longest time a written event waits in memory while the run is busy. */
const TICK_FLUSH_MS = 25;
/**
 * When the disk is slower than the run and this much waits behind the write
 * in flight, it is written synchronously (after that write's range) instead
 * of growing the buffer further.
 */
const MAX_WAITING_BYTES = 16 * 1024 * 1024;

export class JsonlWriter implements EventSink {
  readonly path: string;
  #fd: number;
  readonly #lines = new EventLines(new JsonBytes(2 * BUFFER_BYTES));
  /** The buffer being written by the thread pool, and how much of it is done. */
  #inFlight: JsonBytes | null = null;
  #inFlightAt = 0;
  #inFlightDone = 0;
  #spare: JsonBytes | null = new JsonBytes(2 * BUFFER_BYTES);
  /** File offset where the next write starts (after the one in flight). */
  #position = 0;
  /** `flush` was asked while a write was in flight: write the rest when it lands. */
  #flushWanted = false;
  #failure: Error | null = null;
  #whenIdle: (() => void) | null = null;
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
    this.#lines.write(event);
    if (this.#lines.out.used >= BUFFER_BYTES) this.flush();
  }

  /**
   * Writes out at the end of a scheduler turn, but at most every
   * {@link TICK_FLUSH_MS} unless {@link TICK_FLUSH_BYTES} are waiting: a run
   * of tiny tasks would otherwise pay one system call per task. The run's end
   * always flushes.
   */
  tick(): void {
    const used = this.#lines.out.used;
    if (used === 0) return;
    if (used < TICK_FLUSH_BYTES && performance.now() - this.#lastFlush < TICK_FLUSH_MS) return;
    this.flush();
  }

  flush(): void {
    this.#lastFlush = performance.now();
    const out = this.#lines.out;
    if (out.used === 0 || this.#fd < 0) return;
    if (this.#inFlight === null) {
      this.#inFlight = out;
      this.#inFlightAt = this.#position;
      this.#inFlightDone = 0;
      this.#position += out.used;
      this.#lines.out = this.#spare ?? new JsonBytes(2 * BUFFER_BYTES);
      this.#spare = null;
      this.#writeMore();
    } else if (out.used >= MAX_WAITING_BYTES) {
      this.#writeNow(out);
    } else this.#flushWanted = true;
  }

  /** Writes `out` synchronously after the range of the write in flight. */
  #writeNow(out: JsonBytes): void {
    let done = 0;
    try {
      while (done < out.used) done += writeSync(this.#fd, out.bytes, done, out.used - done, this.#position + done);
    } catch (error) {
      this.#fail(error);
    }
    this.#position += out.used;
    out.used = 0;
  }

  #writeMore(): void {
    const buf = this.#inFlight as JsonBytes;
    write(this.#fd, buf.bytes, this.#inFlightDone, buf.used - this.#inFlightDone, this.#inFlightAt + this.#inFlightDone, this.#written);
  }

  readonly #written = (error: Error | null, bytes: number): void => {
    const buf = this.#inFlight as JsonBytes;
    if (error || bytes === 0) this.#fail(error ?? new Error("the file accepted no bytes"));
    else {
      this.#inFlightDone += bytes;
      if (this.#inFlightDone < buf.used) return this.#writeMore();
    }
    buf.used = 0;
    this.#spare = buf;
    this.#inFlight = null;
    if (this.#flushWanted && this.#failure === null) {
      this.#flushWanted = false;
      this.flush();
    }
    if (this.#inFlight === null) this.#whenIdle?.();
  };

  #fail(error: unknown): void {
    this.#failure ??= new TrellisError(
      ErrorCodes.OUTPUT_DIR,
      `cannot write the event log at ${this.path}: ${(error as Error).message}; free space or choose another --out folder`,
      { path: this.path },
      { cause: error },
    );
  }

  /** Writes what is left, waits for it to land, closes the file; rejects if any write failed. */
  async close(): Promise<void> {
    if (this.#fd < 0) return;
    this.flush();
    if (this.#inFlight !== null) {
      await new Promise<void>((resolve) => {
        this.#whenIdle = resolve;
      });
      this.#whenIdle = null;
    }
    const fd = this.#fd;
    this.#fd = -1;
    await new Promise<void>((resolve) => closeFd(fd, () => resolve()));
    if (this.#failure) throw this.#failure;
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
