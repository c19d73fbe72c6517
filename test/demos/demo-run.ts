/**
 * Runs a demo's root into a temporary folder and reads back its event log,
 * so each demo test checks the end state from the log as a user would.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyEvent, createPlan, foldEvents, run } from "trellis";
import type { AnyTask, Plan, RunOptions, RunResult, TrellisEvent } from "trellis";

export interface DemoRun {
  readonly result: RunResult<unknown>;
  readonly events: TrellisEvent[];
  /** The plan folded from the log (not the engine's own). */
  readonly plan: Plan;
}

/** The executor demo tests use; `TRELLIS_TEST_EXECUTOR` overrides it. */
export const EXECUTOR = (process.env["TRELLIS_TEST_EXECUTOR"] ?? "inline") as NonNullable<RunOptions["executor"]>;

export async function runDemo(root: AnyTask, inputs: unknown, options: RunOptions = {}): Promise<DemoRun> {
  const out = mkdtempSync(join(tmpdir(), "trellis-demo-"));
  try {
    const result = await run(root, inputs, { out, executor: EXECUTOR, workers: 4, ...options });
    const events = readFileSync(join(out, "events.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as TrellisEvent);
    return { result, events, plan: foldEvents(events) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Calls `look` on the plan after each event; returns what it saw, consecutive repeats collapsed. */
export function replay<T>(events: readonly TrellisEvent[], look: (plan: Plan, event: TrellisEvent) => T): T[] {
  const plan = createPlan();
  const seen: T[] = [];
  for (const e of events) {
    applyEvent(plan, e);
    const v = look(plan, e);
    if (seen.length === 0 || JSON.stringify(seen[seen.length - 1]) !== JSON.stringify(v)) seen.push(v);
  }
  return seen;
}

export function eventsOf<K extends TrellisEvent["type"]>(events: readonly TrellisEvent[], type: K): Extract<TrellisEvent, { type: K }>[] {
  return events.filter((e): e is Extract<TrellisEvent, { type: K }> => e.type === type);
}

export function edgeCount(plan: Plan, kind: "data" | "lineage"): number {
  return plan.edges.filter((e) => e.kind === kind).length;
}
