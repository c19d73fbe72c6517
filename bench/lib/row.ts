/**
 * The shape every benchmark returns: one row of a table in
 * `docs/benchmarks.md`. Bench modules export a function returning these, so
 * `bench/all.ts` can compose them.
 */

/** A cell: a number (formatted by the table) or text; `null` prints as `–`. */
export type Cell = string | number | null;

/** One measured (or missing) row. */
export interface BenchRow {
  /** The table it belongs to, e.g. `Engine overhead`. */
  readonly group: string;
  /** What was measured, e.g. `inline, N = 100,000`. */
  readonly name: string;
  /** Measured figures, column name → value, in column order. */
  readonly metrics: Readonly<Record<string, Cell>>;
  /** The target in words, e.g. `≤ 10 µs per task`; absent when the row has none. */
  readonly target?: string;
  /** Whether the target was met; `null` when there is no target or nothing was measured. */
  readonly met?: boolean | null;
  /** The command that prints this row on its own. */
  readonly command: string;
  /** A short remark (what the figure includes, why it is missing). */
  readonly note?: string;
  /** Set when the row could not be measured: the reason. */
  readonly missing?: string;
  /** The metric the target is about (a key of `metrics`), for the summary of targets. */
  readonly headline?: string;
  /** Fixed decimals for some metrics (e.g. 3 for a ratio compared with 1.05); others get about three significant digits. */
  readonly digits?: Readonly<Record<string, number>>;
}

/** Options every bench function takes. */
export interface BenchOptions {
  /** The `bench:quick` subset: smaller sizes, fewer cases. */
  readonly quick: boolean;
}

/** A row for something that could not be measured. */
export function missingRow(group: string, name: string, command: string, reason: string, target?: string): BenchRow {
  return { group, name, metrics: {}, command, missing: reason, met: null, ...(target !== undefined ? { target } : {}) };
}
