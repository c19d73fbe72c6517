/**
 * The event log's vocabulary. Every state change of a run is one of these,
 * appended to `<out>/events.jsonl` as one line, and folded into the plan
 * (see `plan/fold.ts`). The JSON Schema in `schema/events.schema.json`
 * describes the same shapes for other tools.
 */
import type { SerializedError } from "../errors.ts";
import type { Json } from "./codec.ts";

/** Version of the envelope; bumped only on incompatible changes. */
export const EVENT_VERSION = 1;

export const TaskStatuses = ["pending", "running", "waiting", "succeeded", "failed", "skipped", "cancelled"] as const;
/** Status of a task instance (SPEC section 3). */
export type TaskStatus = (typeof TaskStatuses)[number];

export const RunStatuses = ["succeeded", "failed", "halted", "cancelled"] as const;
/** How a run ended. */
export type RunStatus = (typeof RunStatuses)[number];

/** True for the finished statuses: an instance in one of these never changes again. */
export function isFinished(status: TaskStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "skipped" || status === "cancelled";
}

export const WaitEndReasons = ["completed", "failed", "timeout", "aborted"] as const;
/**
 * Why a suspended task resumed: every handle finished (`completed`), one did
 * not succeed (`failed`), its `timeoutMs` passed (`timeout`) or its `signal`
 * aborted (`aborted`).
 */
export type WaitEndReason = (typeof WaitEndReasons)[number];

export type EdgeKind = "data" | "lineage";
export const ViolationPolicies = ["halt", "reject"] as const;
/** What a broken promise does (SPEC section 5). */
export type ViolationPolicy = (typeof ViolationPolicies)[number];
export type PromiseScope = "descendants" | "global";

/** A promise as data: what is written to the log and crosses to workers. */
export type PromiseSpec =
  | { readonly kind: "LimitedSpawns"; readonly task: string; readonly limit: number; readonly scope: PromiseScope }
  | { readonly kind: "MaxParallelism"; readonly label: string; readonly limit: number; readonly scope: PromiseScope }
  | { readonly kind: "NoNewNodes"; readonly scope: PromiseScope }
  | { readonly kind: "NoNewEdges"; readonly scope: PromiseScope }
  | { readonly kind: "OnlySpecificNodesAllowed"; readonly tasks: readonly string[]; readonly scope: PromiseScope }
  | {
      readonly kind: "OnlySpecificEdgesAllowed";
      readonly edges: readonly (readonly [string, string])[];
      readonly scope: PromiseScope;
    };

export type PromiseKind = PromiseSpec["kind"];

/** A placeholder of a preview: `parent` is an instance id or another placeholder's id. */
export interface PlaceholderSpec {
  readonly id: string;
  readonly task: string;
  readonly parent: string;
}

/** One node a diff adds. */
export interface DiffNode {
  readonly id: string;
  readonly task: string;
  readonly parent: string;
  readonly labels: readonly string[];
  /** The placeholder this node takes the place of, if any. */
  readonly placeholder: string | null;
}

/** One edge a diff adds, with the definitions at both ends. */
export interface DiffEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly fromTask: string;
  readonly toTask: string;
  /** True when the edge was declared in the parent's preview (`calls`/`edges`). */
  readonly declared: boolean;
}

/** One proposed change to the plan, by one task. */
export interface PlanDiff {
  readonly by: string;
  readonly nodes: readonly DiffNode[];
  readonly edges: readonly DiffEdge[];
}

export type Counts = Record<TaskStatus, number>;

/** The payload of each event type. */
export interface EventDataMap {
  "run.started": {
    root: string;
    task: string;
    inputs: Json;
    options: { executor: string; workers: number; onViolation: ViolationPolicy };
  };
  "task.created": {
    id: string;
    task: string;
    parent: string | null;
    labels: string[];
    inputs: Json;
    placeholder: string | null;
    priority: number;
  };
  "edge.created": { from: string; to: string; kind: EdgeKind };
  "preview.materialized": {
    owner: string;
    placeholders: PlaceholderSpec[];
    edges: { from: string; to: string }[];
  };
  "preview.pruned": { owner: string; placeholders: string[] };
  "promise.declared": { pid: number; owner: string; source: "definition" | "context" | "static"; promise: PromiseSpec };
  "task.started": { id: string; attempt: number };
  "task.waiting": { id: string; on: string[] };
  /** `reason` is absent in logs written before waits had limits. */
  "task.resumed": { id: string; reason?: WaitEndReason };
  "task.log": { id: string; message: string; fields: Json };
  "task.warning": { id: string; code: string; message: string };
  "task.emitted": { id: string; output: Json };
  "task.retrying": { id: string; attempt: number; delayMs: number; error: SerializedError };
  "task.succeeded": { id: string; output: Json };
  "task.failed": { id: string; attempt: number; error: SerializedError };
  "task.skipped": { id: string; because: string };
  "task.cancelled": { id: string; reason: string };
  "promise.violated": {
    pid: number;
    promise: PromiseKind;
    spec: PromiseSpec;
    owner: string;
    by: string;
    diff: PlanDiff;
    details: Record<string, Json>;
    policy: ViolationPolicy;
  };
  "run.deadlock": { instances: { id: string; status: TaskStatus; waitingOn: string[] }[]; message: string };
  "run.finished": {
    status: RunStatus;
    output: Json;
    counts: Counts;
    durationMs: number;
    violations: number;
    error: SerializedError | null;
  };
}

export type EventType = keyof EventDataMap;

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

export const EVENT_TYPES: readonly EventType[] = [
  "run.started",
  "task.created",
  "edge.created",
  "preview.materialized",
  "preview.pruned",
  "promise.declared",
  "task.started",
  "task.waiting",
  "task.resumed",
  "task.log",
  "task.warning",
  "task.emitted",
  "task.retrying",
  "task.succeeded",
  "task.failed",
  "task.skipped",
  "task.cancelled",
  "promise.violated",
  "run.deadlock",
  "run.finished",
];

export function emptyCounts(): Counts {
  return { pending: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
}
