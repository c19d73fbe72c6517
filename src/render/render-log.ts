/**
 * `renderLog`: redraws the snapshots of a run from its `events.jsonl`, all
 * of them or one. Frames are chosen by the same {@link FrameSelector} as the
 * live run, so with the same policy the numbering and every DOT file are
 * identical to the live snapshots.
 */
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { ensureWritableDir } from "../events/output-dir.ts";
import type { Frame, SnapshotPolicy } from "./frames.ts";
import { FrameSelector } from "./frames.ts";
import { InlineImageSink } from "./image-sink.ts";
import type { ImageFormat, LayoutEngine } from "./images.ts";
import { readEventLog } from "../events/read-log.ts";
import type { SnapshotDirs } from "./snapshots.ts";
import {
  FrameWriter,
  checkSnapshotOptions,
  clearFrames,
  foldersFor,
  prepareSnapshotDirs,
  snapshotDirs,
} from "./snapshots.ts";

/** Options of {@link renderLog}. */
export interface RenderLogOptions {
  /** Output folder (frames go to `dots/`, `pngs/`, `svgs/` under it). Default: the folder of the log. */
  readonly out?: string;
  /**
   * Draw only this snapshot: its number as in `dots/000042.dot` (1-based),
   * under the same `policy` as the live run. Default: every snapshot (the
   * frame files of an earlier drawing, in every frame folder, are replaced).
   */
  readonly step?: number;
  /** Images besides the DOT files. Default `["png"]`. */
  readonly formats?: readonly ImageFormat[];
  /** The snapshot policy the run used. Default `"auto"` (the default of `run`). */
  readonly policy?: SnapshotPolicy;
  /** Graphviz to use. Default `"wasm"` (embedded). */
  readonly layout?: LayoutEngine;
  /** Group siblings above this many instances (as the live run). Default 100. */
  readonly groupAbove?: number;
}

/** What {@link renderLog} did. */
export interface RenderLogResult {
  /** Snapshots the log has under the policy. */
  readonly frames: number;
  /** DOT files written, in order (their images sit beside them in `pngs/`, `svgs/`). */
  readonly dotFiles: readonly string[];
  /** One line per kind of event skipped (types from a newer version), and one for a last line cut off. */
  readonly warnings: readonly string[];
  /** `seq` of the last event read. */
  readonly lastSeq: number;
}

function unknownWarnings(unknown: Map<string, number[]>): string[] {
  const out: string[] = [];
  for (const [type, lines] of unknown) {
    const shown = lines.slice(0, 5).join(", ") + (lines.length > 5 ? ", …" : "");
    out.push(
      `skipped ${lines.length} event(s) of unknown type "${type}" (line ${shown}); they may come from a newer Trellis`,
    );
  }
  return out;
}

/** Moves the frames drawn in `staging` into `dirs`; with `clear`, the old frames go first. */
function swapIn(
  staging: SnapshotDirs,
  dirs: SnapshotDirs,
  out: string,
  formats: readonly ImageFormat[],
  clear: boolean,
): void {
  if (clear) clearFrames(out);
  for (const folder of foldersFor(formats)) {
    const from = staging[folder];
    const to = dirs[folder];
    try {
      ensureWritableDir(to);
      for (const f of readdirSync(from)) renameSync(join(from, f), join(to, f));
    } catch (error) {
      throw new TrellisError(
        ErrorCodes.OUTPUT_DIR,
        `cannot move the new snapshots into ${to}: ${(error as Error).message}`,
        { path: to },
        { cause: error },
      );
    }
  }
}

/**
 * Redraws the snapshots of `eventsPath`. The frames are drawn in a hidden
 * folder inside `out` and moved into `dots/`, `pngs/`, `svgs/` only when
 * every one was drawn: a render that fails leaves the frames already there
 * as they were.
 *
 * @example
 * const { dotFiles, warnings } = await renderLog("outputs/map_reduce/events.jsonl", { step: 3 });
 *
 * @throws TrellisError `LOG_FORMAT` for an unreadable log, a malformed line
 *   (`details.line`), a log with no event, or a log of another format
 *   version (`details.version`);
 *   a last line cut off (a killed run) is not an error: the events before it
 *   are drawn and `warnings` says so.
 *   `OUTPUT_DIR` when the folder cannot be written; `INVALID_OPTION` for a
 *   bad option or a `step` the log does not have; `RENDER` when an image
 *   cannot be drawn.
 */
export async function renderLog(eventsPath: string, options: RenderLogOptions = {}): Promise<RenderLogResult> {
  const policy = options.policy ?? "auto";
  const formats = options.formats ?? ["png"];
  checkSnapshotOptions(policy, formats);
  const step = options.step;
  if (step !== undefined && (!Number.isInteger(step) || step < 1))
    throw new TrellisError(
      ErrorCodes.INVALID_OPTION,
      `option \`step\` must be a snapshot number (1, 2, ...), got ${JSON.stringify(step) ?? String(step)}`,
      {
        option: "step",
      },
    );
  try {
    if (!statSync(eventsPath).isFile()) throw new Error("not a file");
  } catch (error) {
    throw new TrellisError(
      ErrorCodes.LOG_FORMAT,
      `cannot read the event log ${eventsPath}: ${(error as Error).message}`,
      { path: eventsPath, line: 0 },
    );
  }
  const out = resolve(options.out ?? dirname(eventsPath));
  let stagingRoot: string;
  try {
    stagingRoot = mkdtempSync(join(ensureWritableDir(out), ".trellis-render-"));
  } catch (error) {
    throw new TrellisError(
      ErrorCodes.OUTPUT_DIR,
      `cannot write snapshots to ${out}: ${(error as Error).message}; choose a writable output folder`,
      { path: out },
      { cause: error },
    );
  }
  try {
    const staging = prepareSnapshotDirs(stagingRoot, foldersFor(formats), false);
    const result = await drawFrames(eventsPath, staging, formats, policy, step, options);
    const dirs = snapshotDirs(out);
    swapIn(staging, dirs, out, formats, step === undefined);
    return { ...result, dotFiles: result.dotFiles.map((f) => join(dirs.dots, basename(f))) };
  } finally {
    rmSync(stagingRoot, { recursive: true, force: true });
  }
}

/** Draws the frames of the log into `dirs`; throws on the first problem. */
async function drawFrames(
  eventsPath: string,
  dirs: SnapshotDirs,
  formats: readonly ImageFormat[],
  policy: SnapshotPolicy,
  step: number | undefined,
  options: RenderLogOptions,
): Promise<RenderLogResult> {
  const writer = new FrameWriter(dirs, formats, new InlineImageSink(options.layout ?? "wasm"));
  const dot = options.groupAbove === undefined ? {} : { groupAbove: options.groupAbove };
  const selector = new FrameSelector(step === undefined ? { policy, dot } : { policy, dot, only: step });
  const take = (frames: readonly Frame[]) => {
    for (const f of frames) if (step === undefined || f.n === step) writer.write(f);
  };
  const unknown = new Map<string, number[]>();
  const warnings: string[] = [];
  let lastSeq = 0;
  let failure: unknown = null;
  try {
    for await (const line of readEventLog(eventsPath)) {
      switch (line.kind) {
        case "unknown": {
          const lines = unknown.get(line.type);
          if (lines) lines.push(line.line);
          else unknown.set(line.type, [line.line]);
          lastSeq = line.seq;
          break;
        }
        case "cut":
          warnings.push(
            `line ${line.line} of ${eventsPath} is cut off (the run was stopped while writing it); drew the ${lastSeq} event(s) before it`,
          );
          break;
        case "event":
          take(selector.push(line.event));
          lastSeq = line.event.seq;
          break;
        default: {
          const never: never = line;
          void never;
        }
      }
    }
    take(selector.end());
  } catch (error) {
    failure = error;
  }
  // The images already queued are finished (or failed) before the staging folder goes.
  const errors = await writer.drain();
  if (failure) throw failure;
  if (errors.length > 0) throw errors[0] as TrellisError;
  if (lastSeq === 0)
    throw new TrellisError(ErrorCodes.LOG_FORMAT, `${eventsPath} holds no events`, { path: eventsPath, line: 0 });
  if (step !== undefined && step > selector.count)
    throw new TrellisError(
      ErrorCodes.INVALID_OPTION,
      `snapshot ${step} does not exist: ${eventsPath} has ${selector.count} snapshot(s) under the "${policy}" policy`,
      { option: "step", step, frames: selector.count },
    );
  return {
    frames: selector.count,
    dotFiles: writer.dotFiles,
    warnings: [...unknownWarnings(unknown), ...warnings],
    lastSeq,
  };
}
