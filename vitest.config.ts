import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // One test file per core (vitest's default leaves a core free): most files
    // spend their time waiting on the processes, browsers and Redis they drive.
    maxWorkers: availableParallelism(),
    globalSetup: ["test/setup/build.ts"],
    setupFiles: ["test/setup/validate-logs.ts"],
    // Type tests (*.test-d.ts) are type-checked, not run: an expectation the
    // types break fails its test (test/types/type-tests-fail.test.ts proves it).
    typecheck: {
      enabled: true,
      include: ["test/**/*.test-d.ts"],
      exclude: ["test/fixtures/**"],
      tsconfig: "tsconfig.typetests.json",
    },
  },
});
