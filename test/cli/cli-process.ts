/** Runs `node bin/trellis.mjs ...` as a child process, as a user would. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/trellis.mjs", import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function trellis(
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; env?: Readonly<Record<string, string>> } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        timeout: options.timeoutMs ?? 60_000,
        env: { ...process.env, CI: "1", NO_COLOR: "1", ...options.env },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error); // killed by the timeout, or could not start
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** `trellis run <module>` on the inline executor into `out`, then the `flags`. */
export function inlineRun(module: string, out: string, ...flags: string[]): string[] {
  return ["run", module, "--executor", "inline", "--out", out, ...flags];
}

/** The user-error contract: exactly one line on stderr, no stack trace. */
export function expectOneLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${stderr}`);
  if (/\n\s+at /.test(stderr) || / at .*:\d+:\d+/.test(stderr))
    throw new Error(`stderr holds a stack trace:\n${stderr}`);
  return lines[0] ?? "";
}
