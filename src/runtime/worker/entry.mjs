// Entry of every Trellis worker (thread or child process). Plain JavaScript,
// because Node 20 cannot start a worker from a .ts file.
//
// 1. Mark this thread as a worker BEFORE any user module is imported, so a
//    workflow module that calls run() at top level fails with RUN_IN_WORKER
//    instead of starting a second run (see ../worker-flag.ts).
// 2. Hand over to worker-main, which imports the task modules (through a
//    TypeScript loader only for those that need one: ../loader/typescript.ts).
//    Trellis running from its own .ts sources, not the package, needs tsx first.
import { existsSync } from "node:fs";
import module from "node:module";

module.enableCompileCache?.(); // as bin/trellis.mjs: a no-op on Node 20

globalThis[Symbol.for("trellis.inWorker")] = true;
const ext = existsSync(new URL("./worker-main.js", import.meta.url)) ? "js" : "ts";
if (ext === "ts") (await import("tsx/esm/api")).register();
const { main } = await import(new URL(`./worker-main.${ext}`, import.meta.url).href);
await main(() => import(new URL(`../../index.${ext}`, import.meta.url).href));
