/** The worker's end of a child-process worker: the IPC channel of `fork`, boot data in `argv[2]`. */
import { writeSync } from "node:fs";
import type { HostToWorker, WorkerBoot, WorkerChannel } from "../worker/protocol.ts";
import { LAST_WORDS } from "./last-words.ts";

export function processChannel(): WorkerChannel {
  const send = process.send?.bind(process);
  if (!send)
    throw new Error(
      "the Trellis process worker was started without an IPC channel; it is started by the processes executor only",
    );
  const boot = JSON.parse(process.argv[2] ?? "{}") as WorkerBoot;
  // The host closed the channel or died: nothing can reach us any more.
  process.on("disconnect", () => process.exit(0));
  return {
    boot,
    send: (batch) => {
      if (process.connected) send(batch);
    },
    onMessage: (handler) => process.on("message", (batch: readonly HostToWorker[]) => handler(batch)),
    exit: (code) => {
      if (!process.connected) process.exit(code);
      // Messages leave in order: once this empty batch is written, so is everything before it.
      send([], undefined, undefined, () => process.exit(code));
      setTimeout(() => process.exit(code), 1000).unref();
    },
    // IPC is asynchronous and the process exits now: one marked line on stderr (fd 2, written at once) carries it.
    lastWords: (message) => void writeSync(2, `${LAST_WORDS}${JSON.stringify(message)}\n`),
  };
}
