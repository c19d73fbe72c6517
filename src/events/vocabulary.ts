/**
 * The words of the event log: statuses, reasons, policies, promise scopes,
 * diffs, and the event types. The lowest module of events/: the schema
 * (`schema.ts`) and the event types (`types.ts`) both build on it. (A
 * promise as data, `PromiseSpec`, is derived from its schema in `types.ts`.)
 */

/** Every event type, in the order a run usually writes them. */
export const EVENT_TYPES = [
  "run.started",
  "run.resumed",
  "task.created",
  "edge.created",
  "preview.materialized",
  "preview.pruned",
  "promise.declared",
  "task.started",
  "task.placed",
  "task.waiting",
  "task.resumed",
  "task.log",
  "task.warning",
  "task.emitted",
  "task.retrying",
  "task.rehosted",
  "task.succeeded",
  "task.cached",
  "task.failed",
  "task.skipped",
  "task.cancelled",
  "promise.violated",
  "run.deadlock",
  "run.finished",
] as const;
/** The `type` of an event. */
export type EventType = (typeof EVENT_TYPES)[number];

export const TaskStatuses = ["pending", "running", "waiting", "succeeded", "failed", "skipped", "cancelled"] as const;
/** Status of a task instance (SPEC section 3). */
export type TaskStatus = (typeof TaskStatuses)[number];

export const RunStatuses = ["succeeded", "failed", "halted", "cancelled"] as const;
/** How a run ended. */
export type RunStatus = (typeof RunStatuses)[number];

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
export const PromiseScopes = ["descendants", "global"] as const;
/** Which instances a promise covers: its owner's descendants, or the whole plan. */
export type PromiseScope = (typeof PromiseScopes)[number];

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
