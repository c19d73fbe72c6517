/**
 * Where snapshot images are drawn: in a worker thread (live runs: the run
 * loop only posts DOT strings and never waits for a picture) or on the
 * calling thread (`renderLog`, previews).
 */
import { ErrorCodes, TrellisError, deserializeError } from "../errors.ts";
import type { ImageJob } from "./image-protocol.ts";
import { imageWorkerPool } from "./image-worker-pool.ts";
import type { LayoutEngine } from "./images.ts";
import { writeImages } from "./images.ts";

/** A queue of image jobs. */
export interface ImageSink {
  push(job: ImageJob): void;
  /** Resolves when every job pushed so far is done, with the errors of those that failed. */
  drain(): Promise<TrellisError[]>;
}

function asRenderError(error: unknown, job: ImageJob): TrellisError {
  const target = job.png ?? job.svg ?? "";
  if (error instanceof TrellisError) return error;
  return new TrellisError(
    ErrorCodes.RENDER,
    `cannot draw ${target}: ${(error as Error).message}`,
    { path: target },
    { cause: error },
  );
}

/** Draws on the calling thread, one job after another. */
export class InlineImageSink implements ImageSink {
  readonly #layout: LayoutEngine;
  #chain: Promise<void> = Promise.resolve();
  #errors: TrellisError[] = [];

  constructor(layout: LayoutEngine = "wasm") {
    this.#layout = layout;
  }

  push(job: ImageJob): void {
    this.#chain = this.#chain.then(() =>
      writeImages(job, this.#layout).catch((error: unknown) => {
        this.#errors.push(asRenderError(error, job));
      }),
    );
  }

  async drain(): Promise<TrellisError[]> {
    await this.#chain;
    const errors = this.#errors;
    this.#errors = [];
    return errors;
  }
}

/**
 * Draws in the image worker of the process ({@link imageWorkerPool}), so
 * the run loop only posts DOT strings and never waits for a picture;
 * {@link drain} waits for this sink's jobs.
 */
export class WorkerImageSink implements ImageSink {
  readonly #layout: LayoutEngine;
  #pending = 0;
  #errors: TrellisError[] = [];
  #idle: (() => void)[] = [];

  constructor(layout: LayoutEngine = "wasm") {
    this.#layout = layout;
  }

  push(job: ImageJob): void {
    if (job.png === null && job.svg === null) return;
    this.#pending++;
    imageWorkerPool().submit(job, this.#layout, (result) => {
      if (result) this.#errors.push(asRenderError(deserializeError(result), job));
      if (--this.#pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  async drain(): Promise<TrellisError[]> {
    if (this.#pending > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const errors = this.#errors;
    this.#errors = [];
    return errors;
  }
}
