/**
 * The test suite: wall and CPU time of `npm test` (the build, then vitest,
 * tsc, eslint and biome side by side, as CI runs it), once, beside the floor
 * its CPU time sets on this machine: CPU ÷ cores is the shortest wall time
 * the same work could take with every core busy all the time. Minutes long,
 * so full runs only (`npm run bench`, or this file alone).
 *
 *   npx tsx bench/suite.ts
 */
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./lib/child.ts";
import { isEntry } from "./lib/cli.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { timeCommand } from "./lib/timed.ts";

export const SUITE_GROUP = "Test suite";
const COMMAND = "npm test";
const NAME = "npm test (build, vitest, tsc, eslint, biome)";
const TARGET_S = 120;

export async function suiteRows(options: BenchOptions): Promise<BenchRow[]> {
  const target = `≤ ${TARGET_S} s wall`;
  if (options.quick)
    return [missingRow(SUITE_GROUP, NAME, COMMAND, "full run only (`npm run bench`): the suite takes minutes", target)];
  const cores = availableParallelism();
  try {
    const t = await timeCommand(
      [process.execPath, join(REPO_ROOT, "scripts", "test.mjs")],
      REPO_ROOT,
      join(tmpdir(), "trellis-suite-output"),
    );
    const wallS = t.wallMs / 1000;
    const cpuS = t.cpuMs / 1000;
    return [
      {
        group: SUITE_GROUP,
        name: NAME,
        metrics: {
          "wall s": wallS,
          "CPU s": cpuS,
          "CPU ÷ cores s": cpuS / cores,
          "cores busy %": (100 * cpuS) / cores / wallS,
        },
        target,
        met: wallS <= TARGET_S,
        headline: "wall s",
        command: COMMAND,
        note: `one run; ${cores} cores; CPU is every process the suite started (test files, the CLI runs and workers they start, Chromium, Redis clients; not the Redis server)`,
      },
    ];
  } catch (error) {
    return [missingRow(SUITE_GROUP, NAME, COMMAND, (error as Error).message, target)];
  }
}

if (isEntry(import.meta.url)) {
  const rows = await suiteRows({ quick: process.argv.includes("--quick") });
  console.log(textTable(SUITE_GROUP, rows));
}
