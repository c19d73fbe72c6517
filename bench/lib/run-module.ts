/**
 * Child-side runner for bench modules written by other helpers
 * (`bench/promise-validation.ts`, `bench/snapshots.ts`): imports the module,
 * finds its row function, calls it with `{ quick }` and prints what it
 * returned on the result line. Run by `bench/lib/foreign.ts`.
 *
 *   npx tsx bench/lib/run-module.ts bench/snapshots.ts [--quick]
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { printResult } from "./cli.ts";

type Fn = (options: { quick: boolean }) => unknown;

/** The row function of a module: an export named like `...Rows`, else `default`, `rows`, `run`, `bench`, `main`, else its only function. */
export function pickFunction(mod: Record<string, unknown>): { name: string; fn: Fn } | null {
  const fns = Object.entries(mod).filter((e): e is [string, Fn] => typeof e[1] === "function");
  const named = fns.find(([k]) => /rows$/i.test(k));
  if (named) return { name: named[0], fn: named[1] };
  for (const k of ["default", "rows", "run", "bench", "main"]) {
    const hit = fns.find(([name]) => name === k);
    if (hit) return { name: hit[0], fn: hit[1] };
  }
  const only = fns.length === 1 ? fns[0] : undefined;
  return only ? { name: only[0], fn: only[1] } : null;
}

const file = process.argv[2];
if (!file) throw new Error("usage: run-module.ts <bench file> [--quick]");
const mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
const picked = pickFunction(mod);
if (!picked)
  throw new Error(`${file} exports no function returning rows (exports: ${Object.keys(mod).join(", ") || "none"})`);
const value = await picked.fn({ quick: process.argv.includes("--quick") });
printResult({ exportName: picked.name, value });
