/**
 * The fingerprint of a task's inputs: what `task.created` records so that a
 * replayed spawn can be checked against the log (`NON_DETERMINISTIC`), and
 * what the results cache keys on.
 *
 * The hash is over the canonical text of the *encoded* inputs (`Json`, see
 * `codec.ts`): object keys sorted, so `{a, b}` and `{b, a}` hash alike; `From`
 * tags stay tags (a consumer's fingerprint names its producers, not their
 * outputs, which may not exist yet).
 *
 * It is a fast 64-bit fingerprint (two 32-bit multiply-xorshift lanes over
 * the UTF-16 code units), 16 hex characters: every spawn pays for it, and
 * node:crypto's SHA-256 costs ~5 µs per call on Node 20, half an inline
 * task. It detects a changed input, it does not resist a forger; the results
 * cache, which trusts a key across runs, uses SHA-256 on top of it.
 */
import type { Json } from "./codec.ts";

/** The 16-hex-character fingerprint of encoded inputs. */
export function inputsHash(inputs: Json): string {
  return hash64(canonicalJson(inputs));
}

/** Texts longer than this are not kept by {@link InputsHasher}'s one-entry memo. */
const MEMO_MAX_CHARS = 256;

/**
 * {@link inputsHash} for the spawns of one run, keeping the last short text
 * and its hash: a fan-out spawns many children with equal inputs, and they
 * then share one hash string instead of each building its own. The memo is
 * the run's (its `Creation` holds one), not the module's.
 */
export class InputsHasher {
  #text = "";
  #hash = hash64("");
  /**
   * The encoded object the last hash was of. Encoded values are never
   * changed once made (`codec.ts`), and every empty object encodes to one
   * shared object: a fan-out of `{}` inputs asks about the same object each
   * time and skips building its text.
   */
  #inputs: object | null = null;

  hash(inputs: Json): string {
    if (inputs === this.#inputs && inputs !== null) return this.#hash;
    const object = typeof inputs === "object" ? inputs : null;
    const text = canonicalJson(inputs);
    if (text === this.#text) {
      this.#inputs = object;
      return this.#hash;
    }
    const hash = hash64(text);
    if (text.length <= MEMO_MAX_CHARS) {
      this.#text = text;
      this.#hash = hash;
      this.#inputs = object;
    }
    return hash;
  }
}

/** A 64-bit non-cryptographic hash of a string, as 16 hex characters. */
export function hash64(text: string): string {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

/** JSON text with every object's keys in sorted order; arrays keep their order. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + canonicalJson(value[i] as Json);
    return out + "]";
  }
  const keys = Object.keys(value);
  if (keys.length > 1) keys.sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += (i > 0 ? "," : "") + JSON.stringify(k) + ":" + canonicalJson(value[k] as Json);
  }
  return out + "}";
}
