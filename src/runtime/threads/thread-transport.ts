/** Starts pool workers as worker_threads; batches travel by `postMessage` (structured clone). */
import { Worker } from "node:worker_threads";
import type { ResourceLimits } from "node:worker_threads";
import { serializeError } from "../../errors.ts";
import type { SerializedError } from "../../errors.ts";
import type { Transport, WorkerHandle } from "../worker/pool.ts";
import type { WorkerToHost } from "../worker/protocol.ts";

const ENTRY = new URL("../worker/entry.mjs", import.meta.url);

export function threadTransport(options: { readonly maxOldGenerationSizeMb?: number }): Transport {
  const resourceLimits: ResourceLimits = {};
  if (options.maxOldGenerationSizeMb !== undefined)
    resourceLimits.maxOldGenerationSizeMb = options.maxOldGenerationSizeMb;
  return {
    kind: "threads",
    spawn(boot, events): WorkerHandle {
      // execArgv: [] so loader flags of the host (tsx's --import, vitest's) are not replayed; entry.mjs registers tsx itself.
      const worker = new Worker(ENTRY, { workerData: boot, execArgv: [], resourceLimits });
      let error: SerializedError | null = null;
      let exited = false;
      const gone = new Promise<void>((resolve) => {
        worker.on("exit", (code) => {
          exited = true;
          events.exit({ code, signal: null, error, stderr: "" });
          resolve();
        });
      });
      worker.on("message", (batch: readonly WorkerToHost[]) => events.message(batch));
      // Uncaught errors the worker did not report itself: out of memory, a broken entry.
      worker.on("error", (e) => {
        error = serializeError(e);
      });
      return {
        label: `thread ${worker.threadId}`,
        send: (batch) => {
          if (!exited) worker.postMessage(batch);
        },
        terminate: async () => {
          if (!exited) await worker.terminate();
          await gone;
        },
      };
    },
  };
}
