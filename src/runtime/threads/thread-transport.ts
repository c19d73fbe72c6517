/**
 * Starts pool workers as worker_threads; batches travel by `postMessage`
 * (structured clone). Threads may be started ahead of the run
 * ({@link prestartThreads}).
 */
import { Worker } from "node:worker_threads";
import type { ResourceLimits } from "node:worker_threads";
import { serializeError } from "../../errors.ts";
import type { SerializedError } from "../../errors.ts";
import type { Transport, WorkerHandle } from "../worker/pool.ts";
import type { WorkerToHost } from "../worker/protocol.ts";
import type { PrestartBoot, PrestartData } from "./thread-channel.ts";

const ENTRY = new URL("../worker/entry.mjs", import.meta.url);

interface Prestarted {
  readonly worker: Worker;
  gone: boolean;
}

/** Threads started before the run knew its modules, oldest first (see {@link prestartThreads}). */
const prestarted: Prestarted[] = [];

/**
 * Starts `count` worker threads now (returns their thread ids), before the modules of the run are known:
 * each loads Trellis (and the TypeScript loader, when `typescript`), then
 * waits for its boot. The CLI calls it before it imports the workflow, so
 * the threads start while the workflow loads; the threads executor's next
 * workers are these (unless it sets a heap limit). Unused ones never keep
 * the process alive; {@link discardPrestarted} stops them.
 */
export function prestartThreads(count: number, typescript: boolean): number[] {
  const workerData: PrestartData = { prestart: { typescript } };
  const started: Prestarted[] = [];
  for (let i = 0; i < count; i++) {
    const entry: Prestarted = { worker: new Worker(ENTRY, { workerData, execArgv: [] }), gone: false };
    entry.worker.unref();
    entry.worker.once("exit", () => (entry.gone = true));
    entry.worker.on("error", () => undefined); // one that fails to load Trellis is not used: a fresh worker reports why
    started.push(entry);
  }
  prestarted.push(...started);
  return started.map((p) => p.worker.threadId);
}

/** Stops the prestarted threads no executor took; resolves to how many there were. */
export async function discardPrestarted(): Promise<number> {
  const left = prestarted.splice(0);
  await Promise.all(left.map((p) => p.worker.terminate()));
  return left.length;
}

function takePrestarted(): Worker | undefined {
  for (let p = prestarted.shift(); p !== undefined; p = prestarted.shift()) if (!p.gone) return p.worker;
  return undefined;
}

export function threadTransport(options: { readonly maxOldGenerationSizeMb?: number }): Transport {
  const resourceLimits: ResourceLimits = {};
  if (options.maxOldGenerationSizeMb !== undefined)
    resourceLimits.maxOldGenerationSizeMb = options.maxOldGenerationSizeMb;
  return {
    kind: "threads",
    spawn(boot, events): WorkerHandle {
      const warm = options.maxOldGenerationSizeMb === undefined ? takePrestarted() : undefined;
      // execArgv: [] so loader flags of the host (tsx's --import, vitest's) are not replayed; entry.mjs registers tsx itself.
      const worker = warm ?? new Worker(ENTRY, { workerData: boot, execArgv: [], resourceLimits });
      if (warm !== undefined) {
        warm.ref();
        warm.removeAllListeners("error");
        warm.postMessage({ boot } satisfies PrestartBoot);
      }
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
