// The image worker: lays out and rasterises snapshots off the run thread,
// one job at a time in the order they arrive (see image-protocol.ts).
// Plain JavaScript: Node 20 cannot start a worker from a .ts file, and
// without a TypeScript loader the worker starts in ~0.2 s.
import { parentPort } from "node:worker_threads";
import module from "node:module";
import { writeImages } from "./raster.mjs";

// As bin/trellis.mjs (a no-op on Node 20): here it keeps Graphviz's and
// resvg's compiled JavaScript, which raster.mjs loads at the first job.
module.enableCompileCache?.();

let chain = Promise.resolve();
parentPort?.on("message", (msg) => {
  if (msg.type !== "render") return;
  chain = chain.then(async () => {
    try {
      await writeImages(msg.job, msg.layout);
      parentPort.postMessage({ type: "done", id: msg.id });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      parentPort.postMessage({
        type: "failed",
        id: msg.id,
        error: { name: e.name, message: e.message, code: "RENDER", ...(e.stack ? { stack: e.stack } : {}) },
      });
    }
  });
});
