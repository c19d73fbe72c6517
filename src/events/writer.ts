/**
 * Appends events to `events.jsonl`. Lines are buffered and written with
 * synchronous appends at the end of each scheduler turn (and whenever the
 * buffer passes 256 KiB), so a crash loses at most the current turn and the
 * run never waits on a callback to log.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { TrellisEvent } from "./types.ts";

export interface EventSink {
  write(event: TrellisEvent): void;
  flush(): void;
  close(): void;
}

const FLUSH_AT = 256 * 1024;

export class JsonlWriter implements EventSink {
  readonly path: string;
  #fd: number;
  #chunks: string[] = [];
  #size = 0;

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
    const line = JSON.stringify(event) + "\n";
    this.#chunks.push(line);
    this.#size += line.length;
    if (this.#size >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.#chunks.length === 0 || this.#fd < 0) return;
    const text = this.#chunks.join("");
    this.#chunks = [];
    this.#size = 0;
    writeSync(this.#fd, text);
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
