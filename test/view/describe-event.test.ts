import { describe, expect, it } from "vitest";
import type { TrellisEvent } from "trellis";
import { describeEvent, valueBlock, valueText } from "../../dist/view/describe-event.js";

describe("the viewer's event in words", () => {
  it("says 'deadlock:' once: the engine's message already starts with it", () => {
    const event = {
      v: 1,
      seq: 9,
      ts: "2026-01-01T00:00:00.000Z",
      runId: "r",
      type: "run.deadlock",
      data: { message: "deadlock: a (waiting) waits on a/b#1", instances: [] },
    } as unknown as TrellisEvent;
    expect(describeEvent(event)).toBe("deadlock: a (waiting) waits on a/b#1");
  });

  it("writes a From reference in inputs as From(<producer>), with its path when it has one", () => {
    const inputs = {
      whole: { $t: "from", id: "main/stats#1", path: [] },
      part: [{ $t: "from", id: "main/sq#2", path: ["sum", 0] }],
      n: 3,
    };
    expect(valueText(inputs)).toBe('{ whole: From(main/stats#1), part: [ From(main/sq#2, ["sum",0]) ], n: 3 }');
    expect(valueBlock({ m: { $t: "map", v: [["k", { $t: "from", id: "a#1", path: [] }]] } })).toBe(
      "{ m: Map(1) { 'k' => From(a#1) } }",
    );
  });
});
