/**
 * The six demos of SPEC section 11 and how each is expected to end, for
 * `trellis demos` (the demo tests check the full end states from the logs).
 */
import type { Json } from "../events/codec.ts";
import type { PromiseKind, RunStatus } from "../events/types.ts";

export interface DemoExpectation {
  /** File name under demos/ (compiled to dist/demos/), without its extension; also the output folder name. */
  readonly name: string;
  readonly status: RunStatus;
  /** The root's output, when the demo succeeds. */
  readonly output?: Json;
  /** The promise the demo breaks, when it halts. */
  readonly violation?: PromiseKind;
}

export const DEMOS: readonly DemoExpectation[] = [
  { name: "dynamic_static_preview", status: "succeeded", output: [4, 13] },
  { name: "map_reduce", status: "succeeded", output: 91 },
  { name: "multi_branching", status: "succeeded", output: ["3 = 3 × 1", "3 > 0"] },
  { name: "map_reduce_spawn_violation", status: "halted", violation: "LimitedSpawns" },
  { name: "static_preview", status: "succeeded", output: 9 },
  { name: "branch_violation", status: "halted", violation: "OnlySpecificNodesAllowed" },
];
