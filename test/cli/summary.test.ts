import { describe, expect, it } from "vitest";
import { codeAndMessage, describeFailure, formatSummary, userFrame } from "../../dist/report/summary.js";
import type { SummaryInput } from "../../dist/report/summary.js";

const counts = { pending: 0, running: 0, waiting: 0, succeeded: 1, failed: 2, skipped: 0, cancelled: 0 };

const stack = [
  "TypeError: cli_flaky cannot take 1",
  "    at Object.fn (/home/ada/flow/flow.ts:12:11)",
  "    at runAttempt (/opt/trellis/src/runtime/task-runner.ts:230:18)",
  "    at file:///home/ada/flow/node_modules/lib/index.js:3:3",
].join("\n");

describe("summary of a failed run", () => {
  it("finds the user's file:line in a stack: not Trellis, not node_modules, not node: internals", () => {
    const inner = [
      "Error: x",
      "    at node:internal/process/task_queues:95:5",
      "    at run (/opt/trellis/src/runtime/run.ts:1:1)",
      "    at async main (file:///home/ada/flow/main.ts:7:3)",
    ].join("\n");
    expect(userFrame(inner, "/home/ada/flow", ["/opt/trellis/src/"])).toBe("main.ts:7:3");
    expect(userFrame(stack, "/home/ada", ["/opt/trellis/src/"])).toBe("flow/flow.ts:12:11");
    expect(userFrame(stack, "/elsewhere", ["/opt/trellis/src/"])).toBe("/home/ada/flow/flow.ts:12:11");
    expect(userFrame("WorkerCrashError: the worker exited", "/", [])).toBeNull();
    expect(userFrame(undefined)).toBeNull();
  });

  it("shows the failing task's error with the attempt count, the run's error when it differs, and the slowest tasks", () => {
    const input: SummaryInput = {
      label: "flow",
      status: "failed",
      output: undefined,
      error: {
        name: "TaskFailedError",
        code: "TASK_FAILED",
        message: "cli_logs/cli_flaky#1 failed: cli_flaky cannot take 1",
      },
      counts,
      durationMs: 1234,
      violations: [],
      out: null,
      failure: {
        id: "cli_logs/cli_flaky#1",
        attempt: 2,
        error: { name: "TypeError", code: "USER_ERROR", message: "cli_flaky cannot take 1", stack },
      },
      slowest: [
        { id: "cli_logs/cli_flaky#1", ms: 1520 },
        { id: "cli_logs", ms: 3.4 },
      ],
    };
    const text = formatSummary(input);
    expect(text.split("\n")).toEqual([
      "flow: FAILED in 1.23 s",
      "  output      (none)",
      "  tasks       1 succeeded, 2 failed",
      "  violations  none",
      "  failed      cli_logs/cli_flaky#1 (failed after 2 attempts): TypeError: cli_flaky cannot take 1",
      `              at ${userFrame(stack) ?? ""}`,
      "  error       TASK_FAILED: cli_logs/cli_flaky#1 failed: cli_flaky cannot take 1",
      "  slowest     cli_logs/cli_flaky#1 1.52 s, cli_logs 3 ms",
    ]);
    // The root's own error is not repeated under `error`.
    const rootOnly = formatSummary({ ...input, error: input.failure?.error ?? null, slowest: [] });
    expect(rootOnly).not.toContain("  error ");
    expect(rootOnly).not.toContain("slowest");
    // A run that succeeded shows none of it.
    expect(formatSummary({ ...input, status: "succeeded", error: null })).not.toMatch(/failed |slowest/);
  });

  it("names the error's code once: a deadlock's message already starts with 'deadlock:'", () => {
    expect(codeAndMessage("DEADLOCK", "deadlock: a (waiting) waits on a/b#1")).toBe(
      "DEADLOCK: a (waiting) waits on a/b#1",
    );
    expect(codeAndMessage("TASK_FAILED", "a/b#1 failed: boom\nat x")).toBe("TASK_FAILED: a/b#1 failed: boom");
  });

  it("a failure on the first attempt says so", () => {
    expect(
      describeFailure({ id: "a", attempt: 1, error: { name: "Error", code: "USER_ERROR", message: "no\nmore" } }),
    ).toEqual(["a (attempt 1): Error: no"]);
  });
});
