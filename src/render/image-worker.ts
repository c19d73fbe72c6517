/**
 * The image worker: lays out and rasterises snapshots off the run thread,
 * one job at a time in the order they arrive.
 */
import { parentPort } from "node:worker_threads";
import { serializeError } from "../errors.ts";
import type { HostToWorker, WorkerToHost } from "./image-protocol.ts";
import { writeImages } from "./image-sink.ts";

const port = parentPort;
if (port) {
  let chain: Promise<void> = Promise.resolve();
  port.on("message", (msg: HostToWorker) => {
    switch (msg.type) {
      case "render":
        chain = chain.then(async () => {
          let reply: WorkerToHost;
          try {
            await writeImages(msg.job, msg.layout);
            reply = { type: "done", id: msg.id };
          } catch (error) {
            reply = { type: "failed", id: msg.id, error: serializeError(error) };
          }
          port.postMessage(reply);
        });
        break;
      default: {
        const never: never = msg.type;
        void never;
      }
    }
  });
}
