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

interface Drawer {
  readonly worker: Worker;
  /** The job it is drawing, if any. */
  busy: { readonly id: number; readonly job: ImageJob } | null;
}

/** Frames still waiting when the run ends from which a normal-priority worker joins in. */
const HELPER_FROM_QUEUED = 4;

/** Workers that may be lost in one sink before the rest of its jobs fail. */
const MAX_WORKER_LOSSES = 3;

/**
 * Draws in worker threads, one job at a time each. While the run goes on,
 * one worker draws at low priority (on Linux), so drawing never takes the
 * cores from the run's own tasks. When the run ends ({@link drain}) with
 * several frames still waiting, a second worker at normal priority joins in,
 * so a busy machine does not leave them to a starved low-priority thread. Workers hold
 * the process open only while jobs are pending.
 */
export class WorkerImageSink implements ImageSink {
  readonly #layout: LayoutEngine;
  readonly #drawers: Drawer[] = [];
  readonly #queue: { readonly id: number; readonly job: ImageJob }[] = [];
  #nextId = 0;
  #losses = 0;
  #errors: TrellisError[] = [];
  #idle: (() => void)[] = [];

  constructor(layout: LayoutEngine = "wasm") {
    this.#layout = layout;
  }

  #start(lowPriority: boolean): void {
    const worker = new Worker(new URL("./image-worker.mjs", import.meta.url), { workerData: { lowPriority } });
    const drawer: Drawer = { worker, busy: null };
    worker.on("message", (msg: WorkerToHost) => {
      const busy = drawer.busy;
      drawer.busy = null;
      if (msg.type === "failed" && busy) this.#errors.push(asRenderError(deserializeError(msg.error), busy.job));
      this.#pump();
    });
    const lost = (why: string) => {
      const i = this.#drawers.indexOf(drawer);
      if (i < 0) return;
      this.#drawers.splice(i, 1);
      this.#losses++;
      const what = (job: ImageJob) => job.png ?? job.svg ?? "an image";
      if (drawer.busy) this.#errors.push(new TrellisError(ErrorCodes.RENDER, `the image worker ${why} while drawing ${what(drawer.busy.job)}`));
      drawer.busy = null;
      if (this.#drawers.length === 0 && this.#losses >= MAX_WORKER_LOSSES)
        for (const q of this.#queue.splice(0)) this.#errors.push(new TrellisError(ErrorCodes.RENDER, `no image worker left to draw ${what(q.job)}`));
      this.#pump();
    };
    worker.on("error", (error) => lost(`failed (${error.message})`));
    worker.on("exit", (code) => lost(`exited with code ${code}`));
    this.#drawers.push(drawer);
  }

  /** Hands queued jobs to idle workers; resolves waiters when all is done. */
  #pump(): void {
    if (this.#drawers.length === 0 && this.#queue.length > 0 && this.#losses < MAX_WORKER_LOSSES) this.#start(true);
    for (const d of this.#drawers) {
      if (d.busy !== null) continue;
      const next = this.#queue.shift();
      if (!next) break;
      d.busy = next;
      const msg: HostToWorker = { type: "render", id: next.id, job: next.job, layout: this.#layout };
      d.worker.postMessage(msg);
    }
    const working = this.#queue.length > 0 || this.#drawers.some((d) => d.busy !== null);
    for (const d of this.#drawers) {
      if (working) d.worker.ref();
      else d.worker.unref();
    }
    if (!working) for (const resolve of this.#idle.splice(0)) resolve();
  }

  push(job: ImageJob): void {
    if (job.png === null && job.svg === null) return;
    this.#queue.push({ id: ++this.#nextId, job });
    this.#pump();
  }

  async drain(): Promise<TrellisError[]> {
    // A few frames left: the low-priority worker finishes them sooner than a new worker starts.
    if (this.#queue.length >= HELPER_FROM_QUEUED && this.#drawers.length === 1) this.#start(false);
    this.#pump();
    if (this.#queue.length > 0 || this.#drawers.some((d) => d.busy !== null)) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const drawers = this.#drawers.splice(0);
    await Promise.all(drawers.map((d) => d.worker.terminate()));
    const errors = this.#errors;
    this.#errors = [];
    return errors;
  }
}
