// Entry of the image worker thread. Plain JavaScript, because Node 20
// cannot start a worker thread from a .ts file: register tsx, then hand over
// to the TypeScript side.
const { register } = await import("tsx/esm/api");
register();
await import("./image-worker.ts");
