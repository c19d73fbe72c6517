// The results cache across runs (docs/concepts.md, "Results cache"): a run
// reuses the outputs an earlier run stored for the same definition, code and
// resolved inputs, and logs `task.cached` instead of running them.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { AnyTask, RunResult, TrellisEvent } from "trellis";
import { ErrorCodes, From, buildDot, foldEvents, registry, run, task } from "trellis";
import { cacheFlaky, cachePipeline, cacheUnencodable } from "../../.tmp/fixtures/cache-pipeline.js";
import { classOf } from "../../dist/render/frames.js";
import { ProgressReporter } from "../../dist/report/progress.js";
import { describeEvent } from "../../dist/view/describe-event.js";
import { nodeDetails } from "../../dist/view/inspect.js";

const EXECUTORS = ["inline", "threads"] as const;

/** A fresh folder with an empty journal, a cache folder and a place for logs. */
function workspace(): { root: string; journal: string; cache: { dir: string } } {
  const root = mkdtempSync(join(tmpdir(), "trellis-cache-"));
  const journal = join(root, "journal.txt");
  writeFileSync(journal, "");
  return { root, journal, cache: { dir: join(root, "cache") } };
}

/** The ids the journal says ran, sorted; the journal is emptied for the next run. */
function takeJournal(journal: string): string[] {
  const ids = readFileSync(journal, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .sort();
  writeFileSync(journal, "");
  return ids;
}

function ids(result: RunResult<unknown>, type: TrellisEvent["type"]): string[] {
  return (result.events ?? [])
    .filter((e) => e.type === type)
    .map((e) => (e.data as { id: string }).id)
    .sort();
}

/** Every entry file under a cache folder. */
function entries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".json"))
    .map((f) => join(dir, f));
}

const ITEMS = [1, 2, 3, 4];
const FETCH = ITEMS.map((_, i) => `cache_pipeline/cache_fetch#${i + 1}`);
const TRANSFORM = ITEMS.map((_, i) => `cache_pipeline/cache_transform#${i + 1}`);
const SUMMARIZE = ["cache_pipeline/cache_summarize#1"];
const STAGES = [...FETCH, ...TRANSFORM, ...SUMMARIZE].sort();

// The engine is the same process on every executor; this holds it to that on each.
describe.each([...EXECUTORS, "processes"] as const)("a pipeline run twice with one cache (%s executor)", (executor) => {
  const options = { executor, workers: 2, keepEvents: true } as const;

  test("a second run of a 3-stage pipeline runs no stage: every stage instance is task.cached, with the same outputs", async () => {
    const w = workspace();
    const inputs = { journal: w.journal, items: ITEMS };
    const first = await run(cachePipeline, inputs, {
      ...options,
      cache: w.cache,
      out: join(w.root, "out-1"),
      snapshots: "none",
    });
    expect(first.status).toBe("succeeded");
    expect(first.output).toEqual({ total: 10 + 20 + 30 + 40 + 4 * 1, count: 4 });
    expect(takeJournal(w.journal)).toEqual(STAGES);
    expect(first.cached).toBe(0);
    // One entry per stage instance; the root spawned children, so it is never stored.
    expect(entries(w.cache.dir)).toHaveLength(STAGES.length);

    const second = await run(cachePipeline, inputs, {
      ...options,
      cache: w.cache,
      out: join(w.root, "out-2"),
      snapshots: "none",
    });
    expect(second.status).toBe("succeeded");
    expect(second.output).toEqual(first.output);
    expect(takeJournal(w.journal)).toEqual([]);
    expect(ids(second, "task.cached")).toEqual(STAGES);
    expect(ids(second, "task.started")).toEqual(["cache_pipeline"]);
    expect(second.cached).toBe(STAGES.length);
    expect(second.counts.succeeded).toBe(STAGES.length + 1);
    // Each cached instance holds the output the first run logged for it.
    const outputsOf = (r: RunResult<unknown>) => new Map(STAGES.map((id) => [id, r.plan.nodes.get(id)?.output]));
    expect(outputsOf(second)).toEqual(outputsOf(first));
    // The log folds to the engine's plan, cached flags included.
    const replayed = foldEvents(second.events ?? []);
    expect(replayed.cached).toBe(STAGES.length);
    expect(
      [...replayed.nodes.values()]
        .filter((n) => n.cached)
        .map((n) => n.id)
        .sort(),
    ).toEqual(STAGES);
  });
});

describe.each(EXECUTORS)("the results cache (%s executor)", (executor) => {
  const options = { executor, workers: 2, keepEvents: true } as const;

  test("a corrupt entry is a warning and a miss: the instance runs again and its entry is written anew", async () => {
    const w = workspace();
    const inputs = { journal: w.journal, items: ITEMS };
    const first = await run(cachePipeline, inputs, { ...options, cache: w.cache });
    takeJournal(w.journal);
    const files = entries(w.cache.dir);
    writeFileSync(files[0] as string, "{ not json");
    writeFileSync(
      files[1] as string,
      JSON.stringify({ format: "trellis-cache/1", key: "another key", task: "cache_fetch", output: 1 }),
    );
    const second = await run(cachePipeline, inputs, { ...options, cache: w.cache });
    expect(second.status).toBe("succeeded");
    expect(second.output).toEqual(first.output);
    const warnings = (second.events ?? [])
      .filter((e) => e.type === "task.warning")
      .map((e) => e.data as { id: string; code: string; message: string });
    expect(warnings.map((x) => x.code)).toEqual(["CACHE_UNREADABLE", "CACHE_UNREADABLE"]);
    expect(warnings.map((x) => x.message).join("\n")).toContain("is not JSON");
    const rerun = takeJournal(w.journal);
    expect(rerun).toEqual(warnings.map((x) => x.id).sort());
    expect(ids(second, "task.cached")).toEqual(STAGES.filter((id) => !rerun.includes(id)));
    // Written anew: a third run finds every entry.
    const third = await run(cachePipeline, inputs, { ...options, cache: w.cache });
    expect(takeJournal(w.journal)).toEqual([]);
    expect(third.cached).toBe(STAGES.length);
  });

  test("a failed task is not cached: it runs again next time, and once it succeeded it is cached", async () => {
    const w = workspace();
    const failWhile = join(w.root, "fail");
    writeFileSync(failWhile, "");
    const inputs = { journal: w.journal, failWhile, x: 21 };
    const failed = await run(cacheFlaky, inputs, { ...options, cache: w.cache });
    expect(failed.status).toBe("failed");
    expect(entries(w.cache.dir)).toEqual([]);
    rmSync(failWhile);
    const ok = await run(cacheFlaky, inputs, { ...options, cache: w.cache });
    expect(ok.output).toBe(42);
    expect(takeJournal(w.journal)).toEqual(["cache_flaky", "cache_flaky"]);
    const cached = await run(cacheFlaky, inputs, { ...options, cache: w.cache });
    expect(cached.output).toBe(42);
    expect(ids(cached, "task.cached")).toEqual(["cache_flaky"]);
    expect(takeJournal(w.journal)).toEqual([]);
  });

  test("an output the codec refuses fails the task and is never stored", async () => {
    const w = workspace();
    for (let i = 0; i < 2; i++) {
      const r = await run(cacheUnencodable, { journal: w.journal }, { ...options, cache: w.cache });
      expect(r.status).toBe("failed");
      expect(r.error?.code).toBe(ErrorCodes.UNENCODABLE_OUTPUT);
      expect(ids(r, "task.cached")).toEqual([]);
    }
    expect(takeJournal(w.journal)).toEqual(["cache_unencodable", "cache_unencodable"]);
    expect(entries(w.cache.dir)).toEqual([]);
  });
});

describe("what the key covers (inline)", () => {
  const inline = { executor: "inline", keepEvents: true } as const;

  /** Replaces the registered definition named `name` (what a module edited between two runs gives). */
  function redefine<T extends AnyTask>(name: string, make: () => T): T {
    registry.delete(name);
    return make();
  }

  test("editing a task's function re-runs it (its source is in the key); its old source finds its old entry", async () => {
    const w = workspace();
    let runs = 0;
    const v1 = redefine("cache_edit", () =>
      task({ name: "cache_edit" }, async (_ctx, { x }: { x: number }) => {
        runs++;
        return x + 1;
      }),
    );
    const cache = w.cache;
    expect((await run(v1, { x: 1 }, { ...inline, cache })).output).toBe(2);
    expect((await run(v1, { x: 1 }, { ...inline, cache })).cached).toBe(1);
    const v2 = redefine("cache_edit", () =>
      task({ name: "cache_edit" }, async (_ctx, { x }: { x: number }) => {
        runs++;
        return x + 100;
      }),
    );
    const edited = await run(v2, { x: 1 }, { ...inline, cache });
    expect(edited.output).toBe(101);
    expect(edited.cached).toBe(0);
    expect(runs).toBe(2);
    // The same text as v1 again (as after `git checkout`): v1's entry still stands.
    const back = redefine("cache_edit", () =>
      task({ name: "cache_edit" }, async (_ctx, { x }: { x: number }) => {
        runs++;
        return x + 1;
      }),
    );
    const restored = await run(back, { x: 1 }, { ...inline, cache });
    expect(restored.output).toBe(2);
    expect(restored.cached).toBe(1);
    expect(runs).toBe(2);
    // Other inputs are another key.
    expect((await run(back, { x: 2 }, { ...inline, cache })).cached).toBe(0);
    registry.delete("cache_edit");
  });

  test("a `version` stands for the code: an edit under the same version is not seen, a new version re-runs", async () => {
    const w = workspace();
    const cache = w.cache;
    const a = redefine("cache_versioned", () => task({ name: "cache_versioned", version: 3 }, async () => "a"));
    expect((await run(a, {}, { ...inline, cache })).output).toBe("a");
    const b = redefine("cache_versioned", () => task({ name: "cache_versioned", version: 3 }, async () => "b"));
    expect((await run(b, {}, { ...inline, cache })).output).toBe("a");
    const c = redefine("cache_versioned", () => task({ name: "cache_versioned", version: "4" }, async () => "c"));
    expect((await run(c, {}, { ...inline, cache })).output).toBe("c");
    registry.delete("cache_versioned");
  });

  test("a consumer's key holds its producers' outputs: a producer that re-runs to the same output leaves its consumer cached", async () => {
    const w = workspace();
    const cache = w.cache;
    let consumerRuns = 0;
    const make = (source: "one" | "two") =>
      redefine("cache_producer", () =>
        source === "one"
          ? task({ name: "cache_producer" }, async () => ({ value: 7 }))
          : task({ name: "cache_producer" }, async () => ({ value: 3 + 4 })),
      );
    const consumer = task({ name: "cache_consumer" }, async (_ctx, { value }: { value: number }) => {
      consumerRuns++;
      return value * 2;
    });
    const rootOf = (producer: AnyTask) => {
      registry.delete("cache_wire");
      return task({ name: "cache_wire" }, async (ctx) => {
        const p = ctx.spawn(producer, {});
        const [out] = await ctx.waitForAll([ctx.spawn(consumer, { value: From(p, "value") })]);
        return out;
      });
    };
    const first = await run(rootOf(make("one")), {}, { ...inline, cache });
    expect(first.output).toBe(14);
    const second = await run(rootOf(make("two")), {}, { ...inline, cache });
    expect(second.output).toBe(14);
    expect(ids(second, "task.started")).toEqual(["cache_wire", "cache_wire/cache_producer#1"]);
    expect(ids(second, "task.cached")).toEqual(["cache_wire/cache_consumer#1"]);
    expect(consumerRuns).toBe(1);
    for (const name of ["cache_wire", "cache_producer", "cache_consumer"]) registry.delete(name);
  });
});

describe("which definitions and runs use the cache (inline)", () => {
  const inline = { executor: "inline", keepEvents: true } as const;

  test("`cache: false` on a definition opts out of a run-wide cache; `cache: false` on the run turns every cache off", async () => {
    const w = workspace();
    let runs = 0;
    const never = task({ name: "cache_never", cache: false }, async () => ++runs);
    const always = task({ name: "cache_always", cache: true }, async () => ++runs);
    await run(never, {}, { ...inline, cache: w.cache });
    expect((await run(never, {}, { ...inline, cache: w.cache })).cached).toBe(0);
    expect(entries(w.cache.dir)).toEqual([]);
    expect(runs).toBe(2);
    await run(always, {}, { ...inline, cache: false });
    expect((await run(always, {}, { ...inline, cache: false })).cached).toBe(0);
    expect(runs).toBe(4);
    expect(entries(w.cache.dir)).toEqual([]);
  });

  test("without a `cache` option, only `cache: true` definitions are cached, in .trellis-cache/ of the current directory", async () => {
    const w = workspace();
    const cwd = process.cwd();
    const here = join(w.root, "project");
    mkdirSync(here);
    process.chdir(here);
    try {
      let runs = 0;
      const plain = task({ name: "cache_default_plain" }, async () => ++runs);
      const kept = task({ name: "cache_default_kept", cache: true }, async (ctx) => {
        const [n] = await ctx.waitForAll([ctx.spawn(plain, {})]);
        return n;
      });
      const leaf = task({ name: "cache_default_leaf", cache: true }, async () => "leaf");
      await run(leaf, {}, inline);
      expect(entries(join(here, ".trellis-cache"))).toHaveLength(1);
      expect((await run(leaf, {}, inline)).cached).toBe(1);
      // A `cache: true` parent is not stored (its children's code is not in its key), and says so.
      const parent = await run(kept, {}, inline);
      expect((parent.events ?? []).find((e) => e.type === "task.warning")?.data).toMatchObject({
        id: "cache_default_kept",
        code: "CACHE_NOT_STORED",
      });
      expect((await run(kept, {}, inline)).cached).toBe(0);
      expect(runs).toBe(2);
      expect(entries(join(here, ".trellis-cache"))).toHaveLength(1);
    } finally {
      process.chdir(cwd);
    }
  });

  test("a cache folder that cannot be written is a warning before run.finished; the run succeeds", async () => {
    const w = workspace();
    const blocked = join(w.root, "a-file");
    writeFileSync(blocked, "");
    const leaf = task({ name: "cache_unwritable" }, async () => 5);
    const r = await run(leaf, {}, { ...inline, cache: { dir: blocked } });
    expect(r.status).toBe("succeeded");
    const types = (r.events ?? []).map((e) => e.type);
    const warnings = (r.events ?? []).filter((e) => e.type === "task.warning").map((e) => e.data);
    expect(warnings).toEqual([expect.objectContaining({ id: "cache_unwritable", code: "CACHE_WRITE" })]);
    expect(types.indexOf("task.warning")).toBeLessThan(types.indexOf("run.finished"));
  });

  test("an emitted output is what is stored", async () => {
    const w = workspace();
    const emitter = task({ name: "cache_emitter", cache: true }, async (ctx) => {
      ctx.emit({ early: true });
    });
    await run(emitter, {}, { ...inline, cache: w.cache });
    const again = await run(emitter, {}, { ...inline, cache: w.cache });
    expect(again.cached).toBe(1);
    expect(again.output).toEqual({ early: true });
  });

  test("bad options say what is expected", async () => {
    const leaf = task({ name: "cache_bad_option" }, async () => 1);
    await expect(run(leaf, {}, { ...inline, cache: "dir" as never })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
    await expect(run(leaf, {}, { ...inline, cache: { dir: "" } })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
    expect(() => task({ name: "cache_bad_flag", cache: "yes" as never }, async () => 1)).toThrow(
      expect.objectContaining({ code: ErrorCodes.TASK_DEFINITION }),
    );
    expect(() => task({ name: "cache_bad_version", version: {} as never }, async () => 1)).toThrow(
      expect.objectContaining({ code: ErrorCodes.TASK_DEFINITION }),
    );
  });
});

describe("drawing cached instances", () => {
  test("DOT draws a cached instance paler, dashed, with `cached` in its label and tooltip; the caption counts them", async () => {
    const w = workspace();
    const inputs = { journal: w.journal, items: [1, 2] };
    await run(cachePipeline, inputs, { executor: "inline", cache: w.cache });
    const second = await run(cachePipeline, inputs, { executor: "inline", cache: w.cache });
    const dot = buildDot(second.plan);
    const line = dot.split("\n").find((l) => l.startsWith('  "cache_pipeline/cache_fetch#1"')) ?? "";
    expect(line).toContain('label="cache_fetch\\n#1 · cached"');
    expect(line).toContain('style="rounded,filled,dashed"');
    expect(line).toContain("(succeeded from the cache)");
    const root = dot.split("\n").find((l) => l.startsWith('  "cache_pipeline"')) ?? "";
    expect(root).not.toContain("dashed");
    expect(dot).toContain("6 succeeded (5 from the cache)");
    // Each task.cached is a state of its own in the snapshots (a change, as a task.succeeded is).
    expect(classOf("task.cached")).toBe("change");
    // Grouped: a group whose members all came from the cache is drawn the same way.
    const grouped = buildDot(second.plan, { groupAbove: 1 });
    expect(grouped).toMatch(
      /"cache_pipeline\/cache_fetch\/\*" \[label="cache_fetch ×2\\n2 ✓ \(2 cached\)", fillcolor="#cdeecd", style="rounded,filled,dashed"/,
    );
  });
});

describe("reporting cached instances", () => {
  test("the viewer's words and node panel say the instance came from the cache; progress prints cache warnings", async () => {
    const w = workspace();
    const inputs = { journal: w.journal, items: [1] };
    await run(cachePipeline, inputs, { executor: "inline", cache: w.cache });
    const second = await run(cachePipeline, inputs, { executor: "inline", cache: w.cache, keepEvents: true });
    const events = second.events ?? [];
    const cached = events.find((e) => e.type === "task.cached");
    expect(cached && describeEvent(cached)).toBe(
      "cache_pipeline/cache_fetch#1 succeeded from the cache: { item: 1, data: 10 }",
    );
    const details = nodeDetails(second.plan, events, "cache_pipeline/cache_fetch#1");
    expect(details).toMatchObject({ status: "succeeded", cached: true, attempts: 0 });
    expect(details?.history.at(-1)?.note).toMatch(/^from the cache \(key [0-9a-f]{12}…\)$/);
    expect(nodeDetails(second.plan, events, "cache_pipeline")?.cached).toBe(false);

    let text = "";
    const stream = {
      isTTY: false,
      columns: 0,
      write: (chunk: string) => ((text += chunk), true),
    } as unknown as NodeJS.WriteStream;
    const reporter = new ProgressReporter({ mode: "plain", label: "p", stream });
    reporter.onEvent(
      {
        v: 1,
        seq: 1,
        ts: "2026-01-01T00:00:00.000Z",
        runId: "r",
        type: "task.warning",
        data: { id: "a/b#1", code: "CACHE_UNREADABLE", message: "x.json is not JSON" },
      },
      second.plan,
    );
    expect(text).toBe("warning: a/b#1: CACHE_UNREADABLE: x.json is not JSON\n");
  });
});
