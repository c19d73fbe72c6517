#!/usr/bin/env node
// The `trellis` command: plain JavaScript from dist/ (built by `npm run build`,
// shipped in the package). A TypeScript loader is registered later, only if
// the workflow to load is a .ts file.
import { existsSync } from "node:fs";
import module from "node:module";

// Node 22.1+ (24, 26): V8 keeps the code it compiles (Trellis, the workflow,
// type-stripped TypeScript) on disk, in os.tmpdir()/node-compile-cache, so the
// next run skips compiling it; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
// Node 20 has no such cache. Workers turn it on too (runtime/worker/entry.mjs).
module.enableCompileCache?.();

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error(
    "trellis: error: the compiled package (dist/) is missing; run `npm run build` in the Trellis checkout (`npm install` does it too)",
  );
  process.exit(70);
}
// `trellis run` on the default executor: its first worker thread starts now,
// and loads Trellis while this thread loads the CLI, the engine and the workflow.
if (process.argv[2] === "run")
  (await import(new URL("../dist/cli/commands/run-threads.js", import.meta.url).href)).startThreadsEarly(
    process.argv.slice(2),
  );
const cli = await import(main.href);
process.exitCode = await cli.main(process.argv.slice(2));
