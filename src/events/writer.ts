/**
 * Appends events to `events.jsonl`. Lines are encoded straight into byte
 * buffers of {@link BUFFER_BYTES}; full buffers, and at the end of a
 * scheduler turn what is buffered (at most every 25 ms while the run is busy,
 * or when 64 KiB wait), are handed to Node's thread pool and written there
 * while the run goes on. One write is in flight at a time, each starting
 * where the last ended, so the file is always a prefix of the log. When the
 * run produces faster than the disk takes (or never yields, like a parent
 * spawning 100,000 children in one loop), what waits is written
 * synchronously once it passes {@link MAX_WAITING_BYTES}.
 * {@link JsonlWriter.close} waits for the last write. If the process exits
 * first (a task calls `process.exit` on the inline executor), an `exit`
 * handler writes everything synchronously, so nothing recorded is lost.
 *
 * A hard crash (SIGKILL, an abort, out of memory) loses what was still in
 * memory: at most {@link TICK_FLUSH_MS} of events. What bounds it even when
 * the run stops producing or a task blocks the event loop: the first event
 * goes out at once; every {@link CLOCK_EVERY} events the clock is read and
 * what waits goes out once it is that old; and a turn's end that leaves
 * events behind arms a timer for when they are due.
 */
import { close as closeFd, ftruncateSync, openSync, write, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { EventLines, JsonBytes } from "./line.ts";
import { ensureWritableDir } from "./output-dir.ts";
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

/** Size of one buffer; a full one is queued for writing. */
const BUFFER_BYTES = 256 * 1024;
/** A turn's end writes when this much waits, however recent the last write. */
const TICK_FLUSH_BYTES = 64 * 1024;
/** Longest time a written event waits in memory while the run is busy. */
const TICK_FLUSH_MS = 25;
/** Events between two reads of the clock in {@link JsonlWriter.write}. */
const CLOCK_EVERY = 16;
/** A buffer's capacity: a line that starts under BUFFER_BYTES usually fits without growing it. */
const BUFFER_CAPACITY = BUFFER_BYTES + 64 * 1024;

function newBuffer(): JsonBytes {
  return new JsonBytes(BUFFER_CAPACITY);
}

/** Bytes queued behind the write in flight before they are written synchronously. */
const MAX_WAITING_BYTES = 8 * 1024 * 1024;

export class JsonlWriter implements EventSink {
  readonly path: string;
  #fd: number;
  readonly #lines = new EventLines(newBuffer());
  /** Full buffers waiting for the write in flight, in file order. */
  readonly #waiting: JsonBytes[] = [];
  #waitingBytes = 0;
  readonly #free: JsonBytes[] = [];
  /** The buffer the thread pool is writing, where it goes, and how much is done. */
  #inFlight: JsonBytes | null = null;
  #inFlightAt = 0;
  #inFlightDone = 0;
  /** True once a catch-up wrote the buffer in flight synchronously: the next catch-up need not write it again. */
  #inFlightSynced = false;
  /** File offset where the next buffer goes (after the one in flight). */
  #position = 0;
  #failure: Error | null = null;
  #whenIdle: (() => void) | null = null;
  #lastFlush = 0;
  /** Events left until write() reads the clock; the first one does. */
  #untilClock = 1;
  /** Flushes what a turn's end left behind, once it is due. */
  #dueTimer: ReturnType<typeof setTimeout> | undefined;
  /** Registered on `process` while the file is open. */
  readonly #onExit = (): void => this.#writeAllNow();

  /**
   * Opens `path` for a new log (emptied), or with `append` for a resumed run:
   * the file is cut to its first `append` bytes (its complete lines; a line
   * cut off by a crash goes) and the log continues after them.
   */
  constructor(path: string, options: { readonly append?: number } = {}) {
    this.path = path;
    try {
      ensureWritableDir(dirname(path));
      if (options.append === undefined) this.#fd = openSync(path, "w");
      else {
        this.#fd = openSync(path, "r+");
        ftruncateSync(this.#fd, options.append);
        this.#position = options.append;
      }
      process.on("exit", this.#onExit);
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
    else if (--this.#untilClock === 0) {
      this.#untilClock = CLOCK_EVERY;
      if (performance.now() - this.#lastFlush >= TICK_FLUSH_MS) this.flush();
    }
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
    const age = performance.now() - this.#lastFlush;
    if (used >= TICK_FLUSH_BYTES || age >= TICK_FLUSH_MS) return this.flush();
    // The run may go quiet now (a long task, a wait): what is left must not wait for the next event.
    if (this.#dueTimer === undefined) {
      this.#dueTimer = setTimeout(this.#due, TICK_FLUSH_MS - age);
      this.#dueTimer.unref(); // if the process ends first, the exit handler writes everything
    }
  }

  readonly #due = (): void => {
    this.#dueTimer = undefined;
    this.flush();
  };

  flush(): void {
    this.#lastFlush = performance.now();
    if (this.#fd < 0 || !this.#queueCurrent()) return;
    if (this.#inFlight === null) this.#sendNext();
    else if (this.#waitingBytes >= MAX_WAITING_BYTES) this.#catchUp();
  }

  /** Queues the buffer being filled behind the others and starts a fresh one; false when it is empty. */
  #queueCurrent(): boolean {
    const out = this.#lines.out;
    if (out.used === 0) return false;
    this.#waiting.push(out);
    this.#waitingBytes += out.used;
    this.#lines.out = this.#free.pop() ?? newBuffer();
    return true;
  }

  /** Hands the first waiting buffer to the thread pool. */
  #sendNext(): void {
    const next = this.#waiting.shift();
    if (next === undefined) return;
    this.#waitingBytes -= next.used;
    this.#inFlight = next;
    this.#inFlightAt = this.#position;
    this.#inFlightDone = 0;
    this.#inFlightSynced = false;
    this.#position += next.used;
    this.#writeMore();
  }

  #writeMore(): void {
    const buf = this.#inFlight as JsonBytes;
    write(
      this.#fd,
      buf.bytes,
      this.#inFlightDone,
      buf.used - this.#inFlightDone,
      this.#inFlightAt + this.#inFlightDone,
      this.#written,
    );
  }

  readonly #written = (error: Error | null, bytes: number): void => {
    const buf = this.#inFlight as JsonBytes;
    if (error || bytes === 0) this.#fail(error ?? new Error("the file accepted no bytes"));
    else {
      this.#inFlightDone += bytes;
      if (this.#inFlightDone < buf.used) return this.#writeMore();
    }
    this.#inFlight = null;
    this.#recycle(buf);
    if (this.#failure === null) this.#sendNext();
    if (this.#inFlight === null) this.#whenIdle?.();
  };

  /**
   * The disk is behind (or the process exits): writes synchronously, in
   * order, what the write in flight still has to do (again from its start:
   * the same bytes at the same offsets, so it does not matter which lands
   * last) and everything waiting. A spawn loop that never yields catches up
   * every {@link MAX_WAITING_BYTES} while the same write is in flight: its
   * buffer is written once, not at each catch-up.
   */
  #catchUp(): void {
    if (this.#inFlight !== null && !this.#inFlightSynced) {
      this.#writeSyncAt(this.#inFlight, this.#inFlightAt);
      this.#inFlightSynced = true;
    }
    for (const buf of this.#waiting.splice(0)) {
      this.#writeSyncAt(buf, this.#position);
      this.#position += buf.used;
      this.#recycle(buf);
    }
    this.#waitingBytes = 0;
  }

  /** The process is exiting: everything still in memory or in flight goes to the file now. */
  #writeAllNow(): void {
    if (this.#fd < 0) return;
    this.#queueCurrent();
    this.#catchUp();
  }

  #writeSyncAt(buf: JsonBytes, at: number): void {
    try {
      for (let done = 0; done < buf.used; ) done += writeSync(this.#fd, buf.bytes, done, buf.used - done, at + done);
    } catch (error) {
      this.#fail(error);
    }
  }

  #recycle(buf: JsonBytes): void {
    if (buf === this.#inFlight) return; // still read by the thread pool; recycled when its write lands
    buf.used = 0;
    if (buf.bytes.length <= BUFFER_CAPACITY) this.#free.push(buf);
  }

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
    clearTimeout(this.#dueTimer);
    this.#dueTimer = undefined;
    process.off("exit", this.#onExit);
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
