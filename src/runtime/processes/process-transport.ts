/** Starts pool workers as child processes (`fork`); batches travel over the IPC channel as JSON. */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { serializeError } from "../../errors.ts";
import type { SerializedError } from "../../errors.ts";
import type { Transport, WorkerHandle } from "../worker/pool.ts";
import type { WorkerToHost } from "../worker/protocol.ts";

const ENTRY = fileURLToPath(new URL("../worker/entry.mjs", import.meta.url));
const STDERR_TAIL = 4000;

export function processTransport(options: { readonly maxOldGenerationSizeMb?: number }): Transport {
  const execArgv = options.maxOldGenerationSizeMb === undefined ? [] : [`--max-old-space-size=${options.maxOldGenerationSizeMb}`];
  return {
    kind: "processes",
    spawn(boot, events): WorkerHandle {
      // execArgv is explicit so loader flags of the host are not replayed; entry.mjs registers tsx itself.
      const child = fork(ENTRY, [JSON.stringify(boot)], { execArgv, serialization: "json", stdio: ["ignore", "inherit", "pipe", "ipc"] });
      let error: SerializedError | null = null;
      let stderr = "";
      let exited = false;
      // Pass the worker's stderr through, and keep its end to explain a crash (V8 prints out-of-memory there).
      child.stderr?.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk);
        stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL);
      });
      const gone = new Promise<void>((resolve) => {
        // "close" comes after "exit" and after stderr ended, so the tail is complete.
        child.on("close", (code, signal) => {
          exited = true;
          events.exit({ code, signal, error, stderr });
          resolve();
        });
      });
      child.on("message", (batch: readonly WorkerToHost[]) => events.message(batch));
      child.on("error", (e) => {
        error = serializeError(e);
      });
      return {
        label: `process ${child.pid ?? "?"}`,
        send: (batch) => {
          if (!exited && child.connected) child.send(batch);
        },
        terminate: async () => {
          if (!exited && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          await gone;
        },
      };
    },
  };
}
