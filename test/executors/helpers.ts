// Shared by the executor tests: typed access to the events of a run.
import type { EventOf, EventType, RunResult, TrellisEvent } from "trellis";

export const ALL_EXECUTORS = ["inline", "threads", "processes"] as const;
export const WORKER_EXECUTORS = ["threads", "processes"] as const;

/** Every event of `type` in the run (the run must keep its events). */
export function eventsOf<K extends EventType>(result: RunResult<unknown>, type: K): EventOf<K>[] {
  if (!result.events) throw new Error("run with keepEvents: true");
  return result.events.filter((e: TrellisEvent) => e.type === type) as unknown as EventOf<K>[];
}

/** The one event of `type` about instance `id`. */
export function eventFor<
  K extends "task.failed" | "task.succeeded" | "task.skipped" | "task.warning" | "task.log" | "task.cancelled",
>(result: RunResult<unknown>, type: K, id: string): EventOf<K> {
  const found = eventsOf(result, type).filter((e) => e.data.id === id);
  if (found.length !== 1) throw new Error(`expected one ${type} for ${id}, found ${found.length}`);
  return found[0] as EventOf<K>;
}

/** The sequence number of the first event of `type` about `id`. */
export function seqOf(
  result: RunResult<unknown>,
  type: "task.started" | "task.succeeded" | "task.emitted",
  id: string,
): number {
  const e = eventsOf(result, type).find((x) => x.data.id === id);
  if (!e) throw new Error(`no ${type} for ${id}`);
  return e.seq;
}
