/**
 * Finds the file that called `task()`, so a worker can import the same module
 * and find the definition by name.
 */
import { pathToFileURL } from "node:url";

const OWN_DIR = new URL("..", import.meta.url).pathname; // src/

function toUrl(location: string): string | null {
  if (location.startsWith("file://")) return location;
  if (location.startsWith("/")) return pathToFileURL(location).href;
  return null;
}

/** URL of the first stack frame outside Trellis's own `src/`, or null. */
export function moduleOfCaller(): string | null {
  const stack = new Error().stack ?? "";
  for (const line of stack.split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+(?:\.[cm]?[jt]sx?)?)(?::\d+){0,2}\)?\s*$/.exec(line.trim());
    if (!m || m[1] === undefined) continue;
    const url = toUrl(m[1]);
    if (!url) continue;
    const path = new URL(url).pathname;
    if (path.startsWith(OWN_DIR) || path.includes("/node_modules/")) continue;
    return url;
  }
  return null;
}
