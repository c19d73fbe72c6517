/**
 * Live snapshots of a run: `<out>/dots/000001.dot`, `<out>/pngs/000001.png`
 * (and `<out>/svgs/000001.svg` when asked), one per frame chosen by the
 * policy (see {@link SnapshotPolicy}). The DOT is built and written on the
 * run thread (it is cheap); layout and PNG happen in a worker thread, and
 * the run waits for them only when it ends.
 */
import { readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import { ensureWritableDir } from "../events/output-dir.ts";
import type { TrellisEvent } from "../events/types.ts";
import type { RunObserver } from "../plan/observer.ts";
import type { Plan } from "../plan/plan.ts";
import type { Frame, SnapshotPolicy } from "./frames.ts";
import { FrameSelector, SNAPSHOT_POLICIES } from "./frames.ts";
import type { ImageSink } from "./image-sink.ts";
import { InlineImageSink, WorkerImageSink } from "./image-sink.ts";
import type { ImageFormat, LayoutEngine } from "./images.ts";
import { IMAGE_FORMATS } from "./images.ts";

/** Options of {@link createSnapshotObserver}. */
export interface SnapshotOptions {
  /** The run's output folder; frames go to `dots/`, `pngs/`, `svgs/` under it. */
  readonly out: string;
  /** When to take a snapshot. Default `"auto"`. */
  readonly policy?: SnapshotPolicy;
  /** Images besides the DOT files. Default `["png"]`; `[]` writes DOT only. */
  readonly formats?: readonly ImageFormat[];
  /** Graphviz to use: embedded (default) or a system `dot`. */
  readonly layout?: LayoutEngine;
  /** Draw images in a worker thread (default) or on the run thread (`false`; tests). */
  readonly worker?: boolean;
  /** Group siblings above this many instances. Default 100. */
  readonly groupAbove?: number;
  /** Called once per image that could not be drawn. Default: a process warning. */
  readonly onError?: (error: TrellisError) => void;
}

/** A run observer that writes snapshots. */
export interface SnapshotObserver extends RunObserver {
  /** Frames taken so far. */
  readonly frames: number;
  /** Paths of the DOT files written, in order. */
  readonly dotFiles: readonly string[];
}

const FRAME_FILE = /^\d{6}\.(dot|png|svg)$/;

/** The frame folders Trellis writes under an output folder; nothing else in it is ever touched. */
export const FRAME_FOLDERS = ["dots", "pngs", "svgs"] as const;
export type FrameFolder = (typeof FRAME_FOLDERS)[number];

/** Paths of the frame folders of one output folder. */
export type SnapshotDirs = Readonly<Record<FrameFolder, string>>;

/** `000042` */
export function frameName(n: number): string {
  return String(n).padStart(6, "0");
}

/** True for the name of a frame file (`000042.png`), the only files Trellis removes. */
export function isFrameFile(name: string): boolean {
  return FRAME_FILE.test(name);
}

/** Folders of the snapshot files under `out`. */
export function snapshotDirs(out: string): SnapshotDirs {
  const root = resolve(out);
  return { dots: join(root, "dots"), pngs: join(root, "pngs"), svgs: join(root, "svgs") };
}

/** The frame folders a drawing in `formats` writes: `dots/` always, `pngs/`, `svgs/` as asked. */
export function foldersFor(formats: readonly ImageFormat[]): FrameFolder[] {
  return [
    "dots",
    ...(formats.includes("png") ? (["pngs"] as const) : []),
    ...(formats.includes("svg") ? (["svgs"] as const) : []),
  ];
}

function outputDirError(dir: string, error: unknown): TrellisError {
  return new TrellisError(
    ErrorCodes.OUTPUT_DIR,
    `cannot write snapshots to ${dir}: ${(error as Error).message}; choose a writable output folder`,
    { path: dir },
    { cause: error },
  );
}

/**
 * Removes the frame files (`000001.png`, ...) of an earlier run or drawing
 * from every frame folder under `out`, whatever formats are asked now: a run
 * with `formats: []` or `snapshots: "none"` must not leave the last run's
 * PNGs to be taken for its own. Other files are left alone.
 * @throws TrellisError `OUTPUT_DIR` when a folder cannot be cleared.
 */
export function clearFrames(out: string): void {
  for (const dir of Object.values(snapshotDirs(out))) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw outputDirError(dir, error);
    }
    try {
      for (const f of names) if (isFrameFile(f)) unlinkSync(join(dir, f));
    } catch (error) {
      throw outputDirError(dir, error);
    }
  }
}

/**
 * Creates the frame `folders` (see {@link foldersFor}; none for a run that
 * draws nothing) and, with `clear`, removes the frames of an earlier run
 * from all of them (see {@link clearFrames}), so the folder shows one run.
 * `out` is checked first: a folder that cannot be made or written fails
 * here, before anything runs.
 * @throws TrellisError `OUTPUT_DIR` when a folder cannot be created or cleared.
 */
export function prepareSnapshotDirs(out: string, folders: readonly FrameFolder[], clear: boolean): SnapshotDirs {
  const dirs = snapshotDirs(out);
  let current = resolve(out);
  try {
    ensureWritableDir(current);
    if (clear) clearFrames(out);
    for (const folder of folders) {
      current = dirs[folder];
      ensureWritableDir(current);
    }
  } catch (error) {
    if (error instanceof TrellisError) throw error;
    throw outputDirError(current, error);
  }
  return dirs;
}

/** Checks snapshot options; throws `INVALID_OPTION` naming the bad one. */
export function checkSnapshotOptions(policy: unknown, formats: unknown): void {
  if (policy !== undefined && !(SNAPSHOT_POLICIES as readonly unknown[]).includes(policy))
    throw new TrellisError(
      ErrorCodes.INVALID_OPTION,
      `option \`snapshots\` must be one of ${SNAPSHOT_POLICIES.join(", ")}, got ${JSON.stringify(policy) ?? String(policy)}`,
      {
        option: "snapshots",
      },
    );
  if (
    formats !== undefined &&
    (!Array.isArray(formats) || formats.some((f) => !(IMAGE_FORMATS as readonly unknown[]).includes(f)))
  )
    throw new TrellisError(
      ErrorCodes.INVALID_OPTION,
      `option \`formats\` must be an array of ${IMAGE_FORMATS.map((f) => `"${f}"`).join(", ")}, got ${JSON.stringify(formats) ?? String(formats)}`,
      {
        option: "formats",
      },
    );
}

/** Writes frames: DOT at once, images through a sink. Shared by live snapshots and `renderLog`. */
export class FrameWriter {
  readonly dotFiles: string[] = [];
  readonly #dirs: SnapshotDirs;
  readonly #formats: readonly ImageFormat[];
  readonly #sink: ImageSink;

  constructor(dirs: SnapshotDirs, formats: readonly ImageFormat[], sink: ImageSink) {
    this.#dirs = dirs;
    this.#formats = formats;
    this.#sink = sink;
  }

  write(frame: Frame): void {
    const name = frameName(frame.n);
    const dotPath = join(this.#dirs.dots, `${name}.dot`);
    try {
      writeFileSync(dotPath, frame.dot);
    } catch (error) {
      throw new TrellisError(
        ErrorCodes.OUTPUT_DIR,
        `cannot write ${dotPath}: ${(error as Error).message}`,
        { path: dotPath },
        { cause: error },
      );
    }
    this.dotFiles.push(dotPath);
    this.#sink.push({
      dot: frame.dot,
      png: this.#formats.includes("png") ? join(this.#dirs.pngs, `${name}.png`) : null,
      svg: this.#formats.includes("svg") ? join(this.#dirs.svgs, `${name}.svg`) : null,
    });
  }

  drain(): Promise<TrellisError[]> {
    return this.#sink.drain();
  }
}

function warn(error: TrellisError): void {
  process.emitWarning(error.message, { code: `TRELLIS_${error.code}` });
}

/**
 * A {@link RunObserver} that snapshots the plan. `run()` adds one when `out`
 * is given (option `snapshots`); use this directly to watch a run with
 * other settings.
 *
 * @example
 * const snapshots = createSnapshotObserver({ out: "outputs/demo", policy: "all", formats: ["png", "svg"] });
 * await run(root, inputs, { out: "outputs/demo", snapshots: "none", observers: [snapshots] });
 *
 * @throws TrellisError `OUTPUT_DIR` when the folders cannot be created;
 *   `INVALID_OPTION` for an unknown policy or format.
 */
export function createSnapshotObserver(options: SnapshotOptions): SnapshotObserver {
  const policy = options.policy ?? "auto";
  const formats = options.formats ?? ["png"];
  checkSnapshotOptions(policy, formats);
  const onError = options.onError ?? warn;
  if (policy === "none") {
    // No snapshots this time, and none of an earlier run left to be taken for this run's.
    prepareSnapshotDirs(options.out, [], true);
    return { frames: 0, dotFiles: [] };
  }
  const dirs = prepareSnapshotDirs(options.out, foldersFor(formats), true);
  const layout = options.layout ?? "wasm";
  const sink = options.worker === false ? new InlineImageSink(layout) : new WorkerImageSink(layout);
  const writer = new FrameWriter(dirs, formats, sink);
  const selector = new FrameSelector(
    options.groupAbove === undefined ? { policy } : { policy, dot: { groupAbove: options.groupAbove } },
  );
  let failed: TrellisError | null = null;
  const take = (frames: readonly Frame[]) => {
    if (failed) return;
    try {
      for (const f of frames) writer.write(f);
    } catch (error) {
      // A full disk must not stop the run: report once, stop drawing.
      failed = error as TrellisError;
      onError(failed);
    }
  };
  return {
    get frames() {
      return selector.count;
    },
    get dotFiles() {
      return writer.dotFiles;
    },
    // Frames are drawn from the run's own plan, before each event is folded into it: one fold per event.
    beforeEvent(event: TrellisEvent, plan: Plan) {
      take(selector.before(event, plan));
    },
    async close(plan: Plan) {
      take(selector.end(plan));
      for (const error of await writer.drain()) onError(error);
    },
  };
}
