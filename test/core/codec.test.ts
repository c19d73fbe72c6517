import fc from "fast-check";
import { Readable } from "node:stream";
import { describe, expect, test } from "vitest";
import { decode, encode } from "../../dist/events/codec.js";
import { ErrorCodes, TrellisError } from "../../dist/errors.js";

function roundTrip(value: unknown): unknown {
  const encoded = encode(value, { strict: false });
  // What is written must survive JSON text unchanged.
  expect(JSON.parse(JSON.stringify(encoded))).toEqual(encoded);
  return decode(JSON.parse(JSON.stringify(encoded)));
}

describe("JSON-safe codec", () => {
  test("plain JSON values are written as themselves", () => {
    const v = { a: 1, b: "x", c: [true, null, { d: 2.5 }] };
    expect(encode(v)).toEqual(v);
  });

  test("each special value has one documented encoding", () => {
    expect(encode(undefined)).toEqual({ $t: "undefined" });
    expect(encode(10n)).toEqual({ $t: "bigint", v: "10" });
    expect(encode(new Date("2026-01-02T03:04:05.000Z"))).toEqual({ $t: "date", v: "2026-01-02T03:04:05.000Z" });
    expect(encode(new Map([["k", 1]]))).toEqual({ $t: "map", v: [["k", 1]] });
    expect(encode(new Set([1, 2]))).toEqual({ $t: "set", v: [1, 2] });
    expect(encode(new Uint8Array([1, 2, 3]))).toEqual({ $t: "bytes", type: "Uint8Array", v: "AQID" });
    expect(encode(Number.NaN)).toEqual({ $t: "number", v: "NaN" });
    expect(encode(-0)).toEqual({ $t: "number", v: "-0" });
    expect(encode({ $t: "mine" })).toEqual({ $t: "object", v: { $t: "mine" } });
    function named() {}
    expect(encode(named, { strict: false })).toEqual({ $t: "function", name: "named" });
  });

  test("every supported type survives a round trip", () => {
    const value = {
      u: undefined,
      big: 12345678901234567890n,
      when: new Date("2026-11-26T00:00:00.000Z"),
      map: new Map<unknown, unknown>([[{ k: 1 }, new Set(["a"])]]),
      floats: new Float64Array([1.5, -2]),
      buf: new Uint8Array([255, 0]).buffer,
      nan: Number.NaN,
      inf: -Infinity,
      negZero: -0,
      tagged: { $t: "user data" },
      nested: [[1, [2, [3]]]],
    };
    const back = roundTrip(value) as typeof value;
    expect(back.u).toBeUndefined();
    expect("u" in back).toBe(true);
    expect(back.big).toBe(12345678901234567890n);
    expect(back.when).toEqual(value.when);
    expect(back.map).toEqual(value.map);
    expect(back.floats).toEqual(value.floats);
    expect(new Uint8Array(back.buf)).toEqual(new Uint8Array([255, 0]));
    expect(back.nan).toBeNaN();
    expect(back.inf).toBe(-Infinity);
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.tagged).toEqual({ $t: "user data" });
    expect(back.nested).toEqual(value.nested);
  });

  test("circular references become refs and come back as the same object", () => {
    const a: { name: string; self?: unknown; list: unknown[] } = { name: "a", list: [] };
    a.self = a;
    a.list.push(a);
    const encoded = encode(a, { strict: false });
    expect(encoded).toEqual({ name: "a", list: [{ $t: "ref", path: [] }], self: { $t: "ref", path: [] } });
    const back = roundTrip(a) as typeof a;
    expect(back.self).toBe(back);
    expect(back.list[0]).toBe(back);
  });

  test("a value shared by two branches (not a cycle) is written twice, not as a ref", () => {
    const shared = { x: 1 };
    expect(encode({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  test("strict mode refuses functions and symbols and names the path", () => {
    const attempt = (v: unknown) => {
      try {
        encode(v, { strict: true, label: "inputs" });
      } catch (error) {
        return error;
      }
      return null;
    };
    const fn = attempt({ deep: [{ cb: () => 1 }] });
    expect(fn).toBeInstanceOf(TrellisError);
    expect((fn as TrellisError).code).toBe(ErrorCodes.NOT_SERIALIZABLE);
    expect((fn as TrellisError).details["path"]).toBe("inputs.deep[0].cb");
    const sym = attempt({ s: Symbol("x") });
    expect((sym as TrellisError).code).toBe(ErrorCodes.NOT_SERIALIZABLE);
  });

  test("errors are encoded with name, message and code", () => {
    const e = new TypeError("bad");
    const encoded = encode(e, { strict: false }) as { $t: string; v: { name: string; message: string; code: string } };
    expect(encoded.$t).toBe("error");
    expect(encoded.v.name).toBe("TypeError");
    expect(encoded.v.message).toBe("bad");
    const back = decode(encoded) as Error;
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("TypeError");
  });

  test("an own __proto__ key (as JSON.parse makes) stays a key and does not become the prototype", () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"list":[1]}') as Record<string, unknown>;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(["__proto__", "list"]);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back["polluted"]).toBeUndefined();
  });

  test("a flat plain object is copied, so later mutation does not change what was encoded", () => {
    const inputs = { x: 1 };
    const encoded = encode(inputs) as { x: number };
    inputs.x = 2;
    expect(encoded.x).toBe(1);
  });
});

describe("JSON-safe codec: cycles through Maps and Sets", () => {
  test("a cycle through a Map value, a Map key and a Set item comes back as the same object", () => {
    const root: { m: Map<unknown, unknown>; s: Set<unknown> } = { m: new Map(), s: new Set() };
    root.m.set("self", root);
    root.m.set(root, "as key");
    root.m.set("inner", root.m);
    root.s.add(1);
    root.s.add(root);
    root.s.add(root.s);
    const back = roundTrip(root) as typeof root;
    expect(back.m.get("self")).toBe(back);
    expect([...back.m.keys()][1]).toBe(back);
    expect(back.m.get(back)).toBe("as key");
    expect(back.m.get("inner")).toBe(back.m);
    expect([...back.s]).toEqual([1, back, back.s]);
    expect([...back.s][1]).toBe(back);
    expect([...back.s][2]).toBe(back.s);
    // Insertion order is kept.
    expect([...back.m.keys()].map((k) => (k === back ? "root" : k))).toEqual(["self", "root", "inner"]);
  });
});

/** Every value the codec supports, nested; no object appears twice (cycles are added afterwards). */
const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.string(),
    fc.double(),
    fc.constantFrom(Number.NaN, -0, Infinity, -Infinity),
    fc.bigInt(),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array({ maxLength: 4 }),
    fc.string().map((t) => ({ $t: t })),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("__proto__", "$t")), tie("value"), { maxKeys: 4 }),
    fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(tie("value"), { maxLength: 3 }).map((items) => new Set(items)),
  ),
})).value;

/** Containers of a tree, each with its ancestors (itself included). */
function containers(
  value: unknown,
  ancestors: object[] = [],
  out: { node: object; ancestors: object[] }[] = [],
): typeof out {
  if (value === null || typeof value !== "object" || value instanceof Date || ArrayBuffer.isView(value)) return out;
  const chain = [...ancestors, value];
  out.push({ node: value, ancestors: chain });
  const children = value instanceof Map ? [...value].flat() : value instanceof Set ? [...value] : Object.values(value);
  for (const child of children) containers(child, chain, out);
  return out;
}

/** Points some containers back at one of their ancestors: the cycles, through objects, arrays, Map keys and values and Sets. */
function addCycles(value: unknown, choices: readonly [number, number, number][]): unknown {
  const all = containers(value);
  if (all.length === 0) return value;
  for (const [i, j, k] of choices) {
    const { node, ancestors } = all[i % all.length] as (typeof all)[number];
    const target = ancestors[j % ancestors.length] as object;
    if (node instanceof Map) {
      if (k % 2 === 0) node.set(`cycle${k}`, target);
      else node.set(target, k);
    } else if (node instanceof Set) node.add(target);
    else if (Array.isArray(node)) node.push(target);
    else
      Object.defineProperty(node, k % 3 === 0 ? "__proto__" : `cycle${k}`, {
        value: target,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return value;
}

/** Deep equality that also checks identity: each original object maps to exactly one decoded object, so a cycle comes back as a cycle. */
function sameShape(a: unknown, b: unknown, pairs = new Map<object, object>()): boolean {
  if (typeof a !== typeof b) return false;
  if (a === null || typeof a !== "object") return Object.is(a, b);
  if (b === null || typeof b !== "object") return false;
  const known = pairs.get(a);
  if (known !== undefined) return known === b;
  pairs.set(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (ArrayBuffer.isView(a)) return Buffer.from(a as Uint8Array).equals(Buffer.from(b as Uint8Array));
  const listOf = (v: object): unknown[] =>
    v instanceof Map ? [...v].flat() : v instanceof Set ? [...v] : Array.isArray(v) ? v : Object.entries(v).flat();
  const la = listOf(a);
  const lb = listOf(b);
  return la.length === lb.length && la.every((x, i) => sameShape(x, lb[i], pairs));
}

describe("JSON-safe codec: property", () => {
  test("decode(encode(x)) has the same shape and the same cycles as x, for any supported value", () => {
    fc.assert(
      fc.property(anyValue, fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { maxLength: 4 }), (tree, choices) => {
        // A fresh copy each time: fast-check reuses generated values while it shrinks, and cycles are added in place.
        const value = addCycles(structuredClone(tree), choices);
        expect(sameShape(value, roundTrip(value))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("JSON-safe codec: values it cannot carry faithfully are errors, never lossy copies", () => {
  function refusal(value: unknown, options: Parameters<typeof encode>[1]): TrellisError {
    try {
      encode(value, options);
    } catch (error) {
      if (error instanceof TrellisError) return error;
      throw error;
    }
    throw new Error("encode() accepted the value");
  }

  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }

  test("a Promise is refused with the path and a hint at the missing await", () => {
    const error = refusal(
      { items: [1, Promise.resolve(2)] },
      { strict: true, role: "output", label: "output of root" },
    );
    expect(error.code).toBe(ErrorCodes.UNENCODABLE_OUTPUT);
    expect(error.details["path"]).toBe("output of root.items[1]");
    expect(error.message).toContain("a Promise");
    expect(error.message).toContain("await");
  });

  test("a class instance with methods, a WeakMap and a stream are refused; the role picks the code", () => {
    const point = refusal({ p: new Point(3, 4) }, { strict: true, role: "inputs", label: "inputs of sq" });
    expect(point.code).toBe(ErrorCodes.UNENCODABLE_INPUT);
    expect(point.details["path"]).toBe("inputs of sq.p");
    expect(point.message).toContain("Point");
    expect(point.message).toContain("norm");
    expect(refusal(new WeakMap(), { strict: true }).code).toBe(ErrorCodes.NOT_SERIALIZABLE);
    expect(refusal({ s: Readable.from(["a"]) }, { strict: true, role: "output" }).code).toBe(
      ErrorCodes.UNENCODABLE_OUTPUT,
    );
    expect(refusal({ when: new URL("https://example.com") }, { strict: true }).message).toContain("URL");
  });

  test("an instance of a data-only class is written as its own fields; plain and null-prototype objects as themselves", () => {
    class Row {
      constructor(readonly id: number) {}
    }
    expect(encode({ r: new Row(7) })).toEqual({ r: { id: 7 } });
    const bare = Object.assign(Object.create(null) as object, { a: [1] });
    expect(encode(bare)).toEqual({ a: [1] });
  });

  test("lenient mode (log fields) keeps the line: the class name and its own fields", () => {
    expect(encode({ p: new Point(1, 2), q: Promise.resolve() }, { strict: false })).toEqual({
      p: { $t: "instance", class: "Point", v: { x: 1, y: 2 } },
      q: { $t: "instance", class: "Promise", v: {} },
    });
    expect(roundTrip({ p: new Point(1, 2) })).toEqual({ p: { x: 1, y: 2 } });
  });
});
