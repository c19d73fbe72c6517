/**
 * The results cache on disk: one JSON file per key,
 * `<dir>/<first two hex characters>/<key>.json`, holding
 * `{ format, key, task, output }` with the output in the codec's encoding
 * (what the event log holds). Written whole to a temporary file and renamed,
 * so a reader (another run sharing the folder) sees a whole entry or none.
 * Deleting the folder, or any entry, clears it.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Json } from "../../events/codec.ts";
import { CACHE_FORMAT } from "./key.ts";

/** What a lookup found: an output, nothing, or an entry that could not be used (the run goes on as for a miss). */
export type Lookup = { readonly found: true; readonly output: Json } | { readonly found: false; readonly problem: string | null };

const MISS: Lookup = { found: false, problem: null };

export class CacheStore {
  constructor(
    /** Absolute path of the cache folder. */
    readonly dir: string,
  ) {}

  /** The file of `key`. */
  pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The entry under `key`; an unreadable or malformed one is a miss with the problem named. */
  read(key: string, task: string): Lookup {
    const path = this.pathOf(key);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return MISS;
      return { found: false, problem: `cannot read ${path}: ${(error as Error).message}` };
    }
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch (error) {
      return { found: false, problem: `${path} is not JSON (${(error as Error).message})` };
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return { found: false, problem: `${path} does not hold a cache entry object` };
    const e = entry as Record<string, unknown>;
    if (e["format"] !== CACHE_FORMAT) return { found: false, problem: `${path} has format ${JSON.stringify(e["format"]) ?? "none"}, expected ${JSON.stringify(CACHE_FORMAT)}` };
    if (e["key"] !== key || e["task"] !== task || !("output" in e)) return { found: false, problem: `${path} is not the entry of ${task} under this key` };
    return { found: true, output: e["output"] as Json };
  }

  /** Stores `output` under `key`, atomically (temporary file, then rename). Throws when the folder cannot be written. */
  write(key: string, task: string, output: Json): void {
    const path = this.pathOf(key);
    mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true });
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ format: CACHE_FORMAT, key, task, output }));
      renameSync(tmp, path);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw error;
    }
  }
}
