#!/usr/bin/env node
// The package build (`npm run build`, also run by `prepare`): compiles src/
// to dist/ (JavaScript, declarations, source maps), copies the plain
// JavaScript files of src/ that tsc does not emit (worker entries, the
// rasteriser, the CommonJS entry), every file of an `assets/` folder (the
// viewer's page: HTML, CSS, browser JavaScript), and compiles the demos to
// dist/demos/.
// Incremental: a second build with nothing changed takes about a second.
// `--test` also compiles the test fixtures that workers import (see
// tsconfig.fixtures.json); `npm test` and the suite's global setup pass it.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "src");
const dist = join(root, "dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

/** Each tsc project, a file its output must hold, and its incremental state. */
const PROJECTS = [
  { project: "tsconfig.build.json", output: "dist/index.js", info: "src" },
  { project: "tsconfig.demos.json", output: "dist/demos/map_reduce.js", info: "demos" },
  ...(process.argv.includes("--test")
    ? [{ project: "tsconfig.fixtures.json", output: ".tmp/fixtures/exec-basic.js", info: "fixtures" }]
    : []),
];

for (const { project, output, info } of PROJECTS) {
  // tsc's incremental state says nothing about the output: when it is gone, build that project anew.
  if (!existsSync(join(root, output))) rmSync(join(root, ".tmp", "build", `${info}.tsbuildinfo`), { force: true });
  const r = spawnSync(process.execPath, [tsc, "-b", project], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build: tsc -b ${project} failed (exit ${r.status ?? r.signal}); fix the errors above`);
    process.exit(1);
  }
}

const PLAIN = /\.(mjs|cjs|d\.mts|d\.cts)$/;
function copyPlain(dir, inAssets = false) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyPlain(path, inAssets || entry.name === "assets");
    else if (inAssets || PLAIN.test(entry.name)) {
      const target = join(dist, relative(src, path));
      // Unchanged files are left alone: a test run may be reading them.
      if (existsSync(target) && readFileSync(target).equals(readFileSync(path))) continue;
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(path, target);
    }
  }
}
copyPlain(src);
