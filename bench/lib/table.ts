/**
 * Formats rows as a plain-text table (terminal) or a Markdown table (the
 * note). One table per group; the columns are the union of the rows'
 * metric names, in first-seen order.
 */
import type { BenchRow, Cell } from "./row.ts";

/** A number with thousands separators and about three significant digits, or exactly `fixed` decimals. */
export function fmt(value: Cell, fixed?: number): string {
  if (value === null) return "–";
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = fixed ?? (abs >= 100 || Number.isInteger(value) ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function metCell(row: BenchRow): string {
  if (row.missing !== undefined) return "missing";
  if (row.met === true) return "met";
  if (row.met === false) return "**missed**";
  return "";
}

function columns(rows: readonly BenchRow[]): string[] {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r.metrics)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/** Rows grouped by `group`, groups in first-seen order. */
export function byGroup(rows: readonly BenchRow[]): Map<string, BenchRow[]> {
  const groups = new Map<string, BenchRow[]>();
  for (const r of rows) {
    const list = groups.get(r.group);
    if (list) list.push(r);
    else groups.set(r.group, [r]);
  }
  return groups;
}

function cells(row: BenchRow, cols: readonly string[]): string[] {
  const metrics = cols.map((c) => (row.missing !== undefined ? "" : fmt(row.metrics[c] ?? null, row.digits?.[c])));
  const note = row.missing !== undefined ? `missing: ${row.missing}` : (row.note ?? "");
  return [row.name, ...metrics, row.target ?? "", metCell(row), note];
}

/** A terminal table for one group. */
export function textTable(group: string, rows: readonly BenchRow[]): string {
  const cols = columns(rows);
  const header = ["case", ...cols, "target", "", "note"];
  const body = rows.map((r) => cells(r, cols).map((c) => c.replace(/\*\*/g, "")));
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...body.map((b) => (b[i] ?? "").length))));
  const line = (cs: readonly string[]) =>
    cs
      .map((c, i) => {
        const w = widths[i] ?? 0;
        const cut = c.length > w ? `${c.slice(0, w - 1)}…` : c;
        return i > 0 && i <= cols.length ? cut.padStart(w) : cut.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  return [`== ${group}`, line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

function md(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A Markdown table for one group, with the command of each row under it. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const cols = columns(rows);
  const header = ["case", ...cols, "target", "met", "note"];
  const align = ["---", ...cols.map(() => "---:"), "---", "---", "---"];
  const lines = [`| ${header.map(md).join(" | ")} |`, `|${align.join("|")}|`];
  for (const r of rows) lines.push(`| ${cells(r, cols).map(md).join(" | ")} |`);
  const commands = new Set(rows.map((r) => r.command));
  if (commands.size === 1) lines.push("", `Command: \`${rows[0]?.command ?? ""}\``);
  else {
    lines.push("", "Commands:", "");
    for (const r of rows) lines.push(`- ${md(r.name)}: \`${r.command}\``);
  }
  return lines.join("\n");
}
