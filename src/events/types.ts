/**
 * The event log's vocabulary. Every state change of a run is one of these,
 * appended to `<out>/events.jsonl` as one line, and folded into the plan
 * (see `plan/fold.ts`). The payload types are derived from the one
 * definition of the log's shape in `schema.ts`, which also gives the JSON
 * Schema shipped in `schema/events.schema.json`.
 */
import type { Static } from "@sinclair/typebox";
import type { Definitions, EventPayloads } from "./schema.ts";
import type { Counts, EventType, TaskStatus } from "./vocabulary.ts";

export { EVENT_TYPES, RunStatuses, TaskStatuses, ViolationPolicies, WaitEndReasons } from "./vocabulary.ts";
export type {
  Counts,
  DiffEdge,
  DiffNode,
  EdgeKind,
  EventType,
  PlaceholderSpec,
  PlanDiff,
  PromiseScope,
  RunStatus,
  TaskStatus,
  ViolationPolicy,
  WaitEndReason,
} from "./vocabulary.ts";

/** Version of the envelope; bumped only on incompatible changes. */
export const EVENT_VERSION = 1;

/** True for the finished statuses: an instance in one of these never changes again. */
export function isFinished(status: TaskStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "skipped" || status === "cancelled";
}

/** A promise as data: what is written to the log and crosses to workers. The static type of its definition in `schema.ts`. */
export type PromiseSpec = Static<(typeof Definitions)["promise"]>;

/** The name of a promise: `LimitedSpawns`, `MaxParallelism`, ... */
export type PromiseKind = PromiseSpec["kind"];

/** The payload of each event type: the static type of its definition in `schema.ts`. */
export type EventDataMap = { -readonly [K in EventType]: Static<(typeof EventPayloads)[K]> };

/** An event of one type. */
export interface EventOf<K extends EventType> {
  v: 1;
  seq: number;
  ts: string;
  runId: string;
  type: K;
  data: EventDataMap[K];
}

/** One line of `events.jsonl`: a union discriminated by `type`. */
export type TrellisEvent = { [K in EventType]: EventOf<K> }[EventType];

/** Zero instances of each status. */
export function emptyCounts(): Counts {
  return { pending: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
}
