// Entry of every Trellis worker (thread or child process). Plain JavaScript,
// because Node 20 cannot start a worker thread from a .ts file.
//
// 1. Mark this thread as a worker BEFORE any user module is imported, so a
//    workflow module that calls run() at top level fails with RUN_IN_WORKER
//    instead of starting a second run (see ../worker-flag.ts).
// 2. Register tsx so the task modules (.ts) can be imported.
// 3. Hand over to the TypeScript side.
globalThis[Symbol.for("trellis.inWorker")] = true;
const { register } = await import("tsx/esm/api");
register();
const { main } = await import("./worker-main.ts");
main();
