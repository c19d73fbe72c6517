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

/** Every demo test runs on this thread and on the default executor (worker threads). */
export const EXECUTORS = ["inline", "threads"] as const;
export type DemoExecutor = (typeof EXECUTORS)[number];

/** Runs the demo once per executor and shares the result between the tests that read it. */
export function sharedRun(
  executor: DemoExecutor,
  root: AnyTask,
  inputs: unknown,
  options: RunOptions = {},
): () => Promise<DemoRun> {
  let pending: Promise<DemoRun> | undefined;
  return () => (pending ??= runDemo(executor, root, inputs, options));
}

/** Runs the demo with 2 slots (unless told) and no snapshots (the render tests cover drawing). */
export async function runDemo(
  executor: DemoExecutor,
  root: AnyTask,
  inputs: unknown,
  options: RunOptions = {},
): Promise<DemoRun> {
  const out = mkdtempSync(join(tmpdir(), "trellis-demo-"));
  try {
    const result = await run(root, inputs, { out, executor, workers: 2, snapshots: "none", ...options });
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

export function eventsOf<K extends TrellisEvent["type"]>(
  events: readonly TrellisEvent[],
  type: K,
): Extract<TrellisEvent, { type: K }>[] {
  return events.filter((e): e is Extract<TrellisEvent, { type: K }> => e.type === type);
}

export function edgeCount(plan: Plan, kind: "data" | "lineage"): number {
  return plan.edges.filter((e) => e.kind === kind).length;
}
