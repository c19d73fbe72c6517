/**
 * Loading TypeScript workflow modules. Trellis itself is plain JavaScript
 * (dist/); a TypeScript loader (tsx) is registered only when a `.ts` module is
 * about to be imported, in the CLI and in each worker whose run has one, so a
 * `.js`/`.mjs` workflow never pays for it (registering tsx costs ~0.3 s of CPU).
 */

/** Extensions that need a TypeScript loader. */
const TYPESCRIPT = /\.[cm]?tsx?$/;

/** True when `pathOrUrl` (a path or a `file:` URL, with or without a query) names a TypeScript file. */
export function isTypeScriptModule(pathOrUrl: string): boolean {
  return TYPESCRIPT.test(pathOrUrl.replace(/[?#].*$/, ""));
}

let registered: Promise<void> | undefined;

/**
 * Registers tsx in this thread, once: its ESM loader and its `require` hook,
 * since a `.ts` file in a `"type": "commonjs"` project is a CommonJS module.
 * Idempotent; cheap after the first call.
 *
 * tsx's `require` hook would compile a second, CommonJS copy of Trellis for
 * such a module's `require("trellis")`; importing the package entry first
 * publishes this instance for `index.cjs` to hand out instead. The caller
 * (the CLI, a worker's entry) passes that import as `loadPackageEntry`: the
 * entry sits above this layer, so this module does not import it.
 */
export function useTypeScriptLoader(loadPackageEntry: () => Promise<unknown>): Promise<void> {
  registered ??= Promise.all([import("tsx/esm/api"), import("tsx/cjs/api"), loadPackageEntry()]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
  });
  return registered;
}
