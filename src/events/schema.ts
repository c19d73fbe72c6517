/**
 * The one definition of the event log's shape (TypeBox: JSON Schema with
 * static types). From it come
 * - the payload types of every event (`EventDataMap` in `types.ts` is
 *   `Static` of {@link EventPayloads}),
 * - the shipped `schema/events.schema.json` (`npm run schema` writes it from
 *   {@link eventLogSchema}; a test fails when the shipped file is stale),
 * - the reader's check of every line (`events/read-log.ts`, through
 *   `conforms.ts`), the checks the tests run on every log they write, and
 *   the property test that holds the byte writer (`line.ts`) to these shapes.
 *
 * Shapes used in several payloads (errors, promises, diffs, counts) are
 * `definitions` of the document, referenced by `$ref`. A promise's type,
 * `PromiseSpec` (`types.ts`), is the `Static` of its definition here; the
 * others are declared beside the code that builds them (`SerializedError`,
 * `PlanDiff`, `Counts`), and test/types/event-schema.test-d.ts checks that
 * each equals the `Static` of its definition.
 *
 * Not imported on the engine's paths: only by tools, tests and readers.
 */
import { Type } from "@sinclair/typebox";
import type { Static, TSchema } from "@sinclair/typebox";
import type { SerializedError } from "../errors.ts";
import type { Json } from "./codec.ts";
import type { Counts, EventType, PlanDiff } from "./vocabulary.ts";
import {
  EVENT_TYPES,
  PromiseScopes,
  RunStatuses,
  TaskStatuses,
  ViolationPolicies,
  WaitEndReasons,
} from "./vocabulary.ts";

/** A closed object: no property beyond those listed. */
const object = <P extends Parameters<typeof Type.Object>[0]>(properties: P, description?: string) =>
  Type.Object(
    properties,
    description === undefined ? { additionalProperties: false } : { additionalProperties: false, description },
  );

/** One of the strings of `values` (written as `enum`, as the schema always was). */
function oneOf<const T extends readonly string[]>(values: T, description?: string) {
  return Type.Unsafe<T[number]>(description === undefined ? { enum: [...values] } : { description, enum: [...values] });
}

/** Any JSON value (inputs, outputs, log fields), encoded by the codec (docs/event-log.md). */
const JsonValue = Type.Unsafe<Json>({});
const Int = (minimum: number) => Type.Integer({ minimum });
const Strings = Type.Array(Type.String());
const StringOrNull = Type.Unsafe<string | null>({ type: ["string", "null"] });

/** A reference to one of {@link Definitions}, typed by the type the code declares for it. */
const ref = <T>(name: keyof typeof Definitions) => Type.Unsafe<T>({ $ref: `#/definitions/${name}` });

const Scope = oneOf(PromiseScopes);

/** Two strings: an array of exactly two (what `minItems`/`maxItems` say), typed as the pair it is. */
const Pair = Type.Unsafe<[string, string]>(Type.Array(Type.String(), { minItems: 2, maxItems: 2 }));

/** The six promises as data, one closed object each: the schema's `promise` definition and the `PromiseSpec` type both come from these. */
const PromiseVariants = [
  object({ kind: Type.Literal("LimitedSpawns"), task: Type.String(), limit: Int(0), scope: Scope }),
  object({ kind: Type.Literal("MaxParallelism"), label: Type.String(), limit: Int(0), scope: Scope }),
  object({ kind: Type.Literal("NoNewNodes"), scope: Scope }),
  object({ kind: Type.Literal("NoNewEdges"), scope: Scope }),
  object({ kind: Type.Literal("OnlySpecificNodesAllowed"), tasks: Strings, scope: Scope }),
  object({ kind: Type.Literal("OnlySpecificEdgesAllowed"), edges: Type.Array(Pair), scope: Scope }),
];

/** `T` with every property and array read-only, tuples kept: promises are values the engine never changes. */
type Frozen<T> = T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/** The shared shapes, as `definitions` of the document. */
export const Definitions = {
  error: object({
    name: Type.String(),
    message: Type.String(),
    code: Type.String(),
    stack: Type.Optional(Type.String()),
    details: Type.Optional(Type.Unsafe<Readonly<Record<string, unknown>>>({ type: "object" })),
    cause: Type.Optional(Type.Unsafe<SerializedError>({ $ref: "#/definitions/error" })),
  }),
  // Written as `oneOf` of the variants (TypeBox's union would say `anyOf`), typed as the union of their static types.
  promise: Type.Unsafe<Frozen<Static<(typeof PromiseVariants)[number]>>>({
    oneOf: PromiseVariants.map((s) => {
      const { additionalProperties, type, properties, required } = s;
      return {
        type,
        properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, stripLiteral(v)])),
        required,
        additionalProperties,
      };
    }),
  }),
  counts: object(
    Object.fromEntries(TaskStatuses.map((s) => [s, Int(0)])) as Record<
      (typeof TaskStatuses)[number],
      ReturnType<typeof Int>
    >,
  ),
  diff: object({
    by: Type.String(),
    nodes: Type.Array(
      object({
        id: Type.String(),
        task: Type.String(),
        parent: Type.String(),
        labels: Strings,
        placeholder: StringOrNull,
      }),
    ),
    edges: Type.Array(
      object({
        from: Type.String(),
        to: Type.String(),
        kind: oneOf(["data", "lineage"]),
        fromTask: Type.String(),
        toTask: Type.String(),
        declared: Type.Boolean(),
      }),
    ),
  }),
} as const;

/** TypeBox writes a literal as `{ const, type }`; the schema writes `{ const }` only. */
function stripLiteral(s: TSchema): object {
  return "const" in s ? { const: s["const"] as unknown } : s;
}

const ErrorRef = ref<SerializedError>("error");
const PromiseRef = ref<Static<(typeof Definitions)["promise"]>>("promise");

/** The payload (`data`) of each event type. */
export const EventPayloads = {
  "run.started": object({
    root: Type.String(),
    task: Type.String(),
    inputs: JsonValue,
    options: object({ executor: Type.String(), workers: Int(1), onViolation: oneOf(ViolationPolicies) }),
    modules: Type.Optional(
      Type.Array(Type.String(), {
        description:
          "File URLs of the modules that define the run's tasks, so `trellis resume` can load the workflow. Absent in logs written before resume existed.",
      }),
    ),
  }),
  "run.resumed": object({
    fromSeq: Type.Integer({
      minimum: 0,
      description: "The seq of the last event before this resume (the log's last complete line).",
    }),
    droppedBytes: Type.Integer({
      minimum: 0,
      description:
        "Bytes of a cut-off last line (a crash mid-write) removed from the file before resuming; 0 when there was none.",
    }),
    retryFailed: Type.Boolean({
      description:
        "True when failed, skipped and cancelled instances go back to pending for a new attempt (`--retry-failed`).",
    }),
    options: object({ executor: Type.String(), workers: Int(1), onViolation: oneOf(ViolationPolicies) }),
  }),
  "task.created": object({
    id: Type.String(),
    task: Type.String(),
    parent: StringOrNull,
    labels: Strings,
    inputs: JsonValue,
    placeholder: StringOrNull,
    priority: Type.Number(),
    inputsHash: Type.Optional(
      Type.String({
        description:
          "Fingerprint of the encoded inputs (16 hex characters, events/input-hash.ts): a re-executed parent that spawns this id with other inputs fails with NON_DETERMINISTIC. Absent in logs written before it existed.",
      }),
    ),
  }),
  "edge.created": object({ from: Type.String(), to: Type.String(), kind: oneOf(["data", "lineage"]) }),
  "preview.materialized": object({
    owner: Type.String(),
    placeholders: Type.Array(object({ id: Type.String(), task: Type.String(), parent: Type.String() })),
    edges: Type.Array(object({ from: Type.String(), to: Type.String() })),
  }),
  "preview.pruned": object({ owner: Type.String(), placeholders: Strings }),
  "promise.declared": object({
    pid: Int(0),
    owner: Type.String(),
    source: oneOf(["definition", "context", "static"]),
    promise: PromiseRef,
  }),
  "task.started": object({ id: Type.String(), attempt: Int(1) }),
  "task.placed": object({ id: Type.String(), attempt: Int(1), worker: Type.String() }),
  "task.waiting": object({ id: Type.String(), on: Strings }),
  "task.resumed": object({
    id: Type.String(),
    reason: Type.Optional(
      oneOf(
        WaitEndReasons,
        "Why the wait ended: completed (every instance finished), failed (one did not succeed), timeout (its timeoutMs passed), aborted (its signal aborted). Absent in logs written before waits had limits.",
      ),
    ),
  }),
  "task.log": object({ id: Type.String(), message: Type.String(), fields: JsonValue }),
  "task.warning": object({ id: Type.String(), code: Type.String(), message: Type.String() }),
  "task.emitted": object({ id: Type.String(), output: JsonValue }),
  "task.retrying": object({
    id: Type.String(),
    attempt: Int(2),
    delayMs: Type.Number({ minimum: 0 }),
    error: ErrorRef,
  }),
  "task.rehosted": object(
    {
      id: Type.String(),
      attempt: Int(1),
      worker: Type.String(),
      reason: Type.String({
        description:
          "How the worker died: exit, signal, out-of-memory, uncaught-error or unresponsive; lost for a remote (bullmq) worker whose lease ran out.",
      }),
      isolated: Type.Boolean({
        description: "True for a suspect (the culprit could not be told apart): it runs alone on a worker.",
      }),
    },
    "The worker hosting this attempt died and the attempt was not the culprit: the same attempt runs again from the start on a healthy worker (a replay, not a failed attempt); its spawns re-attach to the instances it made before.",
  ),
  "task.succeeded": object({ id: Type.String(), output: JsonValue }),
  "task.cached": object(
    {
      id: Type.String(),
      key: Type.String({
        description: "The results-cache key the output was found under: 64 hex characters (SHA-256).",
      }),
      output: JsonValue,
    },
    "The instance succeeded without running: its output was found in the results cache (instead of task.started … task.succeeded).",
  ),
  "task.failed": object({ id: Type.String(), attempt: Int(0), error: ErrorRef }),
  "task.skipped": object({ id: Type.String(), because: Type.String() }),
  "task.cancelled": object({ id: Type.String(), reason: Type.String() }),
  "promise.violated": object({
    pid: Int(0),
    promise: oneOf([
      "LimitedSpawns",
      "MaxParallelism",
      "NoNewNodes",
      "NoNewEdges",
      "OnlySpecificNodesAllowed",
      "OnlySpecificEdgesAllowed",
    ]),
    spec: PromiseRef,
    owner: Type.String(),
    by: Type.String(),
    diff: ref<PlanDiff>("diff"),
    details: Type.Unsafe<Record<string, Json>>({ type: "object" }),
    policy: oneOf(ViolationPolicies),
  }),
  "run.deadlock": object({
    instances: Type.Array(object({ id: Type.String(), status: oneOf(TaskStatuses), waitingOn: Strings })),
    message: Type.String(),
  }),
  "run.finished": object({
    status: oneOf(RunStatuses),
    output: JsonValue,
    counts: ref<Counts>("counts"),
    durationMs: Type.Number({ minimum: 0 }),
    violations: Int(0),
    error: Type.Unsafe<SerializedError | null>({ oneOf: [{ type: "null" }, { $ref: "#/definitions/error" }] }),
  }),
} as const satisfies Record<EventType, TSchema>;

/** Plain JSON of a TypeBox schema (its symbol keys dropped). */
function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema)) as unknown;
}

/** The JSON Schema (draft-07) of one line of `events.jsonl`: what `schema/events.schema.json` holds. */
export function eventLogSchema(): Record<string, unknown> {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://trellis.dev/schema/events.schema.json",
    title: "Trellis event log line (events.jsonl)",
    description:
      "One line of <out>/events.jsonl. Unknown `type`s may appear in logs from newer versions; readers skip them.",
    type: "object",
    required: ["v", "seq", "ts", "runId", "type", "data"],
    additionalProperties: false,
    properties: {
      v: { const: 1 },
      seq: { type: "integer", minimum: 1 },
      ts: {
        type: "string",
        pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$",
        description: "ISO-8601 UTC time",
      },
      runId: { type: "string" },
      type: { enum: [...EVENT_TYPES] },
      data: { type: "object" },
    },
    allOf: EVENT_TYPES.map((type) => ({
      if: { properties: { type: { const: type } } },
      then: { properties: { data: plain(EventPayloads[type]) } },
    })),
    definitions: Object.fromEntries(Object.entries(Definitions).map(([k, v]) => [k, plain(v)])),
  };
}
