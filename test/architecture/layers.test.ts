// The layer rules of .dependency-cruiser.cjs, run on src/ (no violation) and
// on a fixture tree that breaks each kind of rule (every break reported).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
  readonly cycle?: readonly { readonly name: string }[];
}

/** Runs the checker with the project's rules on `src/` under `cwd`; returns what it reports. */
function cruise(cwd: string): Violation[] {
  let out: string;
  try {
    out = execFileSync(
      process.execPath,
      [bin, "src", "--config", join(root, ".dependency-cruiser.cjs"), "--output-type", "json"],
      {
        cwd,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
      },
    );
  } catch (error) {
    // It exits non-zero when it finds violations; the report is still on stdout.
    out = (error as { stdout: string }).stdout;
  }
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

describe("layers", () => {
  it("src/ has no import cycle and no import that points up a layer", () => {
    expect(cruise(root).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });

  it("reports an upward import, a cycle and I/O in a pure layer in the fixture tree", () => {
    const found = cruise(join(root, "test", "fixtures", "layers")).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(found).toContain("layer-events: src/events/types.ts → src/runtime/engine.ts");
    expect(found).toContain("pure-no-io: src/plan/clock.ts → fs");
    expect(found.filter((v) => v.startsWith("no-circular: src/task/"))).not.toEqual([]);
    expect(found.every((v) => !v.includes("src/errors.ts"))).toBe(true);
  });
});
