/**
 * An error the user of the command line caused and can fix. The CLI prints
 * its message as one line (no stack) and exits with its code.
 */
import type { ExitCode } from "../report/exit-codes.ts";

export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: ExitCode;

  /** `message` names the problem and the fix, in one line. */
  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** First line of an error's message, for one-line reports of errors raised by user code. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split("\n").find((l) => l.trim().length > 0) ?? text;
  return line.trim();
}
