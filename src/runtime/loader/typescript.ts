/**
 * Loading TypeScript workflow modules. Trellis itself is plain JavaScript
 * (dist/); a TypeScript loader (tsx) is registered only when a `.ts` module is
 * about to be imported, in the CLI and in each worker whose run has one, so a
 * `.js`/`.mjs` workflow never pays for it (registering tsx costs ~0.3 s of CPU).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Extensions that need a TypeScript loader. */
const TYPESCRIPT = /\.[cm]?tsx?$/;

function pathOf(pathOrUrl: string): string {
  const bare = pathOrUrl.replace(/[?#].*$/, "");
  return bare.startsWith("file:") ? fileURLToPath(bare) : bare;
}

/** True when `pathOrUrl` (a path or a `file:` URL, with or without a query) names a TypeScript file. */
export function isTypeScriptModule(pathOrUrl: string): boolean {
  return TYPESCRIPT.test(pathOrUrl.replace(/[?#].*$/, ""));
}

/** The `type` of the package.json nearest to `file`, or undefined. */
function packageType(file: string): unknown {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { type?: unknown }).type;
    } catch {
      // none here (or unreadable): look further up
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * True when `pathOrUrl` is TypeScript that Node treats as CommonJS: a `.cts`
 * file, or a `.ts`/`.tsx` file whose package.json does not say
 * `"type": "module"` (what `npm init -y` writes is `"commonjs"`).
 */
export function isCommonJsTypeScript(pathOrUrl: string): boolean {
  const path = pathOf(pathOrUrl);
  if (/\.cts$/.test(path)) return true;
  return /\.tsx?$/.test(path) && packageType(path) !== "module";
}

let esm: Promise<void> | undefined;
let cjs: Promise<void> | undefined;

/**
 * Registers tsx in this thread for the modules about to be loaded, once:
 * its ESM loader always, and its `require` hook too when one of them is
 * CommonJS TypeScript. Idempotent; cheap after the first call.
 *
 * tsx's `require` hook would compile a second, CommonJS copy of Trellis for
 * such a module's `require("trellis")`; importing the package entry first
 * publishes this instance for `index.cjs` to hand out instead.
 */
export async function useTypeScriptLoader(modules: readonly string[]): Promise<void> {
  esm ??= import("tsx/esm/api").then(({ register }) => {
    register();
  });
  await esm;
  if (!modules.some(isCommonJsTypeScript)) return;
  cjs ??= Promise.all([import("tsx/cjs/api"), import("../../index.ts")]).then(([{ register }]) => {
    register();
  });
  await cjs;
}
