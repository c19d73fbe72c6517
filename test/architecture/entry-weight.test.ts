// Every worker thread or process imports the package entry (a workflow's
// `import { task } from "trellis"`), so what the entry loads statically is
// paid once per worker at start-up. The engine, the drawing of logs, the
// reporting, the CLI and the bullmq executor load on first call (index.ts);
// this test fails when a static import brings one of them back.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");

/**
 * The relative modules `file` imports statically: `import … from "./x.js"`,
 * `export … from "./x.js"` and `import "./x.js"`, as tsc emits them (one
 * statement each, possibly over several lines). `import("./x.js")` is not
 * matched: it loads on call.
 */
function staticImports(file: string): string[] {
  const source = readFileSync(file, "utf8");
  const found = [
    ...source.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gm),
    ...source.matchAll(/^import\s+"(\.{1,2}\/[^"]+)"/gm),
  ];
  return found.map((m) => resolve(dirname(file), m[1] ?? ""));
}

/** Every module of dist/ that importing `entry` loads, as paths relative to dist/. */
function loadedBy(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const next of staticImports(file)) visit(next);
  };
  visit(join(dist, entry));
  return new Set([...seen].map((f) => relative(dist, f)));
}

describe("the package entry stays light", () => {
  const loaded = loadedBy("index.js");

  it("reads the static imports of the compiled entry (the walk finds the task API)", () => {
    expect(loaded).toContain("task/define.js");
    expect(loaded).toContain("errors.js");
  });

  it("does not load the engine, log drawing, reporting, CLI or bullmq executor until they are called", () => {
    const heavy = [...loaded].filter((m) =>
      /^(runtime\/(engine|run|resume|step-loop|committer)\.js|render\/(render-log|render-preview)\.js|report\/run-and-report\.js|cli\/|view\/|runtime\/bullmq\/)/.test(
        m,
      ),
    );
    expect(heavy).toEqual([]);
  });

  it("loads fewer than 60 modules with a worker's own", () => {
    const worker = loadedBy("runtime/worker/worker-main.js");
    const all = new Set([...loaded, ...worker]);
    expect(all.size).toBeLessThan(60);
  });
});
