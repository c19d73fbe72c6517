// The byte writer (events/line.ts) held to the one definition of the log's
// shape (events/schema.ts): events of every type, generated from the schema
// itself (so a field added there is generated here), are written as exactly
// the bytes of JSON.stringify, and every line is valid under the schema.
import fc from "fast-check";
import { Ajv } from "ajv";
import { describe, expect, test } from "vitest";
import { EventLines, JsonBytes } from "../../dist/events/line.js";
import { eventLogSchema } from "../../dist/events/schema.js";
import type { TrellisEvent } from "../../dist/events/types.js";
import { EVENT_TYPES } from "../../dist/events/vocabulary.js";
import { compileSchema } from "../../dist/events/conforms.js";
import { parseLogLine } from "../../dist/events/read-log.js";

/** Fixed so a failure reproduces; set LINE_SCHEMA_SEED to explore others. */
const SEED = Number(process.env["LINE_SCHEMA_SEED"] ?? 20261202);

type Schema = Record<string, unknown>;
const document = eventLogSchema() as Schema & {
  definitions: Record<string, Schema>;
  allOf: { if: Schema; then: { properties: { data: Schema } } }[];
};

const text = fc.oneof(
  fc.constantFrom("root", "root/a#1", "é", ""),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: fc.constantFrom('"', "\\", "\n", "\u0000", "é", "😀", "a") }),
);
const json = fc.oneof(fc.constant(null), fc.constant({}), fc.jsonValue({ maxDepth: 2 }));

/** Values valid under `schema` (the subset of JSON Schema the log's schema uses). */
function arbitraryOf(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (typeof schema["$ref"] === "string") {
    const name = schema["$ref"].replace("#/definitions/", "");
    // The error's `cause` refers to the error: stop after one level.
    if (depth > 2) return fc.constant(undefined);
    return arbitraryOf(document.definitions[name] as Schema, depth + 1);
  }
  if ("const" in schema) return fc.constant(schema["const"]);
  if (Array.isArray(schema["enum"])) return fc.constantFrom(...(schema["enum"] as unknown[]));
  if (Array.isArray(schema["oneOf"]))
    return fc.oneof(...(schema["oneOf"] as Schema[]).map((s) => arbitraryOf(s, depth)));
  const type = schema["type"];
  if (Array.isArray(type)) return fc.oneof(...type.map((t) => arbitraryOf({ ...schema, type: t }, depth)));
  const min = typeof schema["minimum"] === "number" ? schema["minimum"] : undefined;
  switch (type) {
    case undefined:
      return json;
    case "null":
      return fc.constant(null);
    case "string":
      return text;
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: min ?? -1000, max: 1_000_000 });
    case "number":
      return fc.oneof(
        fc.integer({ min: min ?? -1000, max: 1000 }),
        fc.double({ min: min ?? -1e6, max: 1e6, noNaN: true }),
      );
    case "array": {
      const items = arbitraryOf(schema["items"] as Schema, depth);
      return fc.array(items, {
        minLength: (schema["minItems"] as number | undefined) ?? 0,
        maxLength: (schema["maxItems"] as number | undefined) ?? 3,
      });
    }
    case "object": {
      const properties = schema["properties"] as Record<string, Schema> | undefined;
      if (!properties) return fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 3 });
      const required = new Set((schema["required"] as string[] | undefined) ?? []);
      const fields = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, arbitraryOf(s, depth)]));
      return fc.record(fields, { requiredKeys: [...required].filter((k) => k in fields) }).map((o) => {
        // An optional field set to undefined is absent in JSON, as in a real event.
        for (const k of Object.keys(o))
          if ((o as Record<string, unknown>)[k] === undefined) delete (o as Record<string, unknown>)[k];
        return o;
      });
    }
    default:
      throw new Error(`the schema uses type ${String(type)}, which this generator does not know: extend arbitraryOf`);
  }
}

const timestamp = fc.integer({ min: 0, max: 4_000_000_000_000 }).map((ms) => new Date(ms).toISOString());

/** Events of every type the schema defines, in the key order the engine writes (the schema's). */
const anyEvent: fc.Arbitrary<TrellisEvent> = fc.oneof(
  ...EVENT_TYPES.map((type, i) =>
    fc.record({
      v: fc.constant(1),
      seq: fc.integer({ min: 1, max: 1_000_000 }),
      ts: timestamp,
      runId: text,
      type: fc.constant(type),
      data: arbitraryOf((document.allOf[i] as (typeof document.allOf)[number]).then.properties.data),
    }),
  ),
) as fc.Arbitrary<TrellisEvent>;

describe("event lines against the schema", () => {
  test("the schema's allOf covers every event type, in EVENT_TYPES order", () => {
    expect(document.allOf.map((c) => (c.if["properties"] as { type: { const: string } }).type.const)).toEqual([
      ...EVENT_TYPES,
    ]);
  });

  test("events of every type, generated from the schema, are written as the bytes of JSON.stringify and validate", () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(document);
    fc.assert(
      fc.property(fc.array(anyEvent, { minLength: 1, maxLength: 4 }), (events) => {
        const lines = new EventLines(new JsonBytes(16));
        for (const event of events) {
          const out = lines.out;
          out.used = 0;
          lines.write(event);
          const line = out.bytes.subarray(0, out.used).toString("utf8");
          expect(line).toBe(`${JSON.stringify(event)}\n`);
          const parsed = JSON.parse(line) as unknown;
          expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
        }
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  test("the reader's check agrees with a JSON Schema validator, on valid events and on broken ones", () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(document);
    /** Breaks one thing in `data`: drops a field, gives one a value of the wrong type, or adds one. */
    const broken = fc
      .tuple(anyEvent, fc.nat(), fc.constantFrom("drop", "retype", "extra"))
      .map(([event, pick, how]) => {
        const data = { ...(event.data as Record<string, unknown>) };
        const keys = Object.keys(data);
        const key = keys[pick % Math.max(1, keys.length)];
        if (how === "extra" || key === undefined) data["unexpected"] = 1;
        else if (how === "drop") delete data[key];
        else data[key] = typeof data[key] === "string" ? 7 : "seven";
        return { ...event, data } as unknown as TrellisEvent;
      });
    fc.assert(
      fc.property(fc.oneof(anyEvent, broken), (event) => {
        const parsed = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
        const i = EVENT_TYPES.indexOf(event.type);
        const payload = (document.allOf[i] as (typeof document.allOf)[number]).then.properties.data;
        const mine = compileSchema(payload, document.definitions)(parsed["data"]);
        expect(mine === null).toBe(validate(parsed));
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  test("the reader refuses a line whose data breaks the schema, naming the line and the field", () => {
    const line = JSON.stringify({
      v: 1,
      seq: 1,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "r",
      type: "task.failed",
      data: { id: "a", attempt: 1, error: { name: "E", message: "m" } },
    });
    expect(() => parseLogLine(line, 1, 1, "x.jsonl")).toThrow(/x\.jsonl:1: task\.failed: data\.error\.code is missing/);
  });
});
