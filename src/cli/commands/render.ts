/**
 * `trellis render <events.jsonl>`: redraws the snapshots of a run from its
 * log, all of them or one, identical to the live ones under the same policy.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { ErrorCodes, TrellisError } from "../../errors.ts";
import type { SnapshotPolicy } from "../../render/frames.ts";
import { renderLog } from "../../render/render-log.ts";
import type { RenderLogOptions } from "../../render/render-log.ts";
import { CliError } from "../cli-error.ts";
import type { ExitCode } from "../../report/exit-codes.ts";
import { ExitCodes } from "../../report/exit-codes.ts";
import type { ImageFormat } from "../parse-flags.ts";
import { describeOutputs } from "../../report/summary.ts";

export interface RenderFlags {
  readonly out?: string;
  readonly step?: number;
  readonly formats?: ImageFormat[];
  readonly snapshots?: SnapshotPolicy;
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

export async function renderCommand(eventsSpec: string, flags: RenderFlags): Promise<ExitCode> {
  const path = resolve(eventsSpec);
  if (!existsSync(path))
    throw new CliError(
      ExitCodes.NO_INPUT,
      `cannot find the event log "${eventsSpec}"; name an events.jsonl written by a run (e.g. outputs/map_reduce/events.jsonl)`,
    );
  if (statSync(path).isDirectory())
    throw new CliError(
      ExitCodes.NO_INPUT,
      `"${eventsSpec}" is a folder; name the events.jsonl inside it (e.g. ${eventsSpec.replace(/\/$/, "")}/events.jsonl)`,
    );
  const out = resolve(flags.out ?? dirname(path));
  const options: RenderLogOptions = {
    out,
    ...(flags.step !== undefined ? { step: flags.step } : {}),
    ...(flags.formats !== undefined ? { formats: flags.formats } : {}),
    ...(flags.snapshots !== undefined ? { policy: flags.snapshots } : {}),
  };
  let result;
  try {
    result = await renderLog(path, options);
  } catch (error) {
    if (!(error instanceof TrellisError)) throw error;
    switch (error.code) {
      case ErrorCodes.LOG_FORMAT:
        // A log of another format version already says how to draw it.
        throw new CliError(
          ExitCodes.DATA,
          error.details["version"] !== undefined
            ? error.message
            : `${error.message}; render an events.jsonl written by a Trellis run`,
        );
      case ErrorCodes.INVALID_OPTION:
        throw new CliError(ExitCodes.USAGE, `${error.message}; pick a --step the log has`);
      case ErrorCodes.OUTPUT_DIR:
        throw new CliError(ExitCodes.CANT_CREATE, error.message);
      default:
        throw new CliError(ExitCodes.SOFTWARE, `${error.code}: ${error.message.split("\n")[0] ?? ""}`);
    }
  }
  for (const w of result.warnings) process.stderr.write(`trellis: warning: ${w}\n`);
  if (flags.step !== undefined) {
    const files = result.dotFiles.map(shown).join(", ");
    process.stdout.write(
      `drew snapshot ${flags.step} of ${result.frames} from ${eventsSpec}: ${files} (images beside it in pngs/, svgs/)\n`,
    );
  } else
    process.stdout.write(
      `redrew ${result.frames} snapshot${result.frames === 1 ? "" : "s"} from ${eventsSpec}: ${describeOutputs(out)}\n`,
    );
  return ExitCodes.OK;
}
