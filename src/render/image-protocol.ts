/**
 * Messages between a snapshot observer and its image worker. Jobs are
 * answered in the order they were sent.
 */
import type { SerializedError } from "../errors.ts";
import type { LayoutEngine } from "./images.ts";

/** Draw one DOT source and write the files named (null: not asked for). */
export interface ImageJob {
  readonly dot: string;
  readonly png: string | null;
  readonly svg: string | null;
}

export type HostToWorker = { readonly type: "render"; readonly id: number; readonly job: ImageJob; readonly layout: LayoutEngine };

export type WorkerToHost =
  | { readonly type: "done"; readonly id: number }
  | { readonly type: "failed"; readonly id: number; readonly error: SerializedError };
