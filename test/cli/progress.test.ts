import { describe, expect, it } from "vitest";
import { detectProgressMode, ProgressReporter } from "../../dist/report/progress.js";

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
      {
        nodes: new Map(),
        counts: { pending: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 },
      } as never,
    );
    reporter.stop();
    expect(stream.text).toBe(
      "broken promise: LimitedSpawns(square, 5) of square_batch broken by square_batch: limit 5, attempted 6\n",
    );
    expect(reporter.violations).toHaveLength(1);
  });
});

describe("progress lines", () => {
  it("a deadlock line says `deadlock:` once", () => {
    const stream = fakeStream(false, 0);
    const reporter = new ProgressReporter({ mode: "plain", label: "demo", stream });
    const message = "deadlock: a (waiting) waits on b; b (waiting) waits on a";
    reporter.onEvent(
      {
        v: 1,
        seq: 9,
        ts: "2026-01-01T00:00:00.000Z",
        runId: "r",
        type: "run.deadlock",
        data: { instances: [], message },
      },
      {
        nodes: new Map(),
        counts: { pending: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 },
      } as never,
    );
    expect(stream.text).toBe("deadlock: a (waiting) waits on b; b (waiting) waits on a\n");
  });
});

describe("ctx.log lines and what the summary needs", () => {
  const plan = {
    nodes: new Map(),
    counts: { pending: 0, running: 0, waiting: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0 },
  } as never;
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) =>
    ({ v: 1, seq: ++seq, ts: "2026-01-01T00:00:00.000Z", runId: "r", type, data }) as never;

  it("shows each ctx.log line with its task id, even with progress off; logs: false hides them", () => {
    for (const [mode, logs, expected] of [
      ["plain", true, "[root/sq#1] squared { x: 3, y: 9n }\n[root] done\n"],
      ["off", true, "[root/sq#1] squared { x: 3, y: 9n }\n[root] done\n"],
      ["plain", false, ""],
    ] as const) {
      const stream = fakeStream(false, 0);
      const reporter = new ProgressReporter({ mode, label: "demo", stream, logs });
      reporter.onEvent(
        ev("task.log", { id: "root/sq#1", message: "squared", fields: { x: 3, y: { $t: "bigint", v: "9" } } }),
        plan,
      );
      reporter.onEvent(ev("task.log", { id: "root", message: "done", fields: {} }), plan);
      expect(stream.text).toBe(expected);
    }
  });

  it("records the task that failed first with its own error, and the tasks that held a slot longest", () => {
    let now = 0;
    const reporter = new ProgressReporter({ mode: "off", label: "demo", stream: fakeStream(false, 0), now: () => now });
    const error = (code: string, message: string) => ({ name: "Error", code, message });
    reporter.onEvent(ev("task.started", { id: "root", attempt: 1 }), plan);
    now = 5;
    reporter.onEvent(ev("task.waiting", { id: "root", on: ["root/a#1"] }), plan);
    reporter.onEvent(ev("task.started", { id: "root/a#1", attempt: 1 }), plan);
    now = 105;
    reporter.onEvent(
      ev("task.retrying", { id: "root/a#1", attempt: 2, delayMs: 0, error: error("USER_ERROR", "x") }),
      plan,
    );
    reporter.onEvent(ev("task.started", { id: "root/a#1", attempt: 2 }), plan);
    now = 205;
    reporter.onEvent(ev("task.failed", { id: "root/a#1", attempt: 2, error: error("USER_ERROR", "boom") }), plan);
    reporter.onEvent(ev("task.resumed", { id: "root" }), plan);
    now = 215;
    reporter.onEvent(
      ev("task.failed", { id: "root", attempt: 1, error: error("TASK_FAILED", "root/a#1 failed: boom") }),
      plan,
    );
    expect(reporter.failure).toEqual({ id: "root/a#1", attempt: 2, error: error("USER_ERROR", "boom") });
    // root held a slot 5 + 10 ms; its wait does not count.
    expect(reporter.slowest()).toEqual([
      { id: "root/a#1", ms: 200 },
      { id: "root", ms: 15 },
    ]);
  });
});
