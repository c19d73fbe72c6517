/**
 * Promise validation cost per diff: how long `validateDiff` (run by the
 * engine before every spawn is applied) takes with 0, 10 and 100 promises in
 * the spawner's scope, plus the cold and refusing paths and `capsFor` (run by
 * the scheduler before each start).
 *
 * The plan: a chain of 10 instances, the spawner at the bottom, promises
 * spread over the chain (and some global), of every kind, all kept by the
 * diff. The diff is the usual one: a child that fills a declared placeholder,
 * its lineage edge and two declared data edges from siblings. Times are CPU
 * time of the process (so a busy machine inflates them less than wall time),
 * median of several rounds.
 *
 *   npx tsx bench/promise-validation.ts            # full (about 10 s)
 *   npx tsx bench/promise-validation.ts --quick    # fewer iterations
 */
import type { PlanDiff, PromiseSpec, TrellisEvent } from "trellis";
import {
  LimitedSpawns,
  MaxParallelism,
  NoNewEdges,
  NoNewNodes,
  OnlySpecificEdgesAllowed,
  OnlySpecificNodesAllowed,
  applyEvent,
  foldEvents,
  isMain,
} from "trellis";
import type { Plan } from "trellis";
import { capsFor, validateDiff } from "../dist/promises/validate.js";
import type { BenchRow } from "./lib/row.ts";

const GROUP = "Promise validation cost per diff";
const COMMAND = "npx tsx bench/promise-validation.ts";
const DEPTH = 10;
const TARGET_NS = 1000;

/** One row of the table: the shape bench/all.ts reads. */
export type Row = BenchRow;

// ---------------------------------------------------------------- the plan

class Events {
  readonly list: TrellisEvent[] = [];
  #seq = 0;
  #pid = 0;
  push(type: TrellisEvent["type"], data: unknown): void {
    this.list.push({
      v: 1,
      seq: ++this.#seq,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "bench",
      type,
      data,
    } as TrellisEvent);
  }
  promise(owner: string, spec: PromiseSpec): void {
    this.push("promise.declared", { pid: ++this.#pid, owner, source: "context", promise: spec });
  }
}

const chainId = (i: number): string => (i === 0 ? "n0" : `${chainId(i - 1)}/n${i}`);
const SPAWNER = chainId(DEPTH - 1);

/** The `i`-th promise of a scope: every kind, all kept by the bench diff. */
function promiseNo(i: number): PromiseSpec {
  const scope = i % 10 === 9 ? "global" : "descendants";
  switch (i % 8) {
    case 0:
      return LimitedSpawns(`other${i}`, 3, { scope });
    case 1:
      return LimitedSpawns("work", 1_000_000, { scope });
    case 2:
      return OnlySpecificNodesAllowed(["work", "src", `other${i}`], { scope });
    case 3:
      return OnlySpecificEdgesAllowed(
        [
          ["level", "work"],
          ["src", "work"],
          ["level", "src"],
          ["level", "level"],
          [`other${i}`, "work"],
        ],
        { scope },
      );
    case 4:
      return MaxParallelism(`label${i % 3}`, 2, { scope });
    case 5:
      return NoNewNodes({ scope });
    case 6:
      return NoNewEdges({ scope });
    default:
      return LimitedSpawns("src", 1_000_000, { scope });
  }
}

/**
 * Events of the chain with `inScope` promises spread over it and `elsewhere`
 * promises on an unrelated instance (not in the spawner's scope).
 */
function planEvents(inScope: number, elsewhere: number): Events {
  const ev = new Events();
  ev.push("run.started", {
    root: "n0",
    task: "level",
    inputs: null,
    options: { executor: "inline", workers: 1, onViolation: "halt" },
  });
  for (let i = 0; i < DEPTH; i++) {
    const id = chainId(i);
    ev.push("task.created", {
      id,
      task: "level",
      parent: i === 0 ? null : chainId(i - 1),
      labels: [],
      inputs: null,
      placeholder: null,
      priority: 0,
    });
    if (i > 0) ev.push("edge.created", { from: chainId(i - 1), to: id, kind: "lineage" });
  }
  ev.push("task.created", {
    id: "n0/side",
    task: "level",
    parent: "n0",
    labels: [],
    inputs: null,
    placeholder: null,
    priority: 0,
  });
  // The spawner's preview: two sources and the work child, with edges src → work.
  ev.push("preview.materialized", {
    owner: SPAWNER,
    placeholders: [
      { id: `${SPAWNER}/src~1`, task: "src", parent: SPAWNER },
      { id: `${SPAWNER}/src~2`, task: "src", parent: SPAWNER },
      { id: `${SPAWNER}/work~1`, task: "work", parent: SPAWNER },
    ],
    edges: [
      { from: `${SPAWNER}/src~1`, to: `${SPAWNER}/work~1` },
      { from: `${SPAWNER}/src~2`, to: `${SPAWNER}/work~1` },
    ],
  });
  for (const n of [1, 2]) {
    const id = `${SPAWNER}/src#${n}`;
    ev.push("task.created", {
      id,
      task: "src",
      parent: SPAWNER,
      labels: [],
      inputs: null,
      placeholder: `${SPAWNER}/src~${n}`,
      priority: 0,
    });
    ev.push("edge.created", { from: SPAWNER, to: id, kind: "lineage" });
  }
  for (let i = 0; i < inScope; i++) ev.promise(chainId(i % DEPTH), promiseNo(i));
  for (let i = 0; i < elsewhere; i++) ev.promise("n0/side", i % 2 === 0 ? NoNewNodes() : LimitedSpawns("work", 0));
  ev.push("task.created", {
    id: `${SPAWNER}/leaf`,
    task: "leaf",
    parent: SPAWNER,
    labels: ["label0", "label1"],
    inputs: null,
    placeholder: null,
    priority: 0,
  });
  return ev;
}

/** The bench diff: `work` fills its placeholder, with its lineage edge and two declared data edges. */
function keptDiff(): PlanDiff {
  const to = `${SPAWNER}/work#1`;
  return {
    by: SPAWNER,
    nodes: [{ id: to, task: "work", parent: SPAWNER, labels: [], placeholder: `${SPAWNER}/work~1` }],
    edges: [
      { from: SPAWNER, to, kind: "lineage", fromTask: "level", toTask: "work", declared: true },
      { from: `${SPAWNER}/src#1`, to, kind: "data", fromTask: "src", toTask: "work", declared: true },
      { from: `${SPAWNER}/src#2`, to, kind: "data", fromTask: "src", toTask: "work", declared: true },
    ],
  };
}

/** A diff that breaks the 100-promise scope (a node nobody declared). */
function refusedDiff(): PlanDiff {
  const to = `${SPAWNER}/rogue#1`;
  return {
    by: SPAWNER,
    nodes: [{ id: to, task: "rogue", parent: SPAWNER, labels: [], placeholder: null }],
    edges: [{ from: SPAWNER, to, kind: "lineage", fromTask: "level", toTask: "rogue", declared: false }],
  };
}

// ---------------------------------------------------------------- timing

let sink = 0;

/** CPU time of this process (all its threads), in ns: unlike wall time, not inflated when other processes share the cores. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Median CPU ns per call of `fn` over `rounds` rounds of `iterations` calls, after a warm-up. */
function nsPerCall(fn: () => unknown, iterations: number, rounds = 7): number {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) if (fn() !== null) sink++;
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = cpuNs();
    for (let i = 0; i < iterations; i++) if (fn() !== null) sink++;
    samples.push((cpuNs() - t0) / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

function row(name: string, ns: number, calls: number, note: string, target: boolean): Row {
  return {
    group: GROUP,
    name,
    metrics: { "ns/diff": Math.round(ns), "µs/diff": Math.round(ns) / 1000, calls },
    ...(target ? { target: "≤ 1 µs per diff with 100 promises in scope", headline: "µs/diff" } : {}),
    met: target ? ns <= TARGET_NS : null,
    command: COMMAND,
    note,
  };
}

/**
 * Measures every row. `quick` runs fewer iterations.
 * @example const rows = await benchPromiseValidation({ quick: true });
 */
export async function benchPromiseValidation(options: { quick?: boolean } = {}): Promise<Row[]> {
  const n = options.quick ? 100_000 : 1_000_000;
  const rows: Row[] = [];
  const diff = keptDiff();
  for (const inScope of [0, 10, 100]) {
    const plan = foldEvents(planEvents(inScope, 0).list);
    if (validateDiff(plan, diff) !== null) throw new Error(`bench diff refused with ${inScope} promises`);
    rows.push(
      row(
        `${inScope} promises in scope`,
        nsPerCall(() => validateDiff(plan, diff), n),
        n,
        "kept diff, scope summary cached",
        inScope === 100,
      ),
    );
  }
  {
    const plan = foldEvents(planEvents(0, 100).list);
    rows.push(
      row(
        "0 in scope, 100 in another subtree",
        nsPerCall(() => validateDiff(plan, diff), n),
        n,
        "kept diff",
        false,
      ),
    );
  }
  {
    const plan = foldEvents(planEvents(100, 0).list);
    const bad = refusedDiff();
    if (validateDiff(plan, bad) === null) throw new Error("bench refused diff was kept");
    const m = Math.max(10_000, n / 10);
    rows.push(
      row(
        "100 in scope, refused diff",
        nsPerCall(() => validateDiff(plan, bad), m),
        m,
        "finds the first broken promise and builds its details",
        false,
      ),
    );
  }
  {
    // Cold: the first diff on a fresh plan builds the summaries of the whole chain. Timed in small
    // batches of fresh plans; the fastest batch is kept, since what else happens meanwhile (garbage
    // collection of the folded plans, other processes) only ever adds time.
    const events = planEvents(100, 0).list;
    const batches = options.quick ? 10 : 40;
    let best = Number.POSITIVE_INFINITY;
    for (let b = 0; b < batches + 2; b++) {
      const plans: Plan[] = [];
      for (let i = 0; i < 50; i++) plans.push(foldEvents(events));
      const t0 = cpuNs();
      for (const plan of plans) if (validateDiff(plan, diff) !== null) sink++;
      const ns = (cpuNs() - t0) / plans.length;
      if (b >= 2) best = Math.min(best, ns); // two batches warm up
    }
    rows.push(
      row(
        "100 in scope, first diff (cold)",
        best,
        batches * 50,
        `builds the scope summaries of ${DEPTH} levels (10 promises each); fastest batch`,
        false,
      ),
    );
  }
  {
    // A promise declared elsewhere invalidates the stamps: the next diff walks its chain and re-stamps it.
    // Timed as (fold + validate) minus (fold alone on a twin plan), per round; the median round is kept.
    const plan = foldEvents(planEvents(100, 0).list);
    const twin = foldEvents(planEvents(100, 0).list);
    validateDiff(plan, diff);
    validateDiff(twin, diff);
    const perRound = options.quick ? 2_000 : 10_000;
    const samples: number[] = [];
    let pid = 1_000;
    for (let r = 0; r < 9; r++) {
      const extra: TrellisEvent[] = [];
      for (let i = 0; i < perRound; i++) {
        pid++;
        extra.push({
          v: 1,
          seq: pid,
          ts: "2026-01-01T00:00:00.000Z",
          runId: "bench",
          type: "promise.declared",
          data: { pid, owner: "n0/side", source: "context", promise: NoNewNodes() },
        });
      }
      let t0 = cpuNs();
      for (const e of extra) applyEvent(twin, e);
      const foldNs = cpuNs() - t0;
      t0 = cpuNs();
      for (const e of extra) {
        applyEvent(plan, e);
        if (validateDiff(plan, diff) !== null) sink++;
      }
      samples.push(Math.max(0, cpuNs() - t0 - foldNs) / perRound);
    }
    samples.sort((a, b) => a - b);
    rows.push(
      row(
        "100 in scope, first diff after a promise elsewhere",
        samples[4] as number,
        perRound * 9,
        `re-stamps the ${DEPTH}-level chain`,
        false,
      ),
    );
  }
  {
    const plan = foldEvents(planEvents(100, 0).list);
    const leaf = `${SPAWNER}/leaf`;
    const caps = capsFor(plan, leaf).length;
    rows.push(
      row(
        `capsFor, 100 in scope, 2 labels (${caps} caps)`,
        nsPerCall(() => capsFor(plan, leaf), n),
        n,
        "the scheduler's cost per start",
        false,
      ),
    );
  }
  return rows;
}

/** Same function under the name bench/all.ts looks for first. */
export const promiseValidationRows = benchPromiseValidation;

function table(rows: readonly Row[]): string {
  const head = ["case", "ns/diff", "µs/diff", "calls", "target", "note"];
  const cells = rows.map((r) => [
    r.name,
    String(r.metrics["ns/diff"]),
    (r.metrics["µs/diff"] as number).toFixed(3),
    Number(r.metrics["calls"]).toLocaleString("en-US"),
    r.met === null ? "" : r.met ? "met (≤ 1 µs)" : "MISSED (≤ 1 µs)",
    r.note ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]) => c.map((x, i) => x.padEnd(widths[i] as number)).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

if (isMain(import.meta.url)) {
  const quick = process.argv.includes("--quick");
  const rows = await benchPromiseValidation({ quick });
  console.log(`${GROUP} (Node ${process.version}${quick ? ", quick" : ""})\n`);
  console.log(table(rows));
  console.log(`\ncommand: ${COMMAND}${quick ? " --quick" : ""}`);
  if (sink < 0) console.log(sink);
}
