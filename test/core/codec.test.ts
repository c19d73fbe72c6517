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

  test("a flat plain object is copied, so later mutation does not change what was encoded", () => {
    const inputs = { x: 1 };
    const encoded = encode(inputs) as { x: number };
    inputs.x = 2;
    expect(encoded.x).toBe(1);
  });
});
