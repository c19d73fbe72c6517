/**
 * The results cache on disk: one JSON file per key,
 * `<dir>/<first two hex characters>/<key>.json`, holding
 * `{ format, key, task, output }` with the output in the codec's encoding
 * (what the event log holds). Written whole to a temporary file and renamed,
 * so a reader (another run sharing the folder) sees a whole entry or none.
 * Deleting the folder, or any entry, clears it.
 */
import { readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Json } from "../../events/codec.ts";
import { CACHE_FORMAT } from "./key.ts";

/** What a lookup found: an output, nothing, or an entry that could not be used (the run goes on as for a miss). */
export type Lookup =
  | { readonly found: true; readonly output: Json }
  | { readonly found: false; readonly problem: string | null };

const MISS: Lookup = { found: false, problem: null };

export class CacheStore {
  /** Shard folders made (or found) by this store: each is made once. */
  readonly #shards = new Set<string>();
  /** Tells this store's temporary files from another process's (or another run's) writing the same key. */
  readonly #nonce = `${process.pid}-${randomBytes(4).toString("hex")}`;
  #written = 0;

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
      // Not there (ENOTDIR: the folder is a file; writing there is what reports it).
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return MISS;
      return { found: false, problem: `cannot read ${path}: ${(error as Error).message}` };
    }
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch (error) {
      return { found: false, problem: `${path} is not JSON (${(error as Error).message})` };
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      return { found: false, problem: `${path} does not hold a cache entry object` };
    const e = entry as Record<string, unknown>;
    if (e["format"] !== CACHE_FORMAT)
      return {
        found: false,
        problem: `${path} has format ${JSON.stringify(e["format"]) ?? "none"}, expected ${JSON.stringify(CACHE_FORMAT)}`,
      };
    if (e["key"] !== key || e["task"] !== task || !("output" in e))
      return { found: false, problem: `${path} is not the entry of ${task} under this key` };
    return { found: true, output: e["output"] as Json };
  }

  /**
   * Stores `output` under `key`, atomically (temporary file, then rename), off
   * the engine's thread: creating a file costs ~0.1-1 ms, too much to pay
   * synchronously per task. Rejects when the folder cannot be written.
   */
  async write(key: string, task: string, output: Json): Promise<void> {
    const shard = join(this.dir, key.slice(0, 2));
    if (!this.#shards.has(shard)) {
      await mkdir(shard, { recursive: true });
      this.#shards.add(shard);
    }
    const path = this.pathOf(key);
    const tmp = `${path}.${this.#nonce}-${++this.#written}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ format: CACHE_FORMAT, key, task, output }));
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }
}
