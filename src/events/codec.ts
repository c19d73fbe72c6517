/**
 * The JSON-safe codec: how task inputs, outputs and log fields are written to
 * the event log and sent to workers.
 *
 * Plain JSON values (null, booleans, finite numbers, strings, arrays, plain
 * objects) are written as themselves. Everything else becomes an object
 * tagged with the key `$t`:
 *
 * | value | encoding |
 * |---|---|
 * | `undefined` | `{"$t":"undefined"}` |
 * | `NaN`, `Infinity`, `-Infinity`, `-0` | `{"$t":"number","v":"NaN"}` |
 * | bigint | `{"$t":"bigint","v":"123"}` |
 * | Date | `{"$t":"date","v":"2026-01-01T00:00:00.000Z"}` (invalid date: `v` null) |
 * | Map | `{"$t":"map","v":[[key, value], ...]}` |
 * | Set | `{"$t":"set","v":[value, ...]}` |
 * | typed array / ArrayBuffer / DataView | `{"$t":"bytes","type":"Uint8Array","v":"<base64>"}` |
 * | circular reference | `{"$t":"ref","path":["a","b"]}` (path from the root value) |
 * | function | `{"$t":"function","name":"f"}` (lenient mode only) |
 * | symbol | `{"$t":"symbol","v":"description"}` (lenient mode only) |
 * | Error | `{"$t":"error","v":{name,message,code,stack}}` |
 * | `From(handle, path)` in inputs | `{"$t":"from","id":"root/square#1","path":[]}` |
 * | plain object that has its own `$t` key | `{"$t":"object","v":{...}}` |
 * | instance of a class without methods or getters | its own enumerable properties, like a plain object |
 * | anything else (a Promise, a class instance with methods, a WeakMap, a stream) | `{"$t":"instance","class":"Promise","v":{own properties}}` (lenient mode only) |
 *
 * In `strict` mode (inputs and outputs, which must be data) a value the codec
 * cannot carry faithfully throws a {@link SerializationError} naming the path
 * and the fix: a function, a symbol, a Promise (a missing `await`), an object
 * whose prototype holds methods, getters or inherited data, and a handle from
 * `ctx.spawn` passed without `From`. Nothing is ever copied lossily. In
 * lenient mode (log fields) they are encoded, so a log line is never lost.
 */
import { ErrorCodes, SerializationError, serializeError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { FROM_BRAND, HANDLE_MARK } from "./brand.ts";

/** A JSON value, as written to the log. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface EncodeOptions {
  /** Throw on functions and symbols instead of encoding them. Default `true`. */
  readonly strict?: boolean;
  /** Name of the value in error messages, e.g. `inputs`. Default `value`. */
  readonly label?: string;
  /**
   * What the value is, for the error code and the fix in strict mode:
   * `inputs` (`UNENCODABLE_INPUT`; a bare handle is `INVALID_INPUT`) or
   * `output` (`UNENCODABLE_OUTPUT`). Default: neither (`NOT_SERIALIZABLE`).
   */
  readonly role?: "inputs" | "output";
}

const TAG = "$t";

const typedArrays: Record<string, new (buffer: ArrayBuffer) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

function pathText(label: string, path: readonly (string | number)[]): string {
  let out = label;
  for (const p of path)
    out += typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  return out;
}

interface EncodeState {
  readonly strict: boolean;
  readonly label: string;
  readonly role: "inputs" | "output" | undefined;
  readonly seen: Map<object, (string | number)[]>;
  readonly path: (string | number)[];
}

/** True for a plain object whose values are all plain JSON scalars: the common case, copied without a walk. */
function isFlatPlain(obj: object): boolean {
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const rec = obj as Record<string, unknown>;
  for (const key in rec) {
    if (key === TAG) return false;
    const v = rec[key];
    switch (typeof v) {
      case "string":
      case "boolean":
        continue;
      case "number":
        if (Number.isFinite(v) && !Object.is(v, -0)) continue;
        return false;
      default:
        if (v === null) continue;
        return false;
    }
  }
  return (obj as Record<symbol, unknown>)[FROM_BRAND] === undefined; // neither a From nor a handle
}

/** The encoding of every empty plain object: shared and frozen (encoded values are only read), so `{}` inputs cost nothing per task. */
const EMPTY: { [k: string]: Json } = Object.freeze({});

/** True for an object that JSON writes as `{}`: not an array, no own enumerable key (encoded values only: no `toJSON`). */
export function isEmptyObject(obj: object): boolean {
  if (Array.isArray(obj)) return false;
  for (const key in obj) if (Object.hasOwn(obj, key)) return false;
  return true;
}

/**
 * The encoding of a value that needs no walk (a primitive that is plain JSON,
 * or a flat plain object of those), or `undefined` when it needs
 * {@link encode}. Most task values take this path; callers use it to skip
 * building an error label they will not need.
 */
export function encodeSimple(value: unknown): Json | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : undefined;
    case "object":
      if (value === null) return null;
      if (!Array.isArray(value) && isFlatPlain(value))
        return isEmptyObject(value) ? EMPTY : { ...(value as { [k: string]: Json }) };
      return undefined;
    default:
      return undefined;
  }
}

/** Encodes `value` into its JSON-safe form (see the module docs for the table). */
export function encode(value: unknown, options: EncodeOptions = {}): Json {
  const simple = encodeSimple(value);
  if (simple !== undefined) return simple;
  const state: EncodeState = {
    strict: options.strict ?? true,
    label: options.label ?? "value",
    role: options.role,
    seen: new Map(),
    path: [],
  };
  return walkEncode(state, value);
}

function notData(state: EncodeState, what: string, fix: string, code?: ErrorCode): never {
  const where = pathText(state.label, state.path);
  const c =
    code ??
    (state.role === "inputs"
      ? ErrorCodes.UNENCODABLE_INPUT
      : state.role === "output"
        ? ErrorCodes.UNENCODABLE_OUTPUT
        : ErrorCodes.NOT_SERIALIZABLE);
  throw new SerializationError(c, `${where} is ${what}; task inputs and outputs must be data (${fix})`, {
    path: where,
  });
}

/** The first few names in a list, for a message. */
function someNames(names: readonly string[]): string {
  return names.length > 4 ? `${names.slice(0, 4).join(", ")}, …` : names.join(", ");
}

/**
 * Why an object whose prototype is not `Object.prototype` cannot be carried
 * faithfully, or `null` for an instance of a data-only class (own fields, a
 * prototype with nothing but `constructor`), which is written as its own
 * properties. Only non-plain objects get here, so plain data pays nothing.
 */
function unfaithful(obj: object, proto: object): { what: string; fix: string } | null {
  const ctor = (proto as { constructor?: unknown }).constructor;
  const cls = typeof ctor === "function" && ctor.name !== "" ? ctor.name : "an anonymous class";
  if (typeof (obj as { then?: unknown }).then === "function")
    return {
      what: obj instanceof Promise ? "a Promise" : `a thenable (${cls})`,
      fix: "a missing `await`? await it, or `await Promise.all(...)` for a list of them, and pass the value",
    };
  if (obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof WeakRef)
    return { what: `a ${cls}`, fix: "its entries cannot be read or copied; use a Map, a Set or the value itself" };
  const members: string[] = [];
  for (
    let p: object | null = proto;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    // Object.prototype of another realm (a vm context): plain after all.
    if (Object.getPrototypeOf(p) === null && (p as { constructor?: { name?: unknown } }).constructor?.name === "Object")
      break;
    for (const key of Reflect.ownKeys(p))
      if (key !== "constructor") members.push(typeof key === "symbol" ? `[${key.description ?? "symbol"}]` : key);
  }
  if (members.length === 0) return null;
  const toJson = typeof (obj as { toJSON?: unknown }).toJSON === "function" ? "call its toJSON(), or " : "";
  return {
    what: `an instance of ${cls}, whose prototype holds ${someNames(members)} (they would be lost)`,
    fix: `${toJson}pass plain data, e.g. { ...value } of the fields you need`,
  };
}

function walkEncode(state: EncodeState, v: unknown): Json {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (Number.isFinite(v) && !Object.is(v, -0)) return v;
      return { [TAG]: "number", v: Object.is(v, -0) ? "-0" : String(v) };
    case "undefined":
      return { [TAG]: "undefined" };
    case "bigint":
      return { [TAG]: "bigint", v: v.toString() };
    case "function":
      if (state.strict) notData(state, "a function", "pass a value, or spawn a task that computes it");
      return { [TAG]: "function", name: v.name };
    case "symbol":
      if (state.strict) notData(state, "a symbol", "use a string instead");
      return { [TAG]: "symbol", v: v.description ?? "" };
    case "object":
      break;
  }
  if (v === null) return null;
  const obj = v as object;
  const { seen, path } = state;
  const earlier = seen.get(obj);
  if (earlier) return { [TAG]: "ref", path: earlier };
  const brand = (obj as Record<symbol, unknown>)[FROM_BRAND];
  if (brand === true) {
    const ref = obj as unknown as { id: string; path: readonly (string | number)[] };
    return { [TAG]: "from", id: ref.id, path: [...ref.path] };
  }
  if (brand === HANDLE_MARK && state.strict) {
    const id = (obj as { id?: unknown }).id;
    if (state.role === "output")
      notData(
        state,
        `the handle of ${String(id)}, not its output`,
        "to return what it computed, `const [out] = await ctx.waitForAll([handle])` and return `out`",
      );
    notData(
      state,
      `the handle of ${String(id)}`,
      `to pass what that task computes, wrap the handle in From(): From(handle), or From(handle, "a.b") for a part`,
      state.role === "inputs" ? ErrorCodes.INVALID_INPUT : undefined,
    );
  }
  // Only ancestors are in `seen`: a value reached twice on different branches
  // (a DAG, not a cycle) is written twice; only true cycles become refs.
  seen.set(obj, path.slice());
  try {
    if (Array.isArray(obj)) {
      const out: Json[] = new Array<Json>(obj.length);
      for (let i = 0; i < obj.length; i++) {
        path.push(i);
        out[i] = walkEncode(state, obj[i]);
        path.pop();
      }
      return out;
    }
    if (obj instanceof Date) return { [TAG]: "date", v: Number.isNaN(obj.getTime()) ? null : obj.toISOString() };
    if (obj instanceof Map) {
      const entries: Json[] = [];
      let i = 0;
      for (const [k, val] of obj) {
        path.push(i++, 0);
        const ek = walkEncode(state, k);
        path[path.length - 1] = 1;
        const ev = walkEncode(state, val);
        path.pop();
        path.pop();
        entries.push([ek, ev]);
      }
      return { [TAG]: "map", v: entries };
    }
    if (obj instanceof Set) {
      const items: Json[] = [];
      let i = 0;
      for (const item of obj) {
        path.push(i++);
        items.push(walkEncode(state, item));
        path.pop();
      }
      return { [TAG]: "set", v: items };
    }
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
      const bytes =
        obj instanceof ArrayBuffer ? new Uint8Array(obj) : new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength);
      const type =
        obj instanceof ArrayBuffer ? "ArrayBuffer" : obj instanceof DataView ? "DataView" : obj.constructor.name;
      return { [TAG]: "bytes", type, v: Buffer.from(bytes).toString("base64") };
    }
    if (obj instanceof Error) {
      const e = serializeError(obj);
      return { [TAG]: "error", v: { name: e.name, message: e.message, code: e.code, stack: e.stack ?? null } };
    }
    const proto = Object.getPrototypeOf(obj) as object | null;
    const problem = proto !== Object.prototype && proto !== null ? unfaithful(obj, proto) : null;
    if (problem !== null && state.strict) notData(state, problem.what, problem.fix);
    const out: { [key: string]: Json } = {};
    const record = obj as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      path.push(key);
      setOwn(out, key, walkEncode(state, record[key]));
      path.pop();
    }
    if (problem !== null) {
      const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
      return { [TAG]: "instance", class: typeof ctor?.name === "string" ? ctor.name : "", v: out };
    }
    if (Object.prototype.hasOwnProperty.call(out, TAG)) return { [TAG]: "object", v: out };
    return out;
  } finally {
    seen.delete(obj);
  }
}

/** `obj[key] = value`, except that an own `__proto__` key (from JSON.parse, say) stays a key instead of setting the prototype. */
function setOwn(obj: Record<string | number, unknown>, key: string | number, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** True for an encoded circular reference. */
function isRef(v: Json | undefined): v is { [key: string]: Json } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v[TAG] === "ref";
}

/** Where a decoded ref goes: a property or index of an object or array. */
interface SlotRef {
  readonly holder: Record<string | number, unknown>;
  readonly key: string | number;
  readonly path: readonly (string | number)[];
}

/**
 * A ref that is a Map key, a Map value or a Set item. It stands in the
 * collection as a unique placeholder object until the whole tree exists (a
 * shared `undefined` would merge two refs in a Set, and a Map key cannot be
 * replaced in place); then the collection is refilled in the same order.
 */
interface CollectionRefs {
  readonly collection: Map<unknown, unknown> | Set<unknown>;
  readonly placeholders: Map<object, readonly (string | number)[]>;
}

/** Decodes a value written by {@link encode}. `decode(encode(x))` deep-equals `x` for every supported type, cycles included. */
export function decode(value: Json): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value === EMPTY) return {}; // the shared encoding of every `{}`: no walk over its (no) keys
  if (!Array.isArray(value) && isFlatPlain(value)) return { ...value };
  const root: { v: unknown } = { v: undefined };
  const refs: SlotRef[] = [];
  const collections: CollectionRefs[] = [];

  /** A collection item: a placeholder for a ref (see {@link CollectionRefs}), else the decoded value. */
  const item = (v: Json, collection: CollectionRefs): unknown => {
    if (!isRef(v)) return walk(v, null, 0);
    const placeholder = {};
    collection.placeholders.set(placeholder, v["path"] as (string | number)[]);
    return placeholder;
  };

  const walk = (v: Json, holder: Record<string | number, unknown> | null, key: string | number): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) {
      const out: unknown[] = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = walk(v[i] as Json, out as unknown as Record<number, unknown>, i);
      return out;
    }
    const tag = v[TAG];
    if (typeof tag === "string") {
      const payload = v["v"];
      switch (tag) {
        case "undefined":
          return undefined;
        case "number":
          return payload === "-0" ? -0 : Number(payload);
        case "bigint":
          return BigInt(payload as string);
        case "date":
          return new Date(payload === null ? Number.NaN : (payload as string));
        case "map": {
          const m = new Map<unknown, unknown>();
          const c: CollectionRefs = { collection: m, placeholders: new Map() };
          for (const pair of payload as Json[][]) m.set(item(pair[0] as Json, c), item(pair[1] as Json, c));
          if (c.placeholders.size > 0) collections.push(c);
          return m;
        }
        case "set": {
          const s = new Set<unknown>();
          const c: CollectionRefs = { collection: s, placeholders: new Map() };
          for (const entry of payload as Json[]) s.add(item(entry, c));
          if (c.placeholders.size > 0) collections.push(c);
          return s;
        }
        case "bytes": {
          const buf = Buffer.from(payload as string, "base64");
          const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
          const type = v["type"] as string;
          if (type === "ArrayBuffer") return ab;
          if (type === "DataView") return new DataView(ab);
          const Ctor = typedArrays[type] ?? Uint8Array;
          return new Ctor(ab);
        }
        case "error": {
          const p = payload as { name: string; message: string; code: string; stack: string | null };
          const e = new Error(p.message);
          e.name = p.name;
          (e as Error & { code: string }).code = p.code;
          if (p.stack !== null) e.stack = p.stack;
          return e;
        }
        case "from":
          return { [FROM_BRAND]: true, id: v["id"], runId: "", path: v["path"] };
        case "ref":
          // A ref at the root has nothing to point to; anywhere else it has a holder.
          if (holder !== null) refs.push({ holder, key, path: v["path"] as (string | number)[] });
          return undefined;
        case "function": {
          const name = typeof v["name"] === "string" ? v["name"] : "";
          const fn = () => {
            throw new SerializationError(
              ErrorCodes.NOT_SERIALIZABLE,
              `function ${name} was encoded in the log and cannot be called`,
            );
          };
          Object.defineProperty(fn, "name", { value: name });
          return fn;
        }
        case "symbol":
          return Symbol(payload as string);
        case "instance": // lenient mode (log fields) only: the class is in the log, its own properties come back as a plain object
        case "object": {
          const inner = payload as { [k: string]: Json };
          const out: Record<string, unknown> = {};
          for (const k of Object.keys(inner)) setOwn(out, k, walk(inner[k] as Json, out, k));
          return out;
        }
        default:
          break; // unknown tag from a newer version: keep as plain object
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setOwn(out, k, walk(v[k] as Json, out, k));
    return out;
  };
  root.v = walk(value, null, "v");
  // Resolve circular references once the whole tree exists. A ref's path runs
  // through its ancestors only, never through another ref, so the order of
  // resolution does not matter.
  const target = (path: readonly (string | number)[]): unknown => {
    let t: unknown = root.v;
    for (const p of path) t = getChild(t, p);
    return t;
  };
  for (const r of refs) setOwn(r.holder, r.key, target(r.path));
  for (const { collection, placeholders } of collections) {
    const resolved = (x: unknown): unknown => {
      const path = typeof x === "object" && x !== null ? placeholders.get(x) : undefined;
      return path === undefined ? x : target(path);
    };
    if (collection instanceof Map) {
      const entries = [...collection];
      collection.clear();
      for (const [k, val] of entries) collection.set(resolved(k), resolved(val));
    } else {
      const items = [...collection];
      collection.clear();
      for (const x of items) collection.add(resolved(x));
    }
  }
  return root.v;
}

function getChild(v: unknown, key: string | number): unknown {
  if (v instanceof Map) return [...v.entries()][key as number];
  if (v instanceof Set) return [...v][key as number];
  if (v !== null && typeof v === "object") return (v as Record<string | number, unknown>)[key];
  return undefined;
}

/** Follows a `From` path (`"a.b[0]"` or `["a","b",0]`) into a decoded value. */
export function getPath(value: unknown, path: readonly (string | number)[]): unknown {
  let cur = value;
  for (const p of path) {
    if (cur === null || cur === undefined) return undefined;
    cur = cur instanceof Map ? cur.get(p) : (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}
