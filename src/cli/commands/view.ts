/**
 * `trellis view <out-dir | events.jsonl>`: serves the viewer for a run's log
 * on this machine (127.0.0.1 unless `--host` says otherwise) until Ctrl-C,
 * following the log as it grows. `trellis run --view` starts the same
 * viewer for the run it starts (see `run.ts`).
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import type { Viewer } from "../../view/server.ts";
import { startViewer } from "../../view/server.ts";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes } from "../../report/exit-codes.ts";
import { openBrowser } from "../open-browser.ts";

export interface ViewFlags {
  readonly port?: number;
  readonly host?: string;
  readonly open?: boolean;
}

/** The log a `view` argument names: an output folder (its events.jsonl) or the log itself. */
export function logOf(spec: string): string {
  const path = resolve(spec);
  if (!existsSync(path))
    throw new CliError(
      ExitCodes.NO_INPUT,
      `cannot find "${spec}"; name a run's output folder (e.g. outputs/map_reduce) or its events.jsonl`,
    );
  if (!statSync(path).isDirectory()) return path;
  const log = join(path, "events.jsonl");
  if (!existsSync(log))
    throw new CliError(
      ExitCodes.NO_INPUT,
      `"${spec}" holds no events.jsonl; name the output folder of a run (its --out)`,
    );
  return log;
}

/** Starts a viewer, turning a port or host that cannot be listened on into a one-line usage error. */
export async function startViewerForCli(
  log: string,
  flags: ViewFlags,
  extra: { skipExisting?: boolean } = {},
): Promise<Viewer> {
  try {
    return await startViewer({
      log,
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.host !== undefined ? { host: flags.host } : {}),
      ...(extra.skipExisting !== undefined ? { skipExisting: extra.skipExisting } : {}),
    });
  } catch (error) {
    if (error instanceof TrellisError && error.code === ErrorCodes.USAGE)
      throw new CliError(ExitCodes.USAGE, `${error.message}; pick another --port (0 picks a free one) or --host`);
    throw error;
  }
}

export function announce(viewer: Viewer, flags: ViewFlags, write: (line: string) => void): void {
  write(`viewer: ${viewer.url}`);
  if (flags.open === true) openBrowser(viewer.url, (message) => process.stderr.write(`trellis: note: ${message}\n`));
}

/** Resolves at the first Ctrl-C (or SIGTERM). */
export function untilInterrupted(): Promise<void> {
  return new Promise((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export async function viewCommand(spec: string, flags: ViewFlags): Promise<ExitCode> {
  const log = logOf(spec);
  const viewer = await startViewerForCli(log, flags);
  announce(viewer, flags, (line) => process.stdout.write(`${line} (${spec}; Ctrl-C to stop)\n`));
  await untilInterrupted();
  await viewer.close();
  return ExitCodes.OK;
}
