import { describe, expect, it } from "vitest";
import type { PromiseSpec } from "trellis";
import {
  ErrorCodes,
  LimitedSpawns,
  MaxParallelism,
  NoNewEdges,
  NoNewNodes,
  OnlySpecificEdgesAllowed,
  OnlySpecificNodesAllowed,
  TrellisError,
} from "trellis";
import { checkPromiseSpec, referencedTasks } from "../../dist/promises/constructors.js";
import type { ProgramOutput } from "../../.tmp/fixtures/prom-tasks.js";
import { promA, promB, promBadDefPromise } from "../../.tmp/fixtures/prom-tasks.js";
import { eventsOf, ofType, runKept } from "./helpers.ts";

/** The code of what `fn` throws (fails when it does not throw a TrellisError). */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TrellisError);
    return (error as TrellisError).code;
  }
  throw new Error("expected a throw");
}

const bad = <T>(v: unknown) => v as T;

describe("promise constructors: bad parameters throw INVALID_PROMISE at declaration", () => {
  it.each([
    ["negative k", () => LimitedSpawns(promA, -1)],
    ["non-integer k", () => LimitedSpawns(promA, 1.5)],
    ["NaN k", () => LimitedSpawns(promA, Number.NaN)],
    ["infinite k", () => LimitedSpawns(promA, Number.POSITIVE_INFINITY)],
    ["k as a string", () => LimitedSpawns(promA, bad<number>("2"))],
    ["no definition", () => LimitedSpawns(bad<string>(null), 1)],
    ["empty name", () => LimitedSpawns("", 1)],
    ["label not a string", () => MaxParallelism(bad<string>(3), 1)],
    ["empty label", () => MaxParallelism("", 1)],
    ["MaxParallelism k = 0", () => MaxParallelism("l", 0)],
    ["MaxParallelism negative k", () => MaxParallelism("l", -2)],
    ["empty node whitelist", () => OnlySpecificNodesAllowed([])],
    ["node whitelist not an array", () => OnlySpecificNodesAllowed(bad<string[]>("prom_a"))],
    ["node whitelist with a non-definition", () => OnlySpecificNodesAllowed([promA, bad<string>({})])],
    ["empty edge whitelist", () => OnlySpecificEdgesAllowed([])],
    ["edge that is not a pair", () => OnlySpecificEdgesAllowed([bad<[string, string]>([promA])])],
    ["edge with a null end", () => OnlySpecificEdgesAllowed([[promA, bad<string>(null)]])],
    ["unknown scope", () => NoNewNodes({ scope: bad<"global">("everywhere") })],
    ["options not an object", () => NoNewEdges(bad<object>("global"))],
    ["unknown option", () => LimitedSpawns(promA, 1, bad<object>({ scop: "global" }))],
  ])("%s", (_name, fn) => {
    expect(codeOf(fn)).toBe(ErrorCodes.INVALID_PROMISE);
  });

  it("returns plain data with definition names, the default scope, and duplicates removed", () => {
    expect(LimitedSpawns(promA, 0)).toEqual({ kind: "LimitedSpawns", task: "prom_a", limit: 0, scope: "descendants" });
    expect(MaxParallelism("l", 2, { scope: "global" })).toEqual({
      kind: "MaxParallelism",
      label: "l",
      limit: 2,
      scope: "global",
    });
    expect(OnlySpecificNodesAllowed([promA, "prom_a", promB])).toMatchObject({ tasks: ["prom_a", "prom_b"] });
    expect(
      OnlySpecificEdgesAllowed([
        [promA, promB],
        ["prom_a", "prom_b"],
      ]),
    ).toMatchObject({ edges: [["prom_a", "prom_b"]] });
    expect(JSON.parse(JSON.stringify(NoNewNodes()))).toEqual(NoNewNodes());
  });

  it("checkPromiseSpec accepts what the constructors make and refuses malformed data", () => {
    for (const spec of [
      LimitedSpawns(promA, 2),
      MaxParallelism("l", 1),
      NoNewNodes({ scope: "global" }),
      NoNewEdges(),
      OnlySpecificNodesAllowed([promA]),
      OnlySpecificEdgesAllowed([[promA, promB]]),
    ])
      expect(checkPromiseSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
    for (const v of [
      null,
      3,
      {},
      { kind: "Nope" },
      { kind: "LimitedSpawns", task: "x", limit: -1, scope: "descendants" },
      { kind: "OnlySpecificNodesAllowed", tasks: [], scope: "descendants" },
    ])
      expect(codeOf(() => checkPromiseSpec(v))).toBe(ErrorCodes.INVALID_PROMISE);
  });

  it("lists the definitions a promise names", () => {
    expect(
      referencedTasks(
        OnlySpecificEdgesAllowed([
          [promA, promB],
          [promB, promA],
        ]),
      ),
    ).toEqual(["prom_a", "prom_b"]);
    expect(referencedTasks(MaxParallelism("l", 1))).toEqual([]);
  });
});

describe("promises checked by the engine when declared", () => {
  it("ctx.promise with an unregistered definition: a catchable INVALID_PROMISE, and nothing declared", async () => {
    const result = await runKept<ProgramOutput>(
      promA,
      { program: { declare: [LimitedSpawns("prom_nowhere", 1)] } },
      { onViolation: "reject" },
    );
    expect(result.status).toBe("succeeded");
    expect(result.output?.caught).toEqual([ErrorCodes.INVALID_PROMISE]);
    expect(ofType(eventsOf(result), "promise.declared")).toEqual([]);
  });

  it("ctx.promise with hand-built malformed data: INVALID_PROMISE", async () => {
    const malformed = bad<PromiseSpec>({ kind: "LimitedSpawns", task: "prom_a", limit: -3, scope: "descendants" });
    const result = await runKept<ProgramOutput>(promA, { program: { declare: [malformed] } });
    expect(result.output?.caught).toEqual([ErrorCodes.INVALID_PROMISE]);
    expect(result.plan.promises).toEqual([]);
  });

  it("a definition's promise naming an unregistered task fails each instance with INVALID_PROMISE", async () => {
    const result = await runKept(promBadDefPromise, {});
    expect(result.status).toBe("failed");
    expect(result.plan.nodes.get("prom_bad_def_promise")?.error?.code).toBe(ErrorCodes.INVALID_PROMISE);
    expect(result.plan.nodes.get("prom_bad_def_promise")?.error?.details).toMatchObject({ task: "prom_nowhere" });
  });
});
