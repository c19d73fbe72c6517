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

const KNOWN = new Set([
  "$ref",
  "const",
  "enum",
  "oneOf",
  "type",
  "minimum",
  "items",
  "minItems",
  "maxItems",
  "properties",
  "required",
  "additionalProperties",
  "description",
]);

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

/** A compiled schema: null when the value conforms, else what is wrong, starting with the path below the value (`.code is missing`). */
export type Conformance = (value: unknown) => string | null;

/**
 * Compiles `schema` once into a check; `$ref`s name `definitions` (compiled
 * once each, so a recursive definition is fine). The reader runs the check on
 * every line: no path is built unless something is wrong.
 */
export function compileSchema(schema: Schema, definitions: Readonly<Record<string, Schema>>): Conformance {
  const compiled = new Map<string, Conformance>();
  const byRef = (name: string): Conformance => {
    let check = compiled.get(name);
    if (check === undefined) {
      const target = definitions[name];
      if (!target) throw new Error(`conforms: no definition for #/definitions/${name}`);
      compiled.set(name, (v) => (check as Conformance)(v)); // a recursive reference resolves to the finished check
      check = compile(target);
      compiled.set(name, check);
    }
    return check;
  };
  const compile = (s: Schema): Conformance => {
    for (const key of Object.keys(s))
      if (!KNOWN.has(key))
        throw new Error(`conforms: the schema uses "${key}", which this checker does not know; teach it`);
    const checks: Conformance[] = [];
    const ref = s["$ref"];
    if (typeof ref === "string") {
      const name = ref.replace("#/definitions/", "");
      let resolved: Conformance | undefined;
      checks.push((v) => (resolved ??= byRef(name))(v));
    }
    if ("const" in s) {
      const c = s["const"];
      checks.push((v) => (v === c ? null : ` must be ${JSON.stringify(c)}`));
    }
    const choices = s["enum"];
    if (Array.isArray(choices))
      checks.push((v) =>
        choices.includes(v) ? null : ` must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`,
      );
    const alternatives = s["oneOf"];
    if (Array.isArray(alternatives)) {
      const forms = (alternatives as Schema[]).map(compile);
      checks.push((v) => {
        let matching = 0;
        for (const f of forms) if (f(v) === null) matching++;
        return matching === 1 ? null : ` must match exactly one of its ${forms.length} forms (it matches ${matching})`;
      });
    }
    const type = s["type"];
    if (type !== undefined) {
      const types = Array.isArray(type) ? (type as string[]) : [type as string];
      checks.push((v) => {
        for (const t of types) if (hasType(v, t)) return null;
        return ` must be ${types.join(" or ")}, got ${typeOf(v)}`;
      });
    }
    const minimum = s["minimum"];
    if (typeof minimum === "number")
      checks.push((v) => (typeof v === "number" && v < minimum ? ` must be at least ${minimum}` : null));
    const min = s["minItems"];
    const max = s["maxItems"];
    const items = s["items"] === undefined ? undefined : compile(s["items"] as Schema);
    if (typeof min === "number" || typeof max === "number" || items)
      checks.push((v) => {
        if (!Array.isArray(v)) return null;
        if (typeof min === "number" && v.length < min) return ` must have at least ${min} items`;
        if (typeof max === "number" && v.length > max) return ` must have at most ${max} items`;
        if (items)
          for (let i = 0; i < v.length; i++) {
            const problem = items(v[i]);
            if (problem !== null) return `[${i}]${problem}`;
          }
        return null;
      });
    const properties = s["properties"] as Record<string, Schema> | undefined;
    const required = (s["required"] ?? []) as string[];
    const closed = s["additionalProperties"] === false;
    if (properties || required.length > 0 || closed) {
      const byKey = new Map(Object.entries(properties ?? {}).map(([k, p]) => [k, compile(p)]));
      checks.push((v) => {
        if (typeOf(v) !== "object") return null;
        const o = v as Record<string, unknown>;
        for (let i = 0; i < required.length; i++)
          if (!((required[i] as string) in o)) return `.${required[i] as string} is missing`;
        for (const key in o) {
          const check = byKey.get(key);
          if (check === undefined) {
            if (closed) return `.${key} is not a field of this event`;
            continue;
          }
          const problem = check(o[key]);
          if (problem !== null) return `.${key}${problem}`;
        }
        return null;
      });
    }
    if (checks.length === 0) return () => null;
    if (checks.length === 1) return checks[0] as Conformance;
    return (v) => {
      for (let i = 0; i < checks.length; i++) {
        const problem = (checks[i] as Conformance)(v);
        if (problem !== null) return problem;
      }
      return null;
    };
  };
  return compile(schema);
}
