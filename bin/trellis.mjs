#!/usr/bin/env node
// The `trellis` command: plain JavaScript from dist/ (built by `npm run build`,
// shipped in the package). A TypeScript loader is registered later, only if
// the workflow to load is a .ts file.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error(
    "trellis: error: the compiled package (dist/) is missing; run `npm run build` in the Trellis checkout (`npm install` does it too)",
  );
  process.exit(70);
}
const cli = await import(main.href);
process.exitCode = await cli.main(process.argv.slice(2));
