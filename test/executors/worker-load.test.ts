// Workers import every module that defines tasks. When they cannot, the run
// fails at once with WORKER_LOAD naming the module, never a hang. Each test
// gives run() its own registry so only the module under test is loaded.
import { describe, expect, test } from "vitest";
import { ErrorCodes, TaskRegistry, run } from "trellis";
import type { AnyTask } from "trellis";
import { execLoadBroken, execLoadMisplaced, execLoadMissing } from "../../.tmp/fixtures/exec-load-broken.js";
import { execLoadRun } from "../../.tmp/fixtures/exec-load-run.js";
import { execLoadRunFloating } from "../../.tmp/fixtures/exec-load-run-floating.js";
import { WORKER_EXECUTORS, eventFor } from "./helpers.ts";

function only(def: AnyTask): TaskRegistry {
  const registry = new TaskRegistry();
  registry.add(def);
  return registry;
}

describe.each(WORKER_EXECUTORS)("worker loading: %s", (executor) => {
  test("a module that throws when a worker imports it: WORKER_LOAD naming the module and the cause", async () => {
    const result = await run(execLoadBroken, {}, { executor, workers: 2, registry: only(execLoadBroken) });
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.WORKER_LOAD);
    expect(result.error?.details?.["module"]).toBe(execLoadBroken.module);
    expect(result.error?.message).toMatch(/exec-load-broken\.[jt]s/);
    expect(result.error?.cause?.message).toBe("this module needs the main program (simulated)");
  });

  test("a module that does not exist: WORKER_LOAD", async () => {
    const result = await run(execLoadMissing, {}, { executor, workers: 1, registry: only(execLoadMissing) });
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.WORKER_LOAD);
    expect(result.error?.details?.["module"]).toBe(execLoadMissing.module);
  });

  test("run() awaited at the top level of a task module: WORKER_LOAD caused by RUN_IN_WORKER", async () => {
    const result = await run(execLoadRun, {}, { executor, workers: 1, registry: only(execLoadRun) });
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.WORKER_LOAD);
    expect(result.error?.cause?.code).toBe(ErrorCodes.RUN_IN_WORKER);
  });

  test("run() not awaited at the top level of a task module: same error, not a crash loop", async () => {
    const result = await run(execLoadRunFloating, {}, { executor, workers: 1, registry: only(execLoadRunFloating) });
    expect(result.status).toBe("failed");
    expect(result.error?.code).toBe(ErrorCodes.WORKER_LOAD);
    expect(result.error?.details?.["module"]).toBe(execLoadRunFloating.module);
    expect(result.error?.cause?.code).toBe(ErrorCodes.RUN_IN_WORKER);
  });

  test("a task the worker's modules do not define fails with UNKNOWN_TASK", async () => {
    const result = await run(
      execLoadMisplaced,
      {},
      { executor, workers: 1, registry: only(execLoadMisplaced), keepEvents: true },
    );
    expect(result.status).toBe("failed");
    expect(eventFor(result, "task.failed", "exec_load_misplaced").data.error.code).toBe(ErrorCodes.UNKNOWN_TASK);
  });
});
