/**
 * Creating an output folder without trusting `mkdirSync(..., { recursive: true })`:
 * on Node 20 that call loops forever at 100 % CPU when a parent refuses the
 * new entry with ENOENT (`/proc/x`: `/proc` exists, yet nothing can be made
 * in it). Here each missing folder is made one at a time, top down, so any
 * refusal is an error at once. Shared by the event log writer, snapshots and
 * previews (events/ is the lowest layer that writes files).
 */
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * Makes `dir` and its missing parents, then checks that it can be written.
 * Returns the absolute path.
 * @throws Error (with the errno `code`) naming the folder that could not be made,
 *   or `ENOTDIR` when a part of the path is a file.
 */
export function ensureWritableDir(dir: string): string {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let cur = target; ; ) {
    let isDir: boolean;
    try {
      isDir = statSync(cur).isDirectory();
    } catch (error) {
      if (errno(error) !== "ENOENT") throw error;
      missing.push(cur);
      const up = dirname(cur);
      if (up === cur) break;
      cur = up;
      continue;
    }
    if (!isDir)
      throw Object.assign(new Error(`ENOTDIR: ${cur} is a file, not a folder`), { code: "ENOTDIR", path: cur });
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (error) {
      // Made meanwhile by someone else: fine if it is a folder.
      if (!(errno(error) === "EEXIST" && statSync(d).isDirectory())) throw error;
    }
  }
  accessSync(target, constants.W_OK);
  return target;
}
