/**
 * Checks a value against the log's schema (`schema.ts`) without a JSON
 * Schema library: the reader of `events.jsonl` runs it on every line, so it
 * knows exactly the keywords that schema uses (`$ref` to its definitions,
 * `const`, `enum`, `oneOf`, `type`, `minimum`, `items`, `minItems`,
 * `maxItems`, `properties`, `required`, `additionalProperties: false`) and
 * refuses a schema with any other, so a keyword added to the schema cannot be
 * silently skipped. test/core/line-schema.test.ts holds it to ajv.
 */

type Schema = Readonly<Record<string, unknown>>;

const KNOWN = new Set(["$ref", "const", "enum", "oneOf", "type", "minimum", "items", "minItems", "maxItems", "properties", "required", "additionalProperties", "description"]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function hasType(v: unknown, type: string): boolean {
  switch (type) {
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    default:
      return typeOf(v) === type;
  }
}

/**
 * Where `value` breaks `schema` (a path such as `data.error.code` and what
 * is wrong), or null when it conforms. `$ref`s name `definitions`.
 */
export function nonConformance(schema: Schema, value: unknown, definitions: Readonly<Record<string, Schema>>, path = "value"): string | null {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`conforms: the schema uses "${key}" at ${path}, which this checker does not know; teach it`);
  const ref = schema["$ref"];
  if (typeof ref === "string") {
    const target = definitions[ref.replace("#/definitions/", "")];
    if (!target) throw new Error(`conforms: no definition for ${ref}`);
    return nonConformance(target, value, definitions, path);
  }
  if ("const" in schema && value !== schema["const"]) return `${path} must be ${JSON.stringify(schema["const"])}`;
  const choices = schema["enum"];
  if (Array.isArray(choices) && !choices.includes(value)) return `${path} must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`;
  const alternatives = schema["oneOf"];
  if (Array.isArray(alternatives)) {
    const matching = (alternatives as Schema[]).filter((s) => nonConformance(s, value, definitions, path) === null).length;
    if (matching !== 1) return `${path} must match exactly one of its ${alternatives.length} forms (it matches ${matching})`;
  }
  const type = schema["type"];
  if (type !== undefined) {
    const types = Array.isArray(type) ? (type as string[]) : [type as string];
    if (!types.some((t) => hasType(value, t))) return `${path} must be ${types.join(" or ")}, got ${typeOf(value)}`;
  }
  const minimum = schema["minimum"];
  if (typeof minimum === "number" && typeof value === "number" && value < minimum) return `${path} must be at least ${minimum}`;
  if (Array.isArray(value)) {
    const min = schema["minItems"];
    const max = schema["maxItems"];
    if (typeof min === "number" && value.length < min) return `${path} must have at least ${min} items`;
    if (typeof max === "number" && value.length > max) return `${path} must have at most ${max} items`;
    const items = schema["items"] as Schema | undefined;
    if (items)
      for (let i = 0; i < value.length; i++) {
        const problem = nonConformance(items, value[i], definitions, `${path}[${i}]`);
        if (problem) return problem;
      }
  } else if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    const properties = (schema["properties"] ?? {}) as Record<string, Schema>;
    for (const key of (schema["required"] ?? []) as string[]) if (!(key in object)) return `${path}.${key} is missing`;
    for (const key of Object.keys(object)) {
      const property = properties[key];
      if (property === undefined) {
        if (schema["additionalProperties"] === false) return `${path}.${key} is not a field of this event`;
        continue;
      }
      const problem = nonConformance(property, object[key], definitions, `${path}.${key}`);
      if (problem) return problem;
    }
  }
  return null;
}
