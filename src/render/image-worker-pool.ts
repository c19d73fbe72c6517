/**
 * The image worker of this process: one thread that lays out and rasterises
 * snapshots for every run, started on the first job and kept while it is
 * used. Starting it costs ~0.1–0.2 s of CPU (mostly loading Graphviz, resvg
 * and the font), so a process that runs many workflows pays it once. It holds
 * the process open only while jobs are pending, and stops after
 * {@link IDLE_STOP_MS} without work so an idle process gets the memory back.
 */
import { Worker } from "node:worker_threads";
import type { SerializedError } from "../errors.ts";
import type { HostToImageWorker, ImageJob, ImageWorkerToHost } from "./image-protocol.ts";
import type { LayoutEngine } from "./images.ts";

/** The worker stops after this long without a job. */
export const IDLE_STOP_MS = 10_000;

/** Workers that may be lost in a row (crash, exit) before jobs fail without a new one. */
const MAX_LOSSES_IN_A_ROW = 3;

/** How a job ended: null when drawn, else why not. */
export type JobResult = SerializedError | null;

interface Pending {
  readonly id: number;
  readonly job: ImageJob;
  readonly layout: LayoutEngine;
  readonly done: (result: JobResult) => void;
}

class ImageWorkerPool {
  #worker: Worker | null = null;
  #busy: Pending | null = null;
  readonly #queue: Pending[] = [];
  #nextId = 0;
  #losses = 0;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;

  /** Queues a job; `done` is called when it was drawn or failed. */
  submit(job: ImageJob, layout: LayoutEngine, done: (result: JobResult) => void): void {
    this.#queue.push({ id: ++this.#nextId, job, layout, done });
    this.#pump();
  }

  #start(): Worker {
    const worker = new Worker(new URL("./image-worker.mjs", import.meta.url));
    worker.on("message", (msg: ImageWorkerToHost) => {
      const busy = this.#busy;
      this.#busy = null;
      this.#losses = 0;
      busy?.done(msg.type === "failed" ? msg.error : null);
      this.#pump();
    });
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#losses++;
      const busy = this.#busy;
      this.#busy = null;
      busy?.done({
        name: "TrellisError",
        code: "RENDER",
        message: `the image worker ${why} while drawing ${busy.job.png ?? busy.job.svg ?? "an image"}`,
      });
      if (this.#losses >= MAX_LOSSES_IN_A_ROW)
        for (const p of this.#queue.splice(0))
          p.done({
            name: "TrellisError",
            code: "RENDER",
            message: `the image worker failed ${this.#losses} times in a row; ${p.job.png ?? p.job.svg ?? "an image"} was not drawn`,
          });
      this.#pump();
    };
    worker.on("error", (error) => lost(`failed (${error.message})`));
    worker.on("exit", (code) => lost(`exited with code ${code}`));
    return worker;
  }

  #pump(): void {
    if (this.#busy === null) {
      const next = this.#queue.shift();
      if (next) {
        this.#worker ??= this.#start();
        this.#busy = next;
        const msg: HostToImageWorker = { type: "render", id: next.id, job: next.job, layout: next.layout };
        this.#worker.postMessage(msg);
      }
    }
    const working = this.#busy !== null;
    if (this.#idleTimer !== null) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    if (!this.#worker) return;
    if (working) this.#worker.ref();
    else {
      this.#worker.unref();
      this.#idleTimer = setTimeout(() => this.#stop(), IDLE_STOP_MS);
      this.#idleTimer.unref();
    }
  }

  #stop(): void {
    const worker = this.#worker;
    if (!worker || this.#busy !== null) return;
    this.#worker = null;
    void worker.terminate();
  }
}

let pool: ImageWorkerPool | undefined;

/** The image worker of this process. */
export function imageWorkerPool(): ImageWorkerPool {
  pool ??= new ImageWorkerPool();
  return pool;
}
