/**
 * Rows from bench modules other helpers own. Each runs in a fresh process
 * through `run-module.ts`; a module that is missing, exports no row
 * function, throws or times out becomes a missing row with the reason, and
 * the rest of the run goes on. Rows of any reasonable shape are accepted and
 * turned into {@link BenchRow}s.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, runCase } from "./child.ts";
import type { BenchRow, Cell } from "./row.ts";
import { missingRow } from "./row.ts";

const KNOWN = new Set(["group", "name", "metrics", "target", "met", "command", "note", "missing", "headline"]);

function text(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Turns whatever a module returned for one row into a BenchRow. */
export function normalizeRow(item: unknown, group: string, command: string): BenchRow {
  if (item === null || typeof item !== "object") return { group, name: String(item), metrics: {}, command, met: null };
  const r = item as Record<string, unknown>;
  const metrics: Record<string, Cell> = {};
  if (r["metrics"] !== null && typeof r["metrics"] === "object")
    for (const [k, v] of Object.entries(r["metrics"] as Record<string, unknown>))
      metrics[k] = typeof v === "number" || typeof v === "string" || v === null ? v : JSON.stringify(v);
  for (const [k, v] of Object.entries(r)) {
    if (KNOWN.has(k) || k === "case" || k === "label") continue;
    if (typeof v === "number" || typeof v === "string") metrics[k] = v;
    else if (typeof v === "boolean") metrics[k] = String(v);
  }
  const met = r["met"];
  const missing = text(r["missing"]);
  const target = text(r["target"]);
  const note = text(r["note"]);
  const headline = text(r["headline"]);
  return {
    group: text(r["group"]) ?? group,
    name: text(r["name"]) ?? text(r["case"]) ?? text(r["label"]) ?? "(row)",
    metrics,
    command: text(r["command"]) ?? command,
    met: typeof met === "boolean" ? met : null,
    ...(target !== undefined ? { target } : {}),
    ...(note !== undefined ? { note } : {}),
    ...(missing !== undefined ? { missing } : {}),
    ...(headline !== undefined ? { headline } : {}),
  };
}

/** Runs `file`'s row function in a fresh process; never throws. */
export async function foreignRows(file: string, group: string, quick: boolean, timeoutMs: number): Promise<BenchRow[]> {
  const command = `npx tsx ${file}${quick ? " --quick" : ""}`;
  if (!existsSync(join(REPO_ROOT, file))) return [missingRow(group, file, command, `${file} does not exist yet`)];
  try {
    const { result } = await runCase<{ exportName: string; value: unknown }>(
      "bench/lib/run-module.ts",
      [file, ...(quick ? ["--quick"] : [])],
      { timeoutMs },
    );
    const value = result.value;
    const list = Array.isArray(value)
      ? value
      : value !== null && typeof value === "object" && Array.isArray((value as { rows?: unknown }).rows)
        ? (value as { rows: unknown[] }).rows
        : null;
    if (!list) return [missingRow(group, file, command, `${file}: ${result.exportName}() returned no array of rows`)];
    if (list.length === 0)
      return [missingRow(group, file, command, `${file}: ${result.exportName}() returned no rows`)];
    // Rows go under this run's group name, so the note's prose and order apply; a module that splits its rows into several groups keeps that split as a name prefix.
    const rows = list.map((item) => normalizeRow(item, group, command));
    const theirs = new Set(rows.map((r) => r.group));
    return rows.map((r) =>
      theirs.size > 1 && r.group !== group ? { ...r, group, name: `${r.group}: ${r.name}` } : { ...r, group },
    );
  } catch (error) {
    return [missingRow(group, file, command, (error as Error).message)];
  }
}
