/**
 * Each of the six demos in the viewer page (headless Chromium): at several
 * steps, the drawing holds as many nodes and edges as the plan folded from
 * the log up to that step (`foldEvents(events.slice(0, k))`) draws:
 * instances, open placeholders, ghosts and refused spawns. One browser and
 * one page per demo; each demo runs once (`trellis run`, inline, no
 * snapshots) in its own process, as task names are unique per process and
 * the demos share some.
 *
 * It also takes the README's screenshots of the viewer (map_reduce at its
 * last step; map_reduce_spawn_violation with its refused spawn drawn as a
 * red ghost): always into the test's temporary folder, and into
 * docs/images/viewer-<demo>.png when TRELLIS_UPDATE_SCREENSHOTS=1.
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { foldEvents } from "trellis";
import type { TrellisEvent } from "trellis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMOS } from "../../dist/cli/demo-list.js";
import { drawPlan } from "../../dist/render/dot.js";
import { refusedSpawns } from "../../dist/render/refused.js";
import { startViewer } from "../../dist/view/server.js";
import { demoRunLog, launchBrowser, tempDir } from "./view-helpers.ts";

let browser: Browser;
/** Each demo's log, the runs started together while the browser starts. */
const logs = new Map<string, Promise<{ log: string; events: TrellisEvent[] }>>();
beforeAll(async () => {
  for (const { name } of DEMOS) logs.set(name, demoLog(name));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = tempDir("trellis-view-shots-");
const UPDATE_SCREENSHOTS = process.env["TRELLIS_UPDATE_SCREENSHOTS"] === "1";

/** The demos the README shows in the viewer, at their last step, and what must be drawn before the picture is taken. */
const SCREENSHOTS: Readonly<Record<string, string>> = {
  map_reduce: "#graph g.node[data-id='square_batch/sum_reduce#1']",
  map_reduce_spawn_violation: "#graph g.node.kind-refused",
};

/** Saves the page as it is to the temporary folder, and to docs/images/ when asked; returns the temporary file. */
async function screenshot(page: Page, name: string): Promise<string> {
  const file = join(SHOTS, `viewer-${name}.png`);
  await page.screenshot({ path: file });
  if (UPDATE_SCREENSHOTS) copyFileSync(file, join(REPO, "docs", "images", `viewer-${name}.png`));
  return file;
}

/** Runs a compiled demo inline and returns its log's path and events (a violation demo halts: exit code 2). */
async function demoLog(name: string): Promise<{ log: string; events: TrellisEvent[] }> {
  const log = await demoRunLog(name);
  const events = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as TrellisEvent);
  return { log, events };
}

/** First, a few in between, last. */
function stepsToCheck(total: number): number[] {
  return [...new Set([1, Math.ceil(total / 4), Math.ceil(total / 2), Math.ceil((3 * total) / 4), total])];
}

/** Moves the page to step k and waits until the drawing shows it. */
async function goTo(page: Page, k: number): Promise<void> {
  await page.locator("#slider").fill(String(k));
  await page.waitForSelector(`#graph[data-step="${k}"] svg`);
}

async function drawnCounts(page: Page): Promise<{ nodes: number; instances: number; edges: number }> {
  const svg = page.locator("#graph svg");
  return {
    nodes: await svg.locator("g.node").count(),
    instances: await svg.locator("g.node[data-id]").count(),
    edges: await svg.locator("g.edge").count(),
  };
}

describe("the viewer page on each demo", () => {
  for (const { name } of DEMOS) {
    it(`${name}: draws as many nodes and edges as the plan folded up to each step`, async () => {
      const { log, events } = await (logs.get(name) as Promise<{ log: string; events: TrellisEvent[] }>);
      const viewer = await startViewer({ log, follow: false });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      try {
        await page.goto(viewer.url);
        await page.waitForSelector(`#graph[data-step="${events.length}"] svg`);
        for (const k of stepsToCheck(events.length)) {
          await goTo(page, k);
          const prefix = events.slice(0, k);
          const plan = foldEvents(prefix);
          const drawing = drawPlan(plan, { refused: refusedSpawns(prefix) });
          const drawn = await drawnCounts(page);
          expect({ k, ...drawn }).toEqual({
            k,
            nodes: drawing.nodes.length,
            instances: plan.nodes.size,
            edges: drawing.edges.length,
          });
        }
        const shown = SCREENSHOTS[name];
        if (shown !== undefined) {
          await goTo(page, events.length);
          // Selected, so the task panel shows it too.
          await page.click(shown);
          await page.waitForSelector("#node-panel .node-id, #node-panel h2:text-is('refused')");
          // The panels come after the picture.
          await page.locator("#promise-panel h2", { hasText: /^Promises \(\d+\)$/ }).waitFor();
          await page.waitForSelector("#lanes .bar");
          expect(existsSync(await screenshot(page, name))).toBe(true);
        }
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        await viewer.close();
      }
    });
  }
});
