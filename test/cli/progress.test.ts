import { describe, expect, it } from "vitest";
import { detectProgressMode, ProgressReporter } from "../../src/cli/progress.ts";

/** A stand-in for process.stderr that records what is written. */
function fakeStream(isTTY: boolean, columns: number): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    columns,
    text: "",
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe("live progress", () => {
  it("uses a spinner only on a terminal that can redraw a line, outside CI", () => {
    expect(detectProgressMode(fakeStream(true, 100), {})).toBe("tty");
    expect(detectProgressMode(fakeStream(false, 0), {})).toBe("plain");
    expect(detectProgressMode(fakeStream(true, 100), { CI: "true" })).toBe("plain");
    expect(detectProgressMode(fakeStream(true, 100), { CI: "false" })).toBe("tty");
    expect(detectProgressMode(fakeStream(true, 100), { TERM: "dumb" })).toBe("plain");
    // Some CI pseudo-terminals report no width; redrawing there floods the log.
    expect(detectProgressMode(fakeStream(true, 0), {})).toBe("plain");
  });

  it("falls back to plain lines when asked for a spinner on a terminal without a width", async () => {
    const stream = fakeStream(true, 0);
    const reporter = new ProgressReporter({ mode: "tty", label: "demo", stream });
    await reporter.start();
    reporter.onEvent(
      {
        v: 1,
        seq: 5,
        ts: "2026-01-01T00:00:00.000Z",
        runId: "r",
        type: "promise.violated",
        data: {
          pid: 1,
          promise: "LimitedSpawns",
          spec: { kind: "LimitedSpawns", task: "square", limit: 5, scope: "descendants" },
          owner: "square_batch",
          by: "square_batch",
          diff: { by: "square_batch", nodes: [], edges: [] },
          details: { limit: 5, attempted: 6 },
          policy: "halt",
        },
      },
      // The reporter reads only counts and size from the plan.
      { nodes: new Map(), counts: { pending: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 } } as never,
    );
    reporter.stop();
    expect(stream.text).toBe("broken promise: LimitedSpawns(square, 5) of square_batch broken by square_batch: limit 5, attempted 6\n");
    expect(reporter.violations).toHaveLength(1);
  });
});

describe("progress lines", () => {
  it("a deadlock line says `deadlock:` once", () => {
    const stream = fakeStream(false, 0);
    const reporter = new ProgressReporter({ mode: "plain", label: "demo", stream });
    const message = "deadlock: a (waiting) waits on b; b (waiting) waits on a";
    reporter.onEvent(
      { v: 1, seq: 9, ts: "2026-01-01T00:00:00.000Z", runId: "r", type: "run.deadlock", data: { instances: [], message } },
      { nodes: new Map(), counts: { pending: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 } } as never,
    );
    expect(stream.text).toBe("deadlock: a (waiting) waits on b; b (waiting) waits on a\n");
  });
});
