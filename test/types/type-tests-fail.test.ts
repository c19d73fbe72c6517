// The type tests (test/**/*.test-d.ts) are real: vitest's typecheck mode
// reports a wrong expectation and an `@ts-expect-error` with no error as
// failed tests. Runs vitest, configured as the project's config runs the type
// tests, on test/fixtures/types/, whose expectations are all wrong.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface JsonReport {
  readonly testResults: readonly {
    readonly assertionResults: readonly {
      readonly title: string;
      readonly status: string;
      readonly failureMessages: readonly string[];
    }[];
  }[];
}

it("a type expectation the types break fails its test", () => {
  let out: string;
  try {
    out = execFileSync(
      process.execPath,
      [
        join(root, "node_modules", "vitest", "vitest.mjs"),
        "run",
        "--config",
        "test/fixtures/types/vitest.config.ts",
        "--reporter",
        "json",
      ],
      {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        env: { ...process.env, FORCE_COLOR: "0" },
      },
    );
  } catch (error) {
    out = (error as { stdout: string }).stdout; // vitest exits 1 when tests fail
  }
  const results = (JSON.parse(out) as JsonReport).testResults.flatMap((f) => f.assertionResults);
  const byTitle = Object.fromEntries(results.map((r) => [r.title, r]));
  expect(byTitle["a handle typed by the wrong output"]?.status).toBe("failed");
  expect(byTitle["a handle typed by the wrong output"]?.failureMessages.join("\n")).toContain("TaskHandle<string>");
  expect(byTitle["an expected error that does not happen"]?.status).toBe("failed");
  expect(byTitle["an expected error that does not happen"]?.failureMessages.join("\n")).toContain(
    "Unused '@ts-expect-error' directive",
  );
});
