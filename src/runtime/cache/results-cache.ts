/**
 * One run's use of the results cache: which definitions it covers, the key
 * of each instance about to start (kept until it succeeds, so its output is
 * stored under the key its inputs had), and the store. Owned by the run's
 * engine; two runs in one process share nothing but the folder.
 *
 * What is stored: the output of an instance of a covered definition that
 * succeeded without spawning a child. A parent's output depends on its
 * children's code, which its key does not cover; so a parent runs again in
 * every run, and its children hit the cache on their own (docs/concepts.md).
 */
import { resolve } from "node:path";
import type { Json } from "../../events/codec.ts";
import type { AnyTask } from "../../task/types.ts";
import { cacheKey, codeIdentity, usesCache } from "./key.ts";
import type { Lookup } from "./store.ts";
import { CacheStore } from "./store.ts";

/** Where `cache: true` definitions keep their outputs when the run names no folder: `.trellis-cache/` in the current directory. */
export const DEFAULT_CACHE_DIR = ".trellis-cache";

/** The `code` of the `task.warning`s the cache writes. */
export const CacheWarnings = {
  /** An entry could not be read or is malformed: the instance ran as on a miss (its new output replaces the entry). */
  UNREADABLE: "CACHE_UNREADABLE",
  /** A succeeded output could not be written to the cache folder. */
  WRITE: "CACHE_WRITE",
  /** A definition with `cache: true` spawned children: its output is not stored. */
  NOT_STORED: "CACHE_NOT_STORED",
} as const;

export class ResultsCache {
  readonly store: CacheStore;
  readonly #all: boolean;
  /** The code identity of each definition used so far, by name (hashing a function's source once per run). */
  readonly #code = new Map<string, Json>();
  /** The key of each instance that is running after a miss, by id. */
  readonly #keys = new Map<string, string>();
  #writing = 0;
  #idle: (() => void)[] = [];

  /**
   * @param dir the cache folder (made on the first write)
   * @param all cache every definition that does not say `cache: false` (`--cache <dir>`); else only those with `cache: true`
   */
  constructor(dir: string, all: boolean) {
    this.store = new CacheStore(resolve(dir));
    this.#all = all;
  }

  /** True when instances of `def` use the cache in this run. */
  covers(def: AnyTask): boolean {
    return usesCache(def, this.#all);
  }

  /** Looks up an instance of `def` about to start with `inputs` (resolved); on a miss, its key is kept for {@link takeKey}. */
  lookup(id: string, def: AnyTask, inputs: Json): Lookup & { readonly key: string } {
    let code = this.#code.get(def.name);
    if (code === undefined) this.#code.set(def.name, (code = codeIdentity(def)));
    const key = cacheKey(def.name, code, inputs);
    const found = this.store.read(key, def.name);
    if (!found.found) this.#keys.set(id, key);
    return { ...found, key };
  }

  /** The key an instance that ran was looked up under (once: it is forgotten). */
  takeKey(id: string): string | undefined {
    const key = this.#keys.get(id);
    if (key !== undefined) this.#keys.delete(id);
    return key;
  }

  /**
   * Stores a succeeded output in the background; `failed` hears what went
   * wrong, if anything. {@link whenWritten} tells when every write ended.
   */
  save(key: string, task: string, output: Json, failed: (message: string) => void): void {
    this.#writing++;
    this.store.write(key, task, output).then(
      () => this.#written(),
      (error: unknown) => {
        this.#written();
        failed(
          `could not store the output of ${task} in the results cache ${this.store.dir}: ${(error as Error).message}; the next run runs it again`,
        );
      },
    );
  }

  /** Writes started and not ended yet. */
  get writing(): number {
    return this.#writing;
  }

  /** Resolves when no write is in progress. */
  whenWritten(): Promise<void> {
    if (this.#writing === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #written(): void {
    if (--this.#writing > 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}
