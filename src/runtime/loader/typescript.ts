/**
 * Loading workflow modules, TypeScript included. Trellis itself is plain
 * JavaScript (dist/), so a `.js`/`.mjs` workflow loads with no TypeScript
 * loader at all. A `.ts` module is imported:
 *
 * - with Node's own type stripping where this Node has it (22.18+, 24, 26)
 *   and the module is an ES module: no loader to start;
 * - through tsx otherwise (Node 20; CommonJS TypeScript; and, as a fallback,
 *   whatever type stripping refuses: `enum`s, `.js` specifiers that name
 *   `.ts` files, TypeScript under node_modules/). tsx is registered only then,
 *   in the thread that needs it (the CLI, or a worker), since registering it
 *   costs ~0.3 s of CPU per thread on Node 20.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Extensions that need a TypeScript loader. */
const TYPESCRIPT = /\.[cm]?tsx?$/;

/** `pathOrUrl` without its query or fragment. */
function bare(pathOrUrl: string): string {
  return pathOrUrl.replace(/[?#].*$/, "");
}

/** True when `pathOrUrl` (a path or a `file:` URL, with or without a query) names a TypeScript file. */
export function isTypeScriptModule(pathOrUrl: string): boolean {
  return TYPESCRIPT.test(bare(pathOrUrl));
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
  const file = bare(pathOrUrl);
  const path = file.startsWith("file:") ? fileURLToPath(file) : file;
  if (/\.cts$/.test(path)) return true;
  return /\.tsx?$/.test(path) && packageType(path) !== "module";
}

/** This Node strips types from `.ts` files by itself (`process.features.typescript`, Node 22.18+). */
const NATIVE = Boolean((process.features as { typescript?: unknown }).typescript);

/**
 * Errors with which type stripping refuses a module that tsx can load; they
 * all happen before any module of the graph is evaluated, so loading it again
 * through tsx runs nothing twice.
 */
const NEEDS_LOADER = new Set([
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX",
  "ERR_INVALID_TYPESCRIPT_SYNTAX",
  "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING",
  "ERR_MODULE_NOT_FOUND",
  "ERR_UNKNOWN_FILE_EXTENSION",
]);

/** Query added to a module's URL when it is loaded again through tsx (its tasks' `module` then carries it to the workers). */
const TSX_MARK = "trellis-tsx";

/**
 * Imports a workflow or task module (`url` a `file:` URL): natively when it is
 * JavaScript or type stripping can take it, else through tsx (see above).
 * `loadPackageEntry` imports Trellis's own entry (index), loaded before tsx
 * is (see {@link useTypeScriptLoader}). Errors of the module itself
 * are thrown as they come.
 */
export async function importModule(
  url: string,
  loadPackageEntry: () => Promise<unknown>,
): Promise<Record<string, unknown>> {
  if (!isTypeScriptModule(url)) return (await import(url)) as Record<string, unknown>;
  const commonJs = isCommonJsTypeScript(url); // reads package.json files: once per module
  if (NATIVE && !commonJs && !url.includes(TSX_MARK)) {
    try {
      return (await import(url)) as Record<string, unknown>;
    } catch (error) {
      if (!NEEDS_LOADER.has(String((error as { code?: unknown } | null)?.code))) throw error;
    }
    // The failed attempt stays in the module cache under `url`: ask for a fresh one.
    await useTypeScriptLoader(false, loadPackageEntry);
    return (await import(`${url}${url.includes("?") ? "&" : "?"}${TSX_MARK}`)) as Record<string, unknown>;
  }
  await useTypeScriptLoader(commonJs, loadPackageEntry);
  return (await import(url)) as Record<string, unknown>;
}

/**
 * Gets this thread ready to import TypeScript modules before it knows them:
 * tsx's ESM loader where this Node cannot strip types itself, after Trellis's
 * own entry (see {@link useTypeScriptLoader}).
 */
export async function prepareTypeScript(loadPackageEntry: () => Promise<unknown>): Promise<void> {
  await (NATIVE ? loadPackageEntry() : useTypeScriptLoader(false, loadPackageEntry));
}

let esm: Promise<void> | undefined;
let cjs: Promise<void> | undefined;

/**
 * Registers tsx in this thread, once: its ESM loader always, and its
 * `require` hook too when the module about to be loaded is CommonJS
 * TypeScript. Idempotent; cheap after the first call.
 *
 * tsx's `require` hook would compile a second, CommonJS copy of Trellis for
 * such a module's `require("trellis")`; importing the package entry first
 * publishes this instance for `index.cjs` to hand out instead. The caller
 * (the CLI, a worker's entry) passes that import as `loadPackageEntry`: the
 * entry sits above this layer, so this module does not import it.
 */
async function useTypeScriptLoader(commonJs: boolean, loadPackageEntry: () => Promise<unknown>): Promise<void> {
  // Trellis itself first, before the loader: once registered, tsx's hooks
  // (a thread of their own on Node 20) resolve and load every module imported
  // after, and the ~90 modules of the package entry, which a workflow's
  // `import "trellis"` brings in, cost ~0.3 s of wall time per thread that way.
  esm ??= loadPackageEntry()
    .then(() => import("tsx/esm/api"))
    .then(({ register }) => {
      register();
    });
  await esm;
  if (!commonJs) return;
  cjs ??= Promise.all([import("tsx/cjs/api"), loadPackageEntry()]).then(([{ register }]) => {
    register();
  });
  await cjs;
}
