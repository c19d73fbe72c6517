#!/usr/bin/env node
// `npm test`, what CI runs: the build first (the tests import dist/), then
// the four checks side by side: vitest, tsc (types), eslint (lint) and
// biome (format). The tests stream to the terminal as they run; each other
// check prints its output when it ends, under its own heading, and a summary
// closes the run. Exit code 1 when any check failed.
//
// Side by side because vitest spends much of its time waiting on the
// processes, browsers and Redis its tests drive, while tsc and eslint are
// pure CPU: run one after the other they added about 45 s to every run. The
// static checks run at a lower priority so the tests keep their pace.
//
// Arguments go to vitest: `npm test -- test/cli` runs one folder (with all
// the static checks still).
import { spawn, spawnSync } from "node:child_process";
import { setPriority } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (pkg, file) => join(root, "node_modules", pkg, file);

const build = spawnSync(process.execPath, ["scripts/build.mjs", "--test"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(1);

/** The static checks: name, command, and what to do when it fails. */
const STATIC = [
  // Incremental (its state in .tmp/build/, beside the build's): a run with few changes checks in ~2 s of CPU, not ~10.
  {
    name: "tsc",
    args: [
      bin("typescript", "bin/tsc"),
      "-p",
      "tsconfig.json",
      "--incremental",
      "--tsBuildInfoFile",
      join(root, ".tmp", "build", "typecheck.tsbuildinfo"),
    ],
    fix: "fix the type errors above",
  },
  { name: "eslint", args: [bin("eslint", "bin/eslint.js"), "."], fix: "fix the lint errors above" },
  {
    name: "biome format",
    args: [bin("@biomejs/biome", "bin/biome"), "format", "."],
    fix: "run `npm run format` to format the files above",
  },
];

const started = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Runs one check; resolves to its result. `buffered` keeps its output until it ends. */
function run(name, args, { buffered, fix }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: buffered ? "pipe" : "inherit" });
    if (buffered) {
      try {
        setPriority(child.pid, 10);
      } catch {
        // Not permitted here: the check runs at normal priority.
      }
    }
    const out = [];
    child.stdout?.on("data", (d) => out.push(d));
    child.stderr?.on("data", (d) => out.push(d));
    child.on("close", (code, signal) => {
      const ok = code === 0;
      const took = seconds(Date.now() - started);
      if (buffered && (!ok || out.length > 0)) {
        process.stdout.write(`\n── ${name} ${ok ? "passed" : "FAILED"} (${took}) ──\n`);
        process.stdout.write(Buffer.concat(out));
      }
      resolve({ name, ok, took, detail: ok ? "" : `exit ${code ?? signal}: ${fix}` });
    });
  });
}

const results = await Promise.all([
  run("vitest", [bin("vitest", "vitest.mjs"), "run", ...process.argv.slice(2)], {
    buffered: false,
    fix: "see the failing tests above",
  }),
  ...STATIC.map((c) => run(c.name, c.args, { buffered: true, fix: c.fix })),
]);

process.stdout.write("\n── npm test ──\n");
for (const r of results)
  process.stdout.write(`${r.ok ? "ok    " : "FAILED"}  ${r.name.padEnd(13)} ${r.took}  ${r.detail}\n`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
