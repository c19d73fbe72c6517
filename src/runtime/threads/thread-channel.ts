/**
 * The worker's end of a thread worker: `parentPort`, boot data in
 * `workerData`, or, for a thread started ahead of the run
 * (`prestartThreads` in thread-transport.ts), in the first message.
 */
import type { MessagePort } from "node:worker_threads";
import { workerData } from "node:worker_threads";
import type { HostToWorker, WorkerBoot, WorkerChannel } from "../worker/protocol.ts";

/** `workerData` of a thread started ahead of the run. */
export interface PrestartData {
  readonly prestart: { readonly typescript: boolean };
}

/** The first message a thread started ahead of the run gets. */
export interface PrestartBoot {
  readonly boot: WorkerBoot;
}

/**
 * This thread's boot data. A thread started ahead of the run first runs
 * `preload` (loading Trellis, and the TypeScript loader when `typescript`),
 * then waits for its boot, which the host sends before anything else.
 */
export async function threadBoot(
  port: MessagePort,
  preload: (typescript: boolean) => Promise<unknown>,
): Promise<WorkerBoot> {
  const data = workerData as WorkerBoot | PrestartData;
  if (!("prestart" in data)) return data;
  await preload(data.prestart.typescript);
  return new Promise((resolve) => port.once("message", (m: PrestartBoot) => resolve(m.boot)));
}

export function threadChannel(port: MessagePort, boot: WorkerBoot): WorkerChannel {
  return {
    boot,
    send: (batch) => port.postMessage(batch),
    onMessage: (handler) => port.on("message", (batch: readonly HostToWorker[]) => handler(batch)),
    // process.exit() in a worker thread ends only this thread; what was posted before is delivered.
    exit: (code) => process.exit(code),
    lastWords: (message) => port.postMessage([message]),
  };
}
