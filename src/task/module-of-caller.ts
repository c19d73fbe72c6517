/**
 * Finds the file that called `task()`, so a worker can import the same module
 * and find the definition by name.
 *
 * Reads V8's structured call sites rather than the text of a stack: a frame's
 * file is then a path or URL as the module loader named it, never a guess
 * parsed out of `node:internal/...` or a `file:///...:12:3` suffix. Trellis's
 * own frames (src/ or dist/) and Node's internals are skipped; a module under
 * `node_modules/` counts like any other (a workflow library installed as a
 * dependency defines its tasks there).
 */
import { pathToFileURL } from "node:url";

/** Trellis's own folder: src/ in the sources, dist/ in the package. */
const OWN_DIR = new URL("..", import.meta.url).href;
/** The compiled demos live in dist/demos/ but are workflow modules like any user's. */
const DEMO_DIR = new URL("../demos/", import.meta.url).href;

function isOwn(url: string): boolean {
  return url.startsWith(OWN_DIR) && !url.startsWith(DEMO_DIR);
}

function toUrl(file: string): string | null {
  if (file.startsWith("file://")) return file;
  if (file.startsWith("/")) return pathToFileURL(file).href;
  return null; // node:internal/..., evalmachine, native
}

/** The files of the current stack, innermost first. */
function stackFiles(): (string | null)[] {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 50;
    Error.prepareStackTrace = (_error, sites) => sites.map((s) => s.getFileName() ?? null);
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, stackFiles);
    return Array.isArray(holder.stack) ? (holder.stack as (string | null)[]) : [];
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** URL of the innermost frame outside Trellis itself, or null. */
export function moduleOfCaller(): string | null {
  for (const file of stackFiles()) {
    if (file === null) continue;
    const url = toUrl(file);
    if (url === null || isOwn(url)) continue;
    return url;
  }
  return null;
}
