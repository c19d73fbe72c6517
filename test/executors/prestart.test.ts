// Threads started ahead of the run (what `trellis run` does while it loads
// the workflow): the threads executor takes them as its workers, already
// loaded, unless it needs a heap limit they were not started with; the ones
// no executor took are stopped by discardPrestarted.
import { afterEach, describe, expect, test } from "vitest";
import { ThreadExecutor, run } from "trellis";
import { startThreadsEarly } from "../../dist/cli/commands/run-threads.js";
import { discardPrestarted, prestartThreads } from "../../dist/runtime/threads/thread-transport.js";
import { execThreadId } from "../../.tmp/fixtures/exec-bench.js";

afterEach(async () => {
  await discardPrestarted();
});

describe("threads started ahead of the run", () => {
  test("are the workers of the next threads executor; what it did not take is stopped", async () => {
    const ids = prestartThreads(2, false);
    expect(ids).toHaveLength(2);
    const result = await run(execThreadId, {}, { executor: new ThreadExecutor({ workers: 1 }) });
    expect(result.status).toBe("succeeded");
    expect(result.output).toBe(ids[0]);
    expect(await discardPrestarted()).toBe(1);
  });

  test("a .ts-ready thread runs a task like any other", async () => {
    const [id] = prestartThreads(1, true);
    const result = await run(execThreadId, {}, { executor: new ThreadExecutor({ workers: 1 }) });
    expect(result.output).toBe(id);
    expect(await discardPrestarted()).toBe(0);
  });

  test("an executor with a heap limit starts its own threads, with the limit", async () => {
    const [id] = prestartThreads(1, false);
    const executor = new ThreadExecutor({ workers: 1, maxOldGenerationSizeMb: 256 });
    const result = await run(execThreadId, {}, { executor });
    expect(result.status).toBe("succeeded");
    expect(result.output).not.toBe(id);
    expect(await discardPrestarted()).toBe(1);
  });

  test("`trellis run` starts one ahead for the threads executor only, from the command line before it is parsed", async () => {
    const started = async (argv: string[]) => {
      startThreadsEarly(argv);
      return await discardPrestarted();
    };
    expect(await started(["run", "flow.mjs"])).toBe(1);
    expect(await started(["run", "flow.ts", "--workers", "4"])).toBe(1); // one ahead, whatever --workers says: the others start with the run
    expect(await started(["run", "--executor", "threads", "flow.mjs"])).toBe(1);
    expect(await started(["run", "flow.mjs", "--executor", "processes"])).toBe(0);
    expect(await started(["run", "--executor=inline", "flow.mjs"])).toBe(0);
    expect(await started(["run", "--help"])).toBe(0);
    expect(await started(["preview", "flow.mjs"])).toBe(0);
  });
});
