/**
 * Exit codes of the `trellis` command. The run outcomes are 0/1/2; user
 * errors follow the BSD `sysexits.h` numbers so scripts can tell a bad
 * command line from a failed workflow.
 */
import type { RunStatus } from "../events/types.ts";

export const ExitCodes = {
  /** The run succeeded (or the command did what it was asked). */
  OK: 0,
  /** The run failed: the root task failed, was skipped, or the run deadlocked. */
  FAILED: 1,
  /** The run was halted by a broken promise. */
  HALTED: 2,
  /** Bad usage: unknown flag, bad flag value, unknown task, module without an entry. */
  USAGE: 64,
  /** Malformed data: `--input` is not JSON, a log line is not an event, the module throws on import. */
  DATA: 65,
  /** A file or module named on the command line does not exist. */
  NO_INPUT: 66,
  /** A service the command needs cannot be reached (`trellis worker`: Redis). */
  UNAVAILABLE: 69,
  /** An output folder or file cannot be created (`--out` not writable). */
  CANT_CREATE: 73,
  /** A bug in Trellis itself (an error that is not the user's): the stack is printed. */
  SOFTWARE: 70,
  /** Cancelled by Ctrl-C (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** The exit code for how a run ended: succeeded 0, failed 1, halted 2, cancelled 130. */
export function exitCodeFor(status: RunStatus): ExitCode {
  switch (status) {
    case "succeeded":
      return ExitCodes.OK;
    case "failed":
      return ExitCodes.FAILED;
    case "halted":
      return ExitCodes.HALTED;
    case "cancelled":
      return ExitCodes.INTERRUPTED;
    default: {
      const never: never = status;
      return never;
    }
  }
}
