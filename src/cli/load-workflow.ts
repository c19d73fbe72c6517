/**
 * Loads a workflow module named on the command line and finds what to run:
 * its entry task, its inputs and its run options. Every way this can go wrong
 * is a {@link CliError} with one line that says what to change.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyTask } from "../task/define.ts";
import { isTaskDefinition } from "../task/define.ts";
import { importModule } from "../runtime/loader/typescript.ts";
import { registry } from "../task/registry.ts";
import { CliError } from "./cli-error.ts";
import { ExitCodes } from "../report/exit-codes.ts";

/** A loaded workflow module. */
export interface WorkflowModule {
  /** As typed on the command line. */
  readonly spec: string;
  /** Absolute path. */
  readonly path: string;
  /** File name without its extension: `map_reduce` for `demos/map_reduce.ts`. */
  readonly name: string;
  readonly exports: Readonly<Record<string, unknown>>;
}

/** Collapses a multi-line message (esbuild, TypeScript) into one line, capped. */
function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}

/** Imports `spec` (a `.ts`, `.mts`, `.js` or `.mjs` file, relative to `cwd`). */
export async function loadWorkflowModule(spec: string, cwd = process.cwd()): Promise<WorkflowModule> {
  const path = resolve(cwd, spec);
  if (!existsSync(path))
    throw new CliError(
      ExitCodes.NO_INPUT,
      `cannot find the workflow module "${spec}" (looked for ${path}); check the path, which is relative to the current folder`,
    );
  if (statSync(path).isDirectory())
    throw new CliError(
      ExitCodes.NO_INPUT,
      `"${spec}" is a folder, not a workflow module; name a .ts or .js file, e.g. trellis run ${relative(cwd, path) || "."}/main.ts`,
    );
  let exports: Record<string, unknown>;
  try {
    exports = commonJsExports(await importModule(pathToFileURL(path).href, () => import("../index.ts")));
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ERR_MODULE_NOT_FOUND")
      throw new CliError(
        ExitCodes.NO_INPUT,
        `"${spec}" could not be loaded: ${errorText(error)}; install or fix that import`,
        { cause: error },
      );
    if (/top-level await/i.test(errorText(error)) && /cjs|commonjs/i.test(errorText(error)))
      throw new CliError(
        ExitCodes.DATA,
        `"${spec}" uses top-level await, but it is a CommonJS module (its package.json has no "type": "module"); rename it to .mts (or .mjs), or add "type": "module" to package.json`,
        { cause: error },
      );
    throw new CliError(
      ExitCodes.DATA,
      `"${spec}" could not be loaded: ${errorText(error)}; fix the module and try again`,
      { cause: error },
    );
  }
  return { spec, path, name: basename(path).replace(/\.[cm]?[jt]sx?$/, ""), exports };
}

/**
 * The exports of a CommonJS workflow (a `.ts` file in a `"type": "commonjs"`
 * project, compiled to `exports.x = ...`): `import()` gives its
 * `module.exports` as `default`, so read the names from there.
 */
function commonJsExports(ns: Record<string, unknown>): Record<string, unknown> {
  const cjs = ns["default"];
  if (typeof cjs === "object" && cjs !== null && (cjs as { __esModule?: unknown }).__esModule === true)
    return { ...ns, ...(cjs as Record<string, unknown>) };
  return ns;
}

/** Task definitions a module exports, as `exportName → definition`. */
function exportedTasks(mod: WorkflowModule): [string, AnyTask][] {
  return Object.entries(mod.exports).filter((e): e is [string, AnyTask] => isTaskDefinition(e[1]));
}

function taskList(mod: WorkflowModule): string {
  const names = [...new Set(exportedTasks(mod).map(([, def]) => def.name))];
  return names.length > 0 ? names.join(", ") : "none";
}

/**
 * The task to run: `--task NAME` (a named export that is a task, or the name
 * of a registered task), else the module's default export.
 */
export function pickEntry(mod: WorkflowModule, taskName?: string): AnyTask {
  if (taskName !== undefined) {
    const exported = mod.exports[taskName];
    if (isTaskDefinition(exported)) return exported;
    const registered = registry.get(taskName);
    if (registered) return registered;
    throw new CliError(
      ExitCodes.USAGE,
      `unknown task "${taskName}": "${mod.spec}" neither exports nor registers it; pass --task with one of: ${taskList(mod)}`,
    );
  }
  const entry = mod.exports["default"];
  if (isTaskDefinition(entry)) return entry;
  if (entry !== undefined)
    throw new CliError(
      ExitCodes.USAGE,
      `the default export of "${mod.spec}" is not a task (it is a ${typeof entry}); export default a task made with task(), or pass --task NAME (tasks: ${taskList(mod)})`,
    );
  throw new CliError(
    ExitCodes.USAGE,
    `"${mod.spec}" has no entry task; add \`export default <task>\` to it, or pass --task NAME (tasks it exports: ${taskList(mod)})`,
  );
}

/** The inputs of a run, and a note for the terminal when the module's `inputs` export was left out on purpose. */
export interface PickedInputs {
  readonly inputs: unknown;
  readonly note: string | null;
}

/**
 * The inputs of the run: `--input` (JSON, or `@file.json`); else the module's
 * `inputs` export when `entry` is the module's default export (the export
 * belongs to the default entry: another task run with `--task` has other
 * inputs); else `{}`, with a note when an `inputs` export was passed over.
 */
export function pickInputs(
  mod: WorkflowModule,
  raw: string | undefined,
  entry: AnyTask,
  cwd = process.cwd(),
): PickedInputs {
  if (raw !== undefined) return { inputs: parseInputFlag(raw, cwd), note: null };
  const exported = mod.exports["inputs"];
  if (exported === undefined) return { inputs: {}, note: null };
  const main = mod.exports["default"];
  if (main === entry) return { inputs: exported, note: null };
  const owner = isTaskDefinition(main) ? `the default entry, ${main.name}` : "the default entry";
  return {
    inputs: {},
    note: `${entry.name} runs with {} as its inputs: the \`inputs\` export of "${mod.spec}" is for ${owner}; pass --input '{...}' to give ${entry.name} its own`,
  };
}

/** `--input JSON` or `--input @file.json`. */
function parseInputFlag(raw: string, cwd: string): unknown {
  let text = raw;
  let where = "--input";
  if (raw.startsWith("@")) {
    const file = resolve(cwd, raw.slice(1));
    if (!existsSync(file) || statSync(file).isDirectory())
      throw new CliError(
        ExitCodes.NO_INPUT,
        `cannot find the input file "${raw.slice(1)}" named by --input ${raw}; check the path`,
      );
    text = readFileSync(file, "utf8");
    where = `the input file "${raw.slice(1)}"`;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(
      ExitCodes.DATA,
      `${where} is not valid JSON (${errorText(error)}); pass a JSON value, e.g. --input '{"numbers":[1,2,3]}' or --input @inputs.json`,
    );
  }
}

/** Run options the module exports as `options` (e.g. `{ onViolation: "reject" }`), or `{}`. */
export function moduleOptions(mod: WorkflowModule): Record<string, unknown> {
  const options = mod.exports["options"];
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new CliError(
      ExitCodes.USAGE,
      `the \`options\` export of "${mod.spec}" must be an object of run options (e.g. { onViolation: "reject" }), got ${Array.isArray(options) ? "an array" : typeof options}`,
    );
  return options as Record<string, unknown>;
}
