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
 * publishes this instance for `index.cjs` to hand out instead.
 */
export function useTypeScriptLoader(): Promise<void> {
  registered ??= Promise.all([import("tsx/esm/api"), import("tsx/cjs/api"), import("../../index.ts")]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
  });
  return registered;
}
