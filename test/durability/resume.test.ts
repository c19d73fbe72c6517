// resume(outDir): a run that died is continued from its log, in the same log.
// A crash is simulated by cutting a finished run's events.jsonl back to a
// prefix (the writer keeps the file a prefix of the log, so that is exactly
// what a kill leaves), optionally with a cut-off last line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Plan, TrellisEvent } from "trellis";
import {
  ErrorCodes,
  From,
  LimitedSpawns,
  foldEvents,
  hasCode,
  renderLog,
  resume,
  run,
  task,
  TaskRegistry,
} from "trellis";
import { checkSpawn } from "../../dist/plan/diff.js";
import { inputsHash } from "../../dist/events/input-hash.js";

const inline = { executor: "inline", snapshots: "none" } as const;

/** How many times each task body ran in this process, by instance id. */
const ran = new Map<string, number>();
function mark(id: string): void {
  ran.set(id, (ran.get(id) ?? 0) + 1);
}

/** Switches the tests flip between a run and its resume. */
const knobs = { failLeaf: -1, shift: 0 };

const leaf = task({ name: "res_leaf" }, (ctx, { k }: { k: number }) => {
  mark(ctx.id);
  if (k === knobs.failLeaf) throw new Error(`leaf ${k} is broken`);
  return k * k;
});
const total = task({ name: "res_total" }, (ctx, { parts }: { parts: number[] }) => {
  mark(ctx.id);
  return parts.reduce((a, b) => a + b, 0);
});
const group = task(
  { name: "res_group", promises: [LimitedSpawns(leaf, 4)] },
  async (ctx, { from }: { from: number }) => {
    mark(ctx.id);
    const leaves = [0, 1, 2, 3].map((i) => ctx.spawn(leaf, { k: from + i + knobs.shift }));
    const [sum] = await ctx.waitForAll([ctx.spawn(total, { parts: leaves.map((h) => From(h)) })]);
    return sum;
  },
);
const root = task({ name: "res_root" }, async (ctx, { groups }: { groups: number }) => {
  mark(ctx.id);
  const hs = [];
  for (let g = 0; g < groups; g++) hs.push(ctx.spawn(group, { from: g * 4 }));
  const [sum] = await ctx.waitForAll([ctx.spawn(total, { parts: hs.map((h) => From(h)) })]);
  return sum;
});

/** 0² + 1² + … + (4·groups − 1)². */
function expected(groups: number): number {
  let s = 0;
  for (let k = 0; k < groups * 4; k++) s += k * k;
  return s;
}

function outDir(): string {
  return mkdtempSync(join(tmpdir(), "resume-"));
}

function lines(out: string): string[] {
  return readFileSync(join(out, "events.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "");
}

function events(out: string): TrellisEvent[] {
  return lines(out).map((l) => JSON.parse(l) as TrellisEvent);
}

/** Cuts the log back to its first `keep` lines, plus `partial` bytes of the next one (a write cut by a crash). */
function crashAt(out: string, keep: number, partial = 0): TrellisEvent[] {
  const all = lines(out);
  const next = all[keep] ?? "";
  writeFileSync(join(out, "events.jsonl"), all.slice(0, keep).join("\n") + "\n" + next.slice(0, partial));
  return all.slice(0, keep).map((l) => JSON.parse(l) as TrellisEvent);
}

/** Ids whose `task.succeeded` is among `events`. */
function succeededIn(events: readonly TrellisEvent[]): Set<string> {
  return new Set(events.filter((e) => e.type === "task.succeeded").map((e) => (e.data as { id: string }).id));
}

/** The parts of a plan a resumed run must agree on with the fold of its log. */
function summary(plan: Plan) {
  return {
    status: plan.status,
    output: plan.output,
    counts: plan.counts,
    nodes: [...plan.nodes.values()].map((n) => ({
      id: n.id,
      status: n.status,
      output: n.output,
      attempt: n.attempt,
      inputsHash: n.inputsHash,
    })),
    edges: plan.edges.length,
    promises: plan.promises.length,
  };
}

describe("resume(outDir) after a crash", () => {
  test("succeeded tasks keep their output and do not run again; the rest finish; the log goes on without a seq gap", async () => {
    const out = outDir();
    const first = await run(root, { groups: 5 }, { ...inline, out });
    expect(first.output).toBe(expected(5));
    const all = events(out);
    let successes = 0;
    const sixth = all.findIndex((e) => e.type === "task.succeeded" && ++successes === 6);
    const kept = crashAt(out, sixth + 1);
    const done = succeededIn(kept);
    expect(done.size).toBeGreaterThan(0);
    ran.clear();
    const resumed = await resume<number>(out, inline);
    expect(resumed.status).toBe("succeeded");
    expect(resumed.output).toBe(expected(5));
    expect(resumed.warnings).toEqual([]);
    expect(resumed.resumedAfter).toBe(kept.length);
    for (const id of done) expect(ran.has(id), `${id} succeeded before the crash and ran again`).toBe(false);
    expect(ran.get("res_root")).toBe(1); // the root did not finish: it runs again, re-attaching to its children
    const log = events(out);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((e) => e.type === "run.started")).toHaveLength(1);
    const marker = log[kept.length] as TrellisEvent;
    expect(marker.type).toBe("run.resumed");
    expect(marker.data).toMatchObject({ fromSeq: kept.length, droppedBytes: 0, retryFailed: false });
    expect(summary(foldEvents(log))).toEqual(summary(resumed.plan));
    // Each group declared its LimitedSpawns once, whatever ran again.
    expect(log.filter((e) => e.type === "promise.declared")).toHaveLength(5);
  });

  test("a task that was running at the crash runs again as a new attempt, counted in the log", async () => {
    const out = outDir();
    await run(root, { groups: 2 }, { ...inline, out });
    const all = events(out);
    const started = all.findIndex(
      (e) => e.type === "task.started" && (e.data as { id: string }).id === "res_root/res_group#2",
    );
    crashAt(out, started + 1);
    const resumed = await resume<number>(out, inline);
    expect(resumed.output).toBe(expected(2));
    const starts = events(out).filter(
      (e) => e.type === "task.started" && (e.data as { id: string }).id === "res_root/res_group#2",
    );
    expect(starts.map((e) => (e.data as { attempt: number }).attempt)).toEqual([1, 2]);
    expect(resumed.plan.nodes.get("res_root")?.attempt).toBe(2);
  });

  test("a last line cut off by the crash is dropped and reported, never fatal", async () => {
    const out = outDir();
    await run(root, { groups: 3 }, { ...inline, out });
    const kept = crashAt(out, 40, 17);
    const resumed = await resume<number>(out, inline);
    expect(resumed.status).toBe("succeeded");
    expect(resumed.output).toBe(expected(3));
    expect(resumed.droppedBytes).toBe(17);
    expect(resumed.warnings).toHaveLength(1);
    expect(resumed.warnings[0]).toMatch(/cut off.*17 bytes after event 40/);
    const log = events(out); // every line parses: the cut bytes are gone
    expect(log[kept.length]?.type).toBe("run.resumed");
    expect(log[kept.length]?.data).toMatchObject({ fromSeq: 40, droppedBytes: 17 });
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
  });

  test("a log cut between an instance's task.created and its edges gets the missing edges before anything runs", async () => {
    const out = outDir();
    await run(root, { groups: 2 }, { ...inline, out });
    const all = events(out);
    // The group's sum is created, then its lineage edge and four data edges: keep task.created and one edge.
    const created = all.findIndex(
      (e) => e.type === "task.created" && (e.data as { id: string }).id === "res_root/res_group#1/res_total#1",
    );
    crashAt(out, created + 2);
    const resumed = await resume<number>(out, inline);
    expect(resumed.output).toBe(expected(2));
    expect(resumed.plan.producers.get("res_root/res_group#1/res_total#1")).toHaveLength(4);
  });

  test("several crashes and resumes fold to one plan, with seq gap-free, and the log still draws", async () => {
    const out = outDir();
    await run(root, { groups: 4 }, { ...inline, out });
    let cut = 30;
    for (let i = 0; i < 3; i++) {
      crashAt(out, cut, i); // the second and third crash also cut a line
      await resume<number>(out, inline);
      cut = Math.floor(lines(out).length * 0.8);
    }
    crashAt(out, cut);
    const result = await resume<number>(out, inline);
    expect(result.output).toBe(expected(4));
    const log = events(out);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.filter((e) => e.type === "run.resumed")).toHaveLength(4);
    expect(log.filter((e) => e.type === "run.finished")).toHaveLength(1);
    expect(summary(foldEvents(log))).toEqual(summary(result.plan));
    const drawn = await renderLog(join(out, "events.jsonl"), {
      out: join(out, "redrawn"),
      formats: [],
      policy: "final",
    });
    expect(drawn.frames).toBeGreaterThan(0);
    expect(drawn.lastSeq).toBe(log.length);
    expect(drawn.warnings).toEqual([]);
  });

  test("a finished run is not resumed: RUN_FINISHED says how it ended", async () => {
    const out = outDir();
    await run(root, { groups: 1 }, { ...inline, out });
    const before = readFileSync(join(out, "events.jsonl"), "utf8");
    const error = await resume(out, inline).catch((e: unknown) => e);
    expect(hasCode(error, ErrorCodes.RUN_FINISHED)).toBe(true);
    expect((error as Error).message).toMatch(/already finished \(succeeded\)/);
    expect(readFileSync(join(out, "events.jsonl"), "utf8")).toBe(before); // nothing written
    const retry = await resume(out, { ...inline, retryFailed: true }).catch((e: unknown) => e);
    expect(hasCode(retry, ErrorCodes.RUN_FINISHED)).toBe(true); // nothing failed: nothing to retry
  });

  test("a corrupt line before the last is a LOG_FORMAT error naming the line", async () => {
    const out = outDir();
    await run(root, { groups: 1 }, { ...inline, out });
    const all = lines(out);
    all[4] = all[4]?.slice(0, 20) ?? "";
    writeFileSync(join(out, "events.jsonl"), all.slice(0, 10).join("\n") + "\n");
    const error = await resume(out, inline).catch((e: unknown) => e);
    expect(hasCode(error, ErrorCodes.LOG_FORMAT)).toBe(true);
    expect((error as Error).message).toMatch(/events\.jsonl:5:/);
    rmSync(out, { recursive: true }); // not a log: the suite's log check must not see it
  });

  test("--retry-failed gives failed tasks a new attempt; succeeded ones still do not run", async () => {
    const out = outDir();
    knobs.failLeaf = 5;
    try {
      const failed = await run(root, { groups: 3 }, { ...inline, out });
      expect(failed.status).toBe("failed");
    } finally {
      knobs.failLeaf = -1;
    }
    const refused = await resume(out, inline).catch((e: unknown) => e);
    expect(hasCode(refused, ErrorCodes.RUN_FINISHED)).toBe(true);
    expect((refused as Error).message).toMatch(/already finished \(failed\).*retryFailed/);
    const before = events(out);
    const succeededBefore = succeededIn(before);
    ran.clear();
    const resumed = await resume<number>(out, { ...inline, retryFailed: true });
    expect(resumed.status).toBe("succeeded");
    expect(resumed.output).toBe(expected(3));
    for (const id of succeededBefore) expect(ran.has(id), `${id} ran again`).toBe(false);
    expect(ran.get("res_root/res_group#2/res_leaf#2")).toBe(1);
    const log = events(out);
    expect(log.filter((e) => e.type === "run.finished")).toHaveLength(2);
    expect(log[before.length]?.data).toMatchObject({ retryFailed: true });
    expect(summary(foldEvents(log))).toEqual(summary(resumed.plan));
  });

  test("without --retry-failed a failed task stays failed when a crashed run is resumed", async () => {
    const out = outDir();
    knobs.failLeaf = 1;
    try {
      await run(root, { groups: 2 }, { ...inline, out });
      const all = events(out);
      const failedAt = all.findIndex((e) => e.type === "task.failed");
      crashAt(out, failedAt + 1);
      ran.clear();
      const resumed = await resume(out, inline);
      expect(resumed.status).toBe("failed");
      expect(ran.has("res_root/res_group#1/res_leaf#2")).toBe(false);
      expect(resumed.plan.nodes.get("res_root/res_group#1/res_leaf#2")?.status).toBe("failed");
    } finally {
      knobs.failLeaf = -1;
    }
  });
});

describe("non-determinism: a re-executed parent must spawn what the log records", () => {
  test("across a resume: the same definition with other inputs at a logged id fails NON_DETERMINISTIC", async () => {
    const out = outDir();
    await run(root, { groups: 2 }, { ...inline, out });
    const all = events(out);
    const leafDone = all.findIndex(
      (e) => e.type === "task.succeeded" && (e.data as { id: string }).id === "res_root/res_group#1/res_leaf#1",
    );
    crashAt(out, leafDone + 1);
    knobs.shift = 100; // the groups now spawn other leaves than the log holds
    let resumed;
    try {
      resumed = await resume(out, inline);
    } finally {
      knobs.shift = 0;
    }
    expect(resumed.status).toBe("failed");
    const error = resumed.plan.nodes.get("res_root/res_group#1")?.error;
    expect(error?.code).toBe(ErrorCodes.NON_DETERMINISTIC);
    const logged = resumed.plan.nodes.get("res_root/res_group#1/res_leaf#1")?.inputsHash;
    const now = inputsHash({ k: 100 });
    expect(error?.message).toContain("res_root/res_group#1/res_leaf#1");
    expect(error?.message).toContain(`res_leaf with inputs ${logged}`);
    expect(error?.message).toContain(`res_leaf with inputs ${now}`);
    expect(resumed.plan.nodes.get("res_root/res_group#1")?.attempt).toBe(2); // not retried: a retry cannot fix it
  });

  test("within a run: a retried parent that spawns other inputs at the same id fails NON_DETERMINISTIC", async () => {
    const flaky = task({ name: "res_flaky_parent", retries: 2, retryDelayMs: 0 }, async (ctx) => {
      const child = ctx.spawn(leaf, { k: ctx.attempt }); // differs between attempts
      await ctx.waitForAll([child]);
      if (ctx.attempt === 1) throw new Error("first attempt fails after its child");
      return "done";
    });
    const result = await run(flaky, {}, { ...inline, keepEvents: true });
    expect(result.status).toBe("failed");
    const node = result.plan.nodes.get("res_flaky_parent");
    expect(node?.error?.code).toBe(ErrorCodes.NON_DETERMINISTIC);
    expect(node?.attempt).toBe(2);
    expect(result.plan.nodes.get("res_flaky_parent/res_leaf#1")?.inputsHash).toBe(inputsHash({ k: 1 }));
  });

  test("within a run: a retried parent that spawns the same children re-attaches to them", async () => {
    const steady = task({ name: "res_steady_parent", retries: 1, retryDelayMs: 0 }, async (ctx) => {
      const [v] = await ctx.waitForAll([ctx.spawn(leaf, { k: 7 })]);
      if (ctx.attempt === 1) throw new Error("first attempt fails after its child");
      return v;
    });
    ran.clear();
    const result = await run(steady, {}, inline);
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(49);
    expect(ran.get("res_steady_parent/res_leaf#1")).toBe(1);
  });

  test("checkSpawn: another definition at a logged id is NON_DETERMINISTIC, naming both", () => {
    const registry = new TaskRegistry();
    const created = (seq: number, id: string, taskName: string, parent: string | null, inputs: object) =>
      ({
        v: 1,
        seq,
        ts: "",
        runId: "r",
        type: "task.created",
        data: {
          id,
          task: taskName,
          parent,
          labels: [],
          inputs,
          placeholder: null,
          priority: 0,
          inputsHash: inputsHash(inputs as never),
        },
      }) as TrellisEvent;
    const folded = foldEvents([created(1, "p", "p", null, {}), created(2, "p/x#1", "a", "p", { n: 1 })]);
    const other = checkSpawn(folded, registry, "p", 2, {
      id: "p/x#1",
      task: "b",
      producers: [],
      inputsHash: inputsHash({ n: 1 }),
    });
    expect(hasCode(other, ErrorCodes.NON_DETERMINISTIC)).toBe(true);
    expect((other as Error).message).toMatch(
      /spawned b with inputs \w{16} at p\/x#1, but the log records a with inputs \w{16} there: a different definition/,
    );
    const same = checkSpawn(folded, registry, "p", 2, {
      id: "p/x#1",
      task: "a",
      producers: [],
      inputsHash: inputsHash({ n: 1 }),
    });
    expect(same).toBe("repeat");
    const inputs = checkSpawn(folded, registry, "p", 2, {
      id: "p/x#1",
      task: "a",
      producers: [],
      inputsHash: inputsHash({ n: 2 }),
    });
    expect(hasCode(inputs, ErrorCodes.NON_DETERMINISTIC)).toBe(true);
    expect((inputs as Error).message).toMatch(/the same definition with different inputs/);
    // A first attempt never repeats: the id is taken.
    expect(
      hasCode(
        checkSpawn(folded, registry, "p", 1, {
          id: "p/x#1",
          task: "a",
          producers: [],
          inputsHash: inputsHash({ n: 1 }),
        }),
        ErrorCodes.INVALID_INPUT,
      ),
    ).toBe(true);
  });
});
