/**
 * Parsers and choices for the flags of `trellis`, shared by the commands.
 * Each throws commander's `InvalidArgumentError`, which the CLI turns into
 * one line and exit code 64.
 */
import { InvalidArgumentError } from "commander";
import { ViolationPolicies } from "../events/types.ts";
import { SNAPSHOT_POLICIES } from "../render/snapshot-policy.ts";
import { IMAGE_FORMATS } from "../render/images.ts";
import type { ImageFormat } from "../render/images.ts";
import { ExecutorKinds } from "../runtime/executor.ts";

// One list per option, defined where the option is used; the CLI offers the same choices.
export { ExecutorKinds as EXECUTORS, IMAGE_FORMATS, SNAPSHOT_POLICIES, ViolationPolicies as VIOLATION_POLICIES };
export type { ImageFormat };
export const PROGRESS_MODES = ["auto", "tty", "plain", "off"] as const;

/** `--workers 4`: a positive integer. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer such as 4, got "${value}".`);
  return n;
}

/** `--port 8080`: 0 (a free port) to 65535. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n > 65535)
    throw new InvalidArgumentError(`expected a port from 0 (any free port) to 65535, got "${value}".`);
  return n;
}

/** `--step 12`: a snapshot number, as in `dots/000012.dot` (1, 2, ...). */
export function parseStep(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a snapshot number such as 12 (as in dots/000012.dot), got "${value}".`);
  return n;
}

/** `--formats png,svg`: a comma-separated subset of png and svg; `none` for DOT only. */
export function parseFormats(value: string): ImageFormat[] {
  const parts = value
    .split(",")
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p.length > 0);
  if (parts.length === 1 && parts[0] === "none") return [];
  const bad = parts.filter((p) => !(IMAGE_FORMATS as readonly string[]).includes(p));
  if (parts.length === 0 || bad.length > 0)
    throw new InvalidArgumentError(
      `expected a comma-separated list of ${IMAGE_FORMATS.join(", ")} (or none), got "${value}".`,
    );
  return [...new Set(parts)] as ImageFormat[];
}
