/**
 * `trellis render <events.jsonl>`: redraws the snapshots of a run from its log.
 */
import { resolve } from "node:path";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../exit-codes.ts";
import { ExitCodes } from "../exit-codes.ts";
import type { ImageFormat } from "../parse-flags.ts";
import { readEventLog } from "../read-log.ts";

export interface RenderFlags {
  readonly out?: string;
  readonly step?: number;
  readonly formats?: ImageFormat[];
}

export async function renderCommand(eventsPath: string, _flags: RenderFlags): Promise<ExitCode> {
  readEventLog(resolve(eventsPath), eventsPath);
  throw new CliError(ExitCodes.SOFTWARE, "drawing is not available yet in this build");
}
