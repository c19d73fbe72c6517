import { describe, expect, test } from "vitest";
import { ErrorCodes, TrellisError, task } from "trellis";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof TrellisError ? error.code : `not a TrellisError: ${String(error)}`;
  }
  return undefined;
}

describe("task definitions are checked when defined", () => {
  const leaf = task({ name: "def_leaf" }, async () => 1);

  test("a duplicate name is refused", () => {
    expect(codeOf(() => task({ name: "def_leaf" }, async () => 2))).toBe(ErrorCodes.DUPLICATE_TASK);
  });

  test("an edges endpoint missing from calls is refused, naming it", () => {
    const other = task({ name: "def_other" }, async () => 1);
    let message = "";
    try {
      task({ name: "def_bad_edges", calls: [leaf], edges: [[leaf, other]] }, async () => 1);
    } catch (error) {
      message = (error as Error).message;
      expect((error as TrellisError).code).toBe(ErrorCodes.TASK_DEFINITION);
    }
    expect(message).toContain("def_other");
  });

  test("bad options are refused", () => {
    expect(codeOf(() => task({ name: "" }, async () => 1))).toBe(ErrorCodes.TASK_DEFINITION);
    expect(codeOf(() => task({ name: "a/b" }, async () => 1))).toBe(ErrorCodes.TASK_DEFINITION);
    expect(codeOf(() => task({ name: "def_r", retries: -1 }, async () => 1))).toBe(ErrorCodes.TASK_DEFINITION);
    expect(codeOf(() => task({ name: "def_t", timeoutMs: 0 }, async () => 1))).toBe(ErrorCodes.TASK_DEFINITION);
    expect(codeOf(() => task({ name: "def_l", labels: [""] }, async () => 1))).toBe(ErrorCodes.TASK_DEFINITION);
    expect(codeOf(() => task({ name: "def_u", colour: "red" } as never, async () => 1))).toBe(
      ErrorCodes.TASK_DEFINITION,
    );
    expect(codeOf(() => task({ name: "def_c", calls: [{} as never] }, async () => 1))).toBe(ErrorCodes.TASK_DEFINITION);
  });

  test("a definition records the module that defines it, for workers to import", () => {
    expect(leaf.module).toBe(new URL(import.meta.url).href);
  });

  test("names may hold characters unsafe in files or DOT (they are escaped where drawn)", () => {
    expect(task({ name: 'def "quoted" <b> ünï' }, async () => 1).name).toBe('def "quoted" <b> ünï');
  });
});
