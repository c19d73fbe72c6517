/**
 * The results cache's key (docs/concepts.md, "Results cache"): what must be
 * the same for an earlier output to stand for a new run of an instance.
 * Pure: a function of the definition and the resolved inputs.
 *
 * The key is the SHA-256 of the canonical JSON (`canonicalJson`, sorted keys)
 * of `{ format, task, code, inputs }`:
 * - `task`: the definition's name;
 * - `code`: its `version` option when given, else the SHA-256 of its
 *   function's source text (`fn.toString()`): editing the function changes
 *   it, editing a helper it calls does not (bump `version` for that);
 * - `inputs`: the inputs the task sees, with every `From` replaced by its
 *   producer's output (so a consumer's key changes when an upstream output
 *   does, and only then);
 * - `format`: {@link CACHE_FORMAT}, bumped when what the key covers changes.
 *
 * Unlike the fast 64-bit `inputsHash` of the log, this key is trusted across
 * runs and machines sharing a folder, hence a cryptographic hash.
 */
import { createHash } from "node:crypto";
import type { Json } from "../../events/codec.ts";
import { canonicalJson } from "../../events/input-hash.ts";
import type { AnyTask } from "../../task/types.ts";

/** The version of the key and of the entry files; part of every key. */
export const CACHE_FORMAT = "trellis-cache/1";

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** What stands for a definition's code in the key: `{ version }` when it has one, else `{ source: <sha256 of fn.toString()> }`. */
export function codeIdentity(def: Pick<AnyTask, "fn" | "version">): Json {
  return def.version !== undefined ? { version: def.version } : { source: sha256(def.fn.toString()) };
}

/** The key (64 hex characters) of an instance of `task` whose code is `code` and whose resolved inputs are `inputs`. */
export function cacheKey(task: string, code: Json, inputs: Json): string {
  return sha256(canonicalJson({ format: CACHE_FORMAT, task, code, inputs }));
}

/**
 * Whether instances of `def` use the cache: its own `cache` option when set,
 * else whether the run caches every definition (`--cache <dir>`).
 */
export function usesCache(def: Pick<AnyTask, "cache">, runCachesAll: boolean): boolean {
  return def.cache ?? runCachesAll;
}
