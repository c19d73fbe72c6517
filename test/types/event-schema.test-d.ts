// The event payload types are derived from the schema's definitions
// (src/events/schema.ts). These checks fail when the derivation drifts from
// the shapes the code was written against, and when a shared definition
// (error, promise, diff, counts) stops matching its declared type.
import type { Static } from "@sinclair/typebox";
import { describe, expectTypeOf, test } from "vitest";
import type { EventType, SerializedError, PlanDiff, PromiseSpec, Json } from "trellis";
import type { Definitions } from "../../dist/events/schema.js";
import type { EventDataMap, PromiseKind } from "../../dist/events/types.js";
import type {
  Counts,
  EdgeKind,
  PlaceholderSpec,
  PromiseScope,
  RunStatus,
  TaskStatus,
  ViolationPolicy,
  WaitEndReason,
} from "../../dist/events/vocabulary.js";

/** A promise as data, as it was written by hand before the schema became its source too. */
type HandWrittenPromise =
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

/** The payloads as they were written by hand before the schema became their source. */
interface HandWritten {
  "run.started": {
    root: string;
    task: string;
    inputs: Json;
    options: { executor: string; workers: number; onViolation: ViolationPolicy };
    /** Absent in logs written before `trellis resume` existed. */
    modules?: string[];
  };
  "run.resumed": {
    fromSeq: number;
    droppedBytes: number;
    retryFailed: boolean;
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
    /** Absent in logs written before inputs were fingerprinted. */
    inputsHash?: string;
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
  "task.placed": { id: string; attempt: number; worker: string };
  "task.waiting": { id: string; on: string[] };
  /** `reason` is absent in logs written before waits had limits. */
  "task.resumed": { id: string; reason?: WaitEndReason };
  "task.log": { id: string; message: string; fields: Json };
  "task.warning": { id: string; code: string; message: string };
  "task.emitted": { id: string; output: Json };
  "task.retrying": { id: string; attempt: number; delayMs: number; error: SerializedError };
  "task.rehosted": { id: string; attempt: number; worker: string; reason: string; isolated: boolean };
  "task.succeeded": { id: string; output: Json };
  "task.cached": { id: string; key: string; output: Json };
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

/** `T` with every `readonly` removed, arrays included. */
type Mutable<T> = T extends readonly (infer U)[]
  ? Mutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;

describe("event payload types derived from the schema", () => {
  test("every event type has a payload, and each is the hand-written shape", () => {
    expectTypeOf<keyof EventDataMap>().toEqualTypeOf<EventType>();
    expectTypeOf<EventDataMap>().toExtend<HandWritten>();
    expectTypeOf<HandWritten>().toExtend<EventDataMap>();
    expectTypeOf<EventDataMap["task.resumed"]>().toEqualTypeOf<{ id: string; reason?: WaitEndReason }>();
    expectTypeOf<EventDataMap["run.started"]["options"]["onViolation"]>().toEqualTypeOf<ViolationPolicy>();
  });

  test("the shared definitions match their declared types", () => {
    expectTypeOf<Static<(typeof Definitions)["error"]>>().toExtend<SerializedError>();
    expectTypeOf<SerializedError>().toExtend<Static<(typeof Definitions)["error"]>>();
    expectTypeOf<Static<(typeof Definitions)["promise"]>>().toEqualTypeOf<PromiseSpec>();
    expectTypeOf<Static<(typeof Definitions)["counts"]>>().toEqualTypeOf<Counts>();
    expectTypeOf<Static<(typeof Definitions)["diff"]>>().toEqualTypeOf<Mutable<PlanDiff>>();
  });

  test("a promise's type is derived from its schema, not declared beside it: the six kinds with their fields, read-only", () => {
    expectTypeOf<PromiseSpec>().toEqualTypeOf<HandWrittenPromise>();
    expectTypeOf<PromiseKind>().toEqualTypeOf<
      | "LimitedSpawns"
      | "MaxParallelism"
      | "NoNewNodes"
      | "NoNewEdges"
      | "OnlySpecificNodesAllowed"
      | "OnlySpecificEdgesAllowed"
    >();
    expectTypeOf<Extract<PromiseSpec, { kind: "OnlySpecificEdgesAllowed" }>["edges"][number]>().toEqualTypeOf<
      readonly [string, string]
    >();
    expectTypeOf<EventDataMap["promise.declared"]["promise"]>().toEqualTypeOf<PromiseSpec>();
    expectTypeOf<EventDataMap["promise.violated"]["spec"]>().toEqualTypeOf<PromiseSpec>();
    expectTypeOf<EventDataMap["promise.violated"]["promise"]>().toEqualTypeOf<PromiseKind>();
  });
});
