#!/usr/bin/env node
// The `trellis` command. Trellis ships TypeScript sources (no build step), so
// register tsx's loader first; it also lets `trellis run` import .ts workflows.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
