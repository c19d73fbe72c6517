/**
 * Where snapshot images are drawn: in a worker thread (live runs: the run
 * loop only posts DOT strings and never waits for a picture) or on the
 * calling thread (`renderLog`, previews).
 */
import { Worker } from "node:worker_threads";
import { ErrorCodes, TrellisError, deserializeError } from "../errors.ts";
import type { HostToWorker, ImageJob, WorkerToHost } from "./image-protocol.ts";
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
  return new TrellisError(ErrorCodes.RENDER, `cannot draw ${target}: ${(error as Error).message}`, { path: target }, { cause: error });
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
 * Draws in one worker thread, started on the first job and stopped by
 * {@link drain}. The worker holds the process open only while jobs are
 * pending.
 */
export class WorkerImageSink implements ImageSink {
  readonly #layout: LayoutEngine;
  #worker: Worker | null = null;
  #nextId = 0;
  readonly #pending = new Map<number, ImageJob>();
  #errors: TrellisError[] = [];
  #idle: (() => void)[] = [];

  constructor(layout: LayoutEngine = "wasm") {
    this.#layout = layout;
  }

  #start(): Worker {
    const worker = new Worker(new URL("./image-worker.mjs", import.meta.url));
    worker.on("message", (msg: WorkerToHost) => {
      const job = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.type === "failed" && job) this.#errors.push(asRenderError(deserializeError(msg.error), job));
      this.#settle();
    });
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      for (const job of this.#pending.values())
        this.#errors.push(new TrellisError(ErrorCodes.RENDER, `the image worker ${why} before drawing ${job.png ?? job.svg ?? "an image"}`));
      this.#pending.clear();
      this.#settle();
    };
    worker.on("error", (error) => lost(`failed (${error.message})`));
    worker.on("exit", (code) => lost(`exited with code ${code}`));
    return worker;
  }

  #settle(): void {
    if (this.#pending.size > 0) return;
    this.#worker?.unref();
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  push(job: ImageJob): void {
    if (job.png === null && job.svg === null) return;
    this.#worker ??= this.#start();
    const id = ++this.#nextId;
    this.#pending.set(id, job);
    if (this.#pending.size === 1) this.#worker.ref();
    const msg: HostToWorker = { type: "render", id, job, layout: this.#layout };
    this.#worker.postMessage(msg);
  }

  async drain(): Promise<TrellisError[]> {
    if (this.#pending.size > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await worker.terminate();
    const errors = this.#errors;
    this.#errors = [];
    return errors;
  }
}
