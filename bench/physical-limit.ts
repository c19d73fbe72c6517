/**
 * The physical limit of the fan-out shape: N round trips of a task-sized
 * message between the main thread and 2 workers, with no engine at all.
 * Over `worker_threads` (structured clone) and over a child process's IPC
 * channel (JSON, as the processes executor uses), each in three modes:
 *
 * - sequential: one message in flight at a time;
 * - pipelined: all N messages sent at once, one `postMessage` each;
 * - batched: all N sent at once in arrays of 1,000 (one post per array),
 *   which is how the executors' protocol travels.
 *
 *   npx tsx bench/physical-limit.ts [--quick]
 *   npx tsx bench/physical-limit.ts --case roundtrips --transport threads --mode batched --n 100000
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { Worker } from "node:worker_threads";
import { commandFor, runCase } from "./lib/child.ts";
import { isEntry, parseArgs, peakRssMiB, printResult } from "./lib/cli.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";

export const GROUP = "Physical limit: raw round trips to 2 workers, no engine";
const FILE = "bench/physical-limit.ts";
const WORKERS = 2;
const BATCH = 1000;

export const Transports = ["threads", "processes"] as const;
export type Transport = (typeof Transports)[number];
export const Modes = ["sequential", "pipelined", "batched"] as const;
export type Mode = (typeof Modes)[number];

export interface RoundTripResult {
  readonly transport: Transport;
  readonly mode: Mode;
  readonly n: number;
  readonly ms: number;
  readonly peakRssMiB: number;
}

// The worker answers each task-shaped message with a finished-shaped one; a batch with a batch.
const ECHO = `
const reply = (m) => ({ type: "finished", id: m.task.id, attempt: m.task.attempt, outcome: { ok: true, output: null } });
const answer = (msg) => Array.isArray(msg) ? msg.map(reply) : reply(msg);
`;
const THREAD_SRC = `${ECHO}
const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => parentPort.postMessage(answer(m)));`;
const PROCESS_SRC = `${ECHO}
process.on("message", (m) => process.send(answer(m)));
process.on("disconnect", () => process.exit(0));`;

interface Endpoint {
  post(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  close(): Promise<void>;
}

async function startEndpoints(transport: Transport): Promise<Endpoint[]> {
  const out: Endpoint[] = [];
  for (let i = 0; i < WORKERS; i++) {
    if (transport === "threads") {
      const w = new Worker(THREAD_SRC, { eval: true });
      await new Promise<void>((resolve) => w.once("online", () => resolve()));
      out.push({
        post: (m) => w.postMessage(m),
        onMessage: (h) => w.on("message", h),
        close: async () => {
          await w.terminate();
        },
      });
    } else {
      const c: ChildProcess = spawn(process.execPath, ["-e", PROCESS_SRC], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        serialization: "json",
      });
      await new Promise<void>((resolve) => c.once("spawn", () => resolve()));
      out.push({
        post: (m) => c.send(m as object),
        onMessage: (h) => c.on("message", h),
        close: async () => {
          c.disconnect();
          await new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : c.once("exit", () => resolve())));
        },
      });
    }
  }
  return out;
}

function message(i: number): unknown {
  return {
    type: "run",
    task: {
      id: `bench_fanout-1/bench_noop#${i + 1}`,
      attempt: 1,
      runId: "bench_fanout-1",
      task: "bench_noop",
      inputs: {},
    },
  };
}

/** Measures N round trips in this process. */
export async function roundTripCase(transport: Transport, mode: Mode, n: number): Promise<RoundTripResult> {
  const eps = await startEndpoints(transport);
  // One warm-up round trip per worker so start-up is not counted (its handler stays attached and does nothing after).
  await Promise.all(
    eps.map(
      (ep) =>
        new Promise<void>((resolve) => {
          ep.onMessage(() => resolve());
          ep.post(message(0));
        }),
    ),
  );
  let received = 0;
  let next: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    for (const ep of eps)
      ep.onMessage((m) => {
        received += Array.isArray(m) ? m.length : 1;
        if (received >= n) resolve();
        else next?.();
      });
  });
  const t0 = performance.now();
  switch (mode) {
    case "sequential": {
      let sent = 0;
      next = () => {
        if (sent < n) (eps[sent % WORKERS] as Endpoint).post(message(sent++));
      };
      next();
      break;
    }
    case "pipelined":
      for (let i = 0; i < n; i++) (eps[i % WORKERS] as Endpoint).post(message(i));
      break;
    case "batched":
      for (let i = 0, b = 0; i < n; i += BATCH, b++) {
        const batch = [];
        for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push(message(j));
        (eps[b % WORKERS] as Endpoint).post(batch);
      }
      break;
    default: {
      const never: never = mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
  await done;
  const ms = performance.now() - t0;
  await Promise.all(eps.map((ep) => ep.close()));
  return { transport, mode, n, ms, peakRssMiB: peakRssMiB() };
}

export function roundTripArgs(transport: Transport, mode: Mode, n: number): string[] {
  return ["--case", "roundtrips", "--transport", transport, "--mode", mode, "--n", String(n)];
}

/** Trellis's own figure for the same shape, to show as a fraction of the limit. */
export type TrellisRate = (transport: Transport, n: number) => number | null;

/** Every row of this group; `trellis` gives Trellis's tasks/s for a transport and N when known. */
export async function physicalLimitRows(options: BenchOptions, trellis: TrellisRate = () => null): Promise<BenchRow[]> {
  const sizes = options.quick ? [10_000] : [10_000, 100_000];
  const rows: BenchRow[] = [];
  for (const transport of Transports)
    for (const n of sizes)
      for (const mode of Modes) {
        // Sequential round trips over process IPC take ~50 µs each: 100k of them add nothing the 10k row does not show.
        if (mode === "sequential" && n > 10_000) continue;
        const name = `${transport}, ${mode}, N = ${n.toLocaleString("en-US")}`;
        const args = roundTripArgs(transport, mode, n);
        const command = commandFor(FILE, args);
        try {
          const { result: r } = await runCase<RoundTripResult>(FILE, args);
          const rate = n / (r.ms / 1000);
          const ours = trellis(transport, n);
          rows.push({
            group: GROUP,
            name,
            metrics: {
              "round trips/s": rate,
              "µs each": (r.ms * 1000) / n,
              "Trellis tasks/s": ours,
              "Trellis / limit": ours === null ? null : `${((100 * ours) / rate).toFixed(1)} %`,
            },
            met: null,
            command,
          });
        } catch (error) {
          rows.push(missingRow(GROUP, name, command, (error as Error).message));
        }
      }
  return rows;
}

if (isEntry(import.meta.url)) {
  const args = parseArgs();
  if (args.get("case") === "roundtrips") {
    printResult(
      await roundTripCase(
        (args.get("transport") ?? "threads") as Transport,
        (args.get("mode") ?? "batched") as Mode,
        Number(args.get("n") ?? 10_000),
      ),
    );
  } else {
    console.log(textTable(GROUP, await physicalLimitRows({ quick: args.has("quick") })));
  }
}
