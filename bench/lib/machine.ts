/**
 * What the figures were measured on: CPU, cores, memory, versions, commit,
 * the load average (other work on a 2-core machine moves every figure) and a
 * speed probe (this VM's speed itself drifts, by more than 2× over minutes).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, totalmem, type } from "node:os";
import { REPO_ROOT, benchNice } from "./child.ts";

export interface Machine {
  readonly date: string;
  readonly cpu: string;
  readonly nproc: number;
  readonly ramGiB: number;
  readonly os: string;
  readonly node: string;
  readonly npm: string;
  readonly commit: string;
  readonly loadStart: readonly number[];
  /** {@link speedProbeMs} when the run started. */
  readonly speedStart?: number;
  /** Nice value of the case processes. */
  readonly nice: number;
}

function out(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

/** The model name, with family/model numbers and "virtual machine" from /proc/cpuinfo when the name is as short as "AMD EPYC". */
function cpuModel(): string {
  const name = cpus()[0]?.model.trim() ?? "unknown";
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return name;
  }
  const field = (key: string) => new RegExp(`^${key}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();
  const family = field("cpu family");
  const model = field("model");
  const vm = /^flags\s*:.*\bhypervisor\b/m.test(info);
  const extra = [
    family !== undefined && model !== undefined ? `family ${family} model ${model}` : "",
    vm ? "virtual machine" : "",
  ].filter(Boolean);
  return extra.length > 0 ? `${name} (${extra.join(", ")})` : name;
}

export function machine(): Machine {
  const status = out("git", ["status", "--porcelain", "--untracked-files=no"]);
  const commit = out("git", ["rev-parse", "--short", "HEAD"]);
  return {
    date: new Date().toISOString(),
    cpu: cpuModel(),
    nproc: Number(out("nproc", [])) || availableParallelism(),
    ramGiB: totalmem() / 2 ** 30,
    os: `${type()} ${release()} ${process.arch}`,
    node: process.version,
    npm: out("npm", ["--version"]),
    commit: status && status !== "unknown" ? `${commit} (with uncommitted changes)` : commit,
    loadStart: loadavg(),
    speedStart: speedProbeMs(),
    nice: benchNice(),
  };
}

export function loadNow(): readonly number[] {
  return loadavg();
}

/**
 * Milliseconds a fixed single-threaded workload (string keys in a Map, the
 * engine's kind of work) takes in this process: the same loop took 490 ms
 * and 1,430 ms on this VM within one hour, so figures taken minutes apart
 * are comparable only next to this number. Lower is faster.
 */
export function speedProbeMs(): number {
  probeLoop(); // the first pass includes compiling the loop
  return probeLoop();
}

function probeLoop(): number {
  const t0 = performance.now();
  const m = new Map<string, number>();
  let x = 0;
  for (let i = 0; i < 2_000_000; i++) {
    m.set(`k${i % 50_000}`, i);
    x += m.get(`k${(i * 7) % 50_000}`) ?? 0;
  }
  if (x < 0) console.log(x); // keeps the loop from being optimised away
  return performance.now() - t0;
}
