/** The worker's end of a thread worker: `parentPort`, boot data in `workerData`. */
import type { MessagePort } from "node:worker_threads";
import { workerData } from "node:worker_threads";
import type { HostToWorker, WorkerBoot, WorkerChannel } from "../worker/protocol.ts";

export function threadChannel(port: MessagePort): WorkerChannel {
  return {
    boot: workerData as WorkerBoot,
    send: (batch) => port.postMessage(batch),
    onMessage: (handler) => port.on("message", (batch: readonly HostToWorker[]) => handler(batch)),
    // process.exit() in a worker thread ends only this thread; what was posted before is delivered.
    exit: (code) => process.exit(code),
    lastWords: (message) => port.postMessage([message]),
  };
}
