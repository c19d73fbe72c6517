/**
 * Whether a module is the program's entry: what `runIfMain` and a workflow's
 * own `if (isMain(import.meta.url))` ask. A module of its own, light to
 * import, because every worker loads the package entry that exports it.
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inWorker } from "./worker-flag.ts";

/** True when the module at `importMetaUrl` is the program's entry (and not loaded by a worker). */
export function isMain(importMetaUrl: string): boolean {
  if (inWorker()) return false;
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    const here = realpathSync(fileURLToPath(importMetaUrl));
    const main = realpathSync(resolve(entry));
    return here === main || pathToFileURL(main).href === importMetaUrl;
  } catch {
    return false;
  }
}
