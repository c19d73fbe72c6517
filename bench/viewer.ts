/**
 * The viewer (`trellis view`) in headless Chromium (Debian's `chromium`,
 * driven by playwright-core), each figure the median of a few repetitions:
 *
 * - opening the log of a 10,000-task run (a fan-out of 10,000 no-op
 *   children, run inline with no snapshots): from starting the viewer's
 *   server to the final step drawn in the page (the page's mark of it);
 * - moving the slider one step on a 1,000-node plan (a fan-out of 999): from
 *   the slider's `input` event to the redrawn picture, timed in the page,
 *   each time to a step not drawn before (no cached drawing).
 *
 *   npx tsx bench/viewer.ts            # prints the table
 *   TRELLIS_CHROMIUM=/path/to/chrome npx tsx bench/viewer.ts
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, Page } from "playwright-core";
import { run } from "trellis";
import { startViewer } from "../dist/view/server.js";
import { isEntry } from "./lib/cli.ts";
import { benchRunOptions } from "./lib/engine-env.ts";
import type { BenchOptions, BenchRow } from "./lib/row.ts";
import { missingRow } from "./lib/row.ts";
import { textTable } from "./lib/table.ts";
import { benchFanout } from "./tasks/noop-tasks.ts";

export const VIEWER_GROUP = "Viewer";
const COMMAND = "npx tsx bench/viewer.ts";
const CHROMIUM = process.env["TRELLIS_CHROMIUM"] ?? "/usr/bin/chromium";
const OPEN_TASKS = 10_000;
const OPEN_TARGET_MS = 2_000;
const STEP_NODES = 1_000;
const STEP_TARGET_MS = 100;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Runs a fan-out of `children` no-op tasks inline and returns its log (and how to remove it). */
async function fanoutLog(children: number): Promise<{ log: string; events: number; cleanup: () => void }> {
  const { options, outDir, cleanup } = benchRunOptions({ executor: "inline", formats: [] });
  await run(benchFanout, { n: children }, options);
  const log = join(outDir, "events.jsonl");
  const events = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "").length;
  return { log, events, cleanup };
}

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Server start to the last step drawn, in ms. The end is the page's own mark
 * (`trellis:drawn <n>`, on the wall clock both share), not when this process
 * hears of it: the server runs in this process, and its work after the
 * drawing (the panels, the task stream) would delay the news.
 */
async function openOnce(browser: Browser, log: string, events: number): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    const started = performance.timeOrigin + performance.now();
    const viewer = await startViewer({ log, follow: false });
    try {
      await page.goto(viewer.url);
      await page.waitForSelector(`#graph[data-step="${events}"] svg`, { timeout: 120_000 });
      const drawn = (await page.evaluate(`(() => {
        const mark = performance.getEntriesByName("trellis:drawn ${events}")[0];
        return mark === undefined ? null : performance.timeOrigin + mark.startTime;
      })()`)) as number | null;
      if (drawn === null) throw new Error(`the page drew step ${events} without marking it`);
      return drawn - started;
    } finally {
      await viewer.close();
    }
  } finally {
    await page.close();
  }
}

/** Moves the slider to step k and times, in the page, the `input` event to the drawing of step k. */
function stepOnce(page: Page, k: number): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    const graph = document.getElementById("graph");
    const slider = document.getElementById("slider");
    const started = performance.now();
    const seen = new MutationObserver(() => {
      if (graph.dataset.step === "${k}" && graph.querySelector("svg")) {
        seen.disconnect();
        resolve(performance.now() - started);
      }
    });
    seen.observe(graph, { attributes: true, childList: true });
    slider.value = "${k}";
    slider.dispatchEvent(new Event("input"));
  })`) as Promise<number>;
}

function row(name: string, ms: readonly number[], target: number, note: string): BenchRow {
  const m = median(ms);
  return {
    group: VIEWER_GROUP,
    name,
    metrics: { ms: m },
    target: target >= 1000 ? `≤ ${target / 1000} s` : `≤ ${target} ms`,
    met: m <= target,
    headline: "ms",
    command: COMMAND,
    note: `median of ${ms.length} (${ms.map((v) => Math.round(v)).join(" / ")} ms); ${note}`,
  };
}

export async function viewerRows(options: BenchOptions): Promise<BenchRow[]> {
  const openName = `open a ${OPEN_TASKS.toLocaleString("en-US")}-task run's log to its drawn final step`;
  const stepName = `move the slider one step, ${STEP_NODES.toLocaleString("en-US")}-node plan`;
  if (!existsSync(CHROMIUM)) {
    const why = `no Chromium at ${CHROMIUM} (set TRELLIS_CHROMIUM)`;
    return [
      missingRow(VIEWER_GROUP, openName, COMMAND, why, `≤ ${OPEN_TARGET_MS / 1000} s`),
      missingRow(VIEWER_GROUP, stepName, COMMAND, why, `≤ ${STEP_TARGET_MS} ms`),
    ];
  }
  const repeats = options.quick ? 3 : 5;
  const rows: BenchRow[] = [];
  const browser = await launch();
  try {
    const big = await fanoutLog(OPEN_TASKS);
    try {
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) times.push(await openOnce(browser, big.log, big.events));
      rows.push(
        row(
          openName,
          times,
          OPEN_TARGET_MS,
          `${big.events.toLocaleString("en-US")} events; a fresh server and page each time`,
        ),
      );
    } catch (error) {
      rows.push(missingRow(VIEWER_GROUP, openName, COMMAND, (error as Error).message, `≤ ${OPEN_TARGET_MS / 1000} s`));
    } finally {
      big.cleanup();
    }

    const mid = await fanoutLog(STEP_NODES - 1);
    const viewer = await startViewer({ log: mid.log, follow: false });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await page.goto(viewer.url);
      await page.waitForSelector(`#graph[data-step="${mid.events}"] svg`, { timeout: 60_000 });
      // One step back each time, from the end: the plan has its 1,000 nodes, and no step was drawn before.
      const times: number[] = [];
      for (let i = 1; i <= repeats; i++) times.push(await stepOnce(page, mid.events - i));
      rows.push(
        row(
          stepName,
          times,
          STEP_TARGET_MS,
          `${mid.events.toLocaleString("en-US")} events; a step back from the end each time, never drawn before`,
        ),
      );
    } catch (error) {
      rows.push(missingRow(VIEWER_GROUP, stepName, COMMAND, (error as Error).message, `≤ ${STEP_TARGET_MS} ms`));
    } finally {
      await page.close();
      await viewer.close();
      mid.cleanup();
    }
  } finally {
    await browser.close();
  }
  return rows;
}

if (isEntry(import.meta.url)) {
  const rows = await viewerRows({ quick: process.argv.includes("--quick") });
  console.log(textTable(VIEWER_GROUP, rows));
}
