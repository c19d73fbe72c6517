/**
 * `renderLog`: redraws the snapshots of a run from its `events.jsonl`, all
 * of them or one. Frames are chosen by the same {@link FrameSelector} as the
 * live run, so with the same policy the numbering and every DOT file are
 * identical to the live snapshots.
 */
import { statSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { Frame, SnapshotPolicy } from "./frames.ts";
import { FrameSelector } from "./frames.ts";
import { InlineImageSink } from "./image-sink.ts";
import type { ImageFormat, LayoutEngine } from "./images.ts";
import { readEventLog } from "./read-log.ts";
import { FrameWriter, checkSnapshotOptions, prepareSnapshotDirs } from "./snapshots.ts";

/** Options of {@link renderLog}. */
export interface RenderLogOptions {
  /** Output folder (frames go to `dots/`, `pngs/`, `svgs/` under it). Default: the folder of the log. */
  readonly out?: string;
  /**
   * Draw only this snapshot: its number as in `dots/000042.dot` (1-based),
   * under the same `policy` as the live run. Default: every snapshot (older
   * frame files in the folders are removed first).
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
  /** One line per kind of event skipped (types from a newer version). */
  readonly warnings: readonly string[];
  /** `seq` of the last event read. */
  readonly lastSeq: number;
}

function unknownWarnings(unknown: Map<string, number[]>): string[] {
  const out: string[] = [];
  for (const [type, lines] of unknown) {
    const shown = lines.slice(0, 5).join(", ") + (lines.length > 5 ? ", …" : "");
    out.push(`skipped ${lines.length} event(s) of unknown type "${type}" (line ${shown}); they may come from a newer Trellis`);
  }
  return out;
}

/**
 * Redraws the snapshots of `eventsPath`.
 *
 * @example
 * const { dotFiles, warnings } = await renderLog("outputs/map_reduce/events.jsonl", { step: 3 });
 *
 * @throws TrellisError `LOG_FORMAT` for an unreadable log or a malformed or
 *   truncated line (`details.line`); every snapshot before that line is
 *   written first, and the last one shows the state at the last good line.
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
    throw new TrellisError(ErrorCodes.INVALID_OPTION, `option \`step\` must be a snapshot number (1, 2, ...), got ${JSON.stringify(step) ?? String(step)}`, {
      option: "step",
    });
  try {
    if (!statSync(eventsPath).isFile()) throw new Error("not a file");
  } catch (error) {
    throw new TrellisError(ErrorCodes.LOG_FORMAT, `cannot read the event log ${eventsPath}: ${(error as Error).message}`, { path: eventsPath, line: 0 });
  }
  const out = options.out ?? dirname(eventsPath);
  const dirs = prepareSnapshotDirs(out, formats, step === undefined);
  const writer = new FrameWriter(dirs, formats, new InlineImageSink(options.layout ?? "wasm"));
  const dot = options.groupAbove === undefined ? {} : { groupAbove: options.groupAbove };
  const selector = new FrameSelector(step === undefined ? { policy, dot } : { policy, dot, only: step });
  const take = (frames: readonly Frame[]) => {
    for (const f of frames) if (step === undefined || f.n === step) writer.write(f);
  };
  const unknown = new Map<string, number[]>();
  let lastSeq = 0;
  let failure: unknown = null;
  try {
    for await (const line of readEventLog(eventsPath)) {
      if (line.kind === "unknown") {
        const lines = unknown.get(line.type);
        if (lines) lines.push(line.line);
        else unknown.set(line.type, [line.line]);
        lastSeq = line.seq;
        continue;
      }
      take(selector.push(line.event));
      lastSeq = line.event.seq;
    }
  } catch (error) {
    failure = error;
  }
  // Also after a bad line: the state at the last good line is drawn.
  if (!(failure instanceof TrellisError && failure.code === ErrorCodes.OUTPUT_DIR)) take(selector.end());
  const errors = await writer.drain();
  if (failure) throw failure;
  if (errors.length > 0) throw errors[0] as TrellisError;
  if (step !== undefined && step > selector.count)
    throw new TrellisError(
      ErrorCodes.INVALID_OPTION,
      `snapshot ${step} does not exist: ${eventsPath} has ${selector.count} snapshot(s) under the "${policy}" policy`,
      { option: "step", step, frames: selector.count },
    );
  return { frames: selector.count, dotFiles: writer.dotFiles, warnings: unknownWarnings(unknown), lastSeq };
}
