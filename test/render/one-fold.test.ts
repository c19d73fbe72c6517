/**
 * One plan per run: with snapshots on, every event is folded once, into the
 * engine's plan, and the snapshot observer draws from that plan (issue 11).
 * `applyEvent` is counted through a module mock that calls the real one;
 * the package is loaded again after the mock is in place (the test setup
 * loaded it before).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { SnapshotPolicy } from "trellis";
import type * as Trellis from "trellis";
import { DEMOS } from "../../.tmp/fixtures/render-demos.js";
import { tempDir } from "./render-helpers.ts";

const folds = vi.hoisted(() => ({ count: 0 }));
vi.mock(import("../../dist/plan/fold.js"), async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    applyEvent: (...args: Parameters<typeof real.applyEvent>) => {
      folds.count++;
      real.applyEvent(...args);
    },
  };
});

let trellis: typeof Trellis;
beforeAll(async () => {
  vi.resetModules();
  trellis = await import("../../dist/index.js");
});

const [mapReduce, mapInputs] = DEMOS["map_reduce"] as NonNullable<(typeof DEMOS)[string]>;

function dots(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(join(dir, f), "utf8"));
}

describe("snapshots and the plan", () => {
  for (const policy of ["all", "auto"] as SnapshotPolicy[])
    it(`a run with snapshots "${policy}" folds each event once, and its frames are those redrawn from its log`, async () => {
      const out = tempDir();
      folds.count = 0;
      const result = await trellis.run(mapReduce, mapInputs, {
        executor: "inline",
        out,
        snapshots: policy,
        formats: [],
        keepEvents: true,
        runId: `one-fold-${policy}`,
      });
      const events = result.events ?? [];
      expect(events.length).toBeGreaterThan(20);
      expect(folds.count).toBe(events.length);
      const live = dots(join(out, "dots"));
      expect(live.length).toBeGreaterThan(policy === "all" ? 10 : 3);
      const again = tempDir();
      await trellis.renderLog(join(out, "events.jsonl"), { out: again, policy, formats: [] });
      expect(dots(join(again, "dots"))).toEqual(live);
    });

  it("a snapshot observer passed by the caller draws from the run's plan too: no second fold", async () => {
    const out = tempDir();
    const snapshots = trellis.createSnapshotObserver({ out, policy: "all", formats: [] });
    folds.count = 0;
    const result = await trellis.run(mapReduce, mapInputs, {
      executor: "inline",
      snapshots: "none",
      observers: [snapshots],
      keepEvents: true,
      runId: "one-fold-own",
    });
    expect(folds.count).toBe(result.events?.length);
    expect(snapshots.frames).toBeGreaterThan(10);
    expect(snapshots.dotFiles).toHaveLength(snapshots.frames);
  });
});
