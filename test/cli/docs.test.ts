// The command-line docs list what the command really has: every flag of every
// command in docs/cli.md, every exit code in docs/cli.md and the README.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCodes } from "../../dist/report/exit-codes.js";
import { main } from "../../dist/cli/main.js";
import { ROOT } from "./cli-process.ts";

const cliDoc = readFileSync(join(ROOT, "docs", "cli.md"), "utf8");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

/** The part of docs/cli.md about one command: from its heading to the next. */
function section(command: string): string {
  const start = cliDoc.indexOf(`## \`trellis ${command}`);
  const end = cliDoc.indexOf("\n## ", start + 1);
  return cliDoc.slice(start, end === -1 ? undefined : end);
}

async function flagsOf(command: string): Promise<string[]> {
  let help = "";
  const io = { stdout: { write: (t: string) => (help += t) }, stderr: { write: () => true } };
  expect(await main([command, "--help"], io)).toBe(0);
  return [...new Set([...help.matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]))].filter((f) => f !== "--help");
}

describe("docs/cli.md and the README agree with the command", () => {
  it.each(["run", "resume", "worker", "preview", "render", "view", "demos"])(
    "every flag of `trellis %s` is documented in its section",
    async (command) => {
      const doc = section(command);
      expect(doc.length).toBeGreaterThan(0);
      const missing = (await flagsOf(command)).filter((flag) => !doc.includes(`\`${flag}`));
      expect(missing).toEqual([]);
    },
  );

  it("every exit code is in docs/cli.md's table and in the README's list", () => {
    const readmeCodes = /Exit codes: ([^]*?)\. Every error/.exec(readme)?.[1] ?? "";
    for (const code of Object.values(ExitCodes)) {
      expect(cliDoc, `docs/cli.md: exit code ${code}`).toContain(`\n| ${code} |`);
      expect(readmeCodes, `README: exit code ${code}`).toMatch(new RegExp(`\\b${code}\\b`));
    }
  });
});
