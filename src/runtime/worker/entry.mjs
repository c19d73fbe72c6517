// Entry of every Trellis worker (thread or child process). Plain JavaScript,
// because Node 20 cannot start a worker from a .ts file.
//
// 1. Mark this thread as a worker BEFORE any user module is imported, so a
//    workflow module that calls run() at top level fails with RUN_IN_WORKER
//    instead of starting a second run (see ../worker-flag.ts).
// 2. Register a TypeScript loader only when the boot data asks for one (some
//    task module is .ts): a .js workflow's workers start without it. The
//    package entry is loaded with it (see loader/typescript.ts). Trellis
//    running from its own .ts sources (not the package) needs one first.
// 3. Hand over to worker-main.
import { existsSync } from "node:fs";
import { workerData } from "node:worker_threads";

globalThis[Symbol.for("trellis.inWorker")] = true;
const boot = workerData ?? JSON.parse(process.argv[2] ?? "{}");
const ext = existsSync(new URL("./worker-main.js", import.meta.url)) ? "js" : "ts";
if (ext === "ts") (await import("tsx/esm/api")).register();
if (boot.typescript === true)
  await (await import(new URL(`../loader/typescript.${ext}`, import.meta.url).href)).useTypeScriptLoader(() => import(new URL(`../../index.${ext}`, import.meta.url).href));
const { main } = await import(new URL(`./worker-main.${ext}`, import.meta.url).href);
main();
