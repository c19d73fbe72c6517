import { describe, expect, it } from "vitest";
import type { TrellisEvent } from "trellis";
import { describeEvent } from "../../dist/view/describe-event.js";

describe("the viewer's event in words", () => {
  it("says 'deadlock:' once: the engine's message already starts with it", () => {
    const event = { v: 1, seq: 9, ts: "2026-01-01T00:00:00.000Z", runId: "r", type: "run.deadlock", data: { message: "deadlock: a (waiting) waits on a/b#1", instances: [] } } as unknown as TrellisEvent;
    expect(describeEvent(event)).toBe("deadlock: a (waiting) waits on a/b#1");
  });
});
