/**
 * Messages between a snapshot observer and its image worker. Jobs are
 * answered in the order they were sent.
 */
import type { SerializedError } from "../errors.ts";

/** Which Graphviz lays the graph out: the embedded one (default) or a `dot` on the PATH. */
export type LayoutEngine = "wasm" | "system";

/** Draw one DOT source and write the files named (null: not asked for). */
export interface ImageJob {
  readonly dot: string;
  readonly png: string | null;
  readonly svg: string | null;
}

export type HostToImageWorker = {
  readonly type: "render";
  readonly id: number;
  readonly job: ImageJob;
  readonly layout: LayoutEngine;
};

export type ImageWorkerToHost =
  | { readonly type: "done"; readonly id: number }
  | { readonly type: "failed"; readonly id: number; readonly error: SerializedError };
