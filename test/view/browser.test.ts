/**
 * The viewer page in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): stepping through a run, the panels, the refused spawn,
 * an HTML task name shown as text, a log growing while the page is open,
 * and a malformed log. No sleeps: each check waits for the page to show it.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startViewer } from "../../dist/view/server.js";
import type { Viewer } from "../../dist/view/server.js";
import { XSS_NAME } from "../fixtures/view-flows.ts";
import { fanoutLog, launchBrowser, logLines, runLog, tempDir } from "./view-helpers.ts";

/** The little of the DOM the page-side callbacks use (the project's types have no DOM library). */
interface PageElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
}
/** An element with a box on the page, and its descendants. */
interface PageBox {
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
  querySelectorAll(selector: string): ArrayLike<PageBox & PageElement>;
  querySelector(selector: string): (PageBox & PageElement) | null;
}
declare const document: {
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  querySelector(selector: string): PageElement | null;
};

let browser: Browser;
let log = "";
let lines: string[] = [];
beforeAll(async () => {
  [browser, log] = await Promise.all([launchBrowser(), runLog()]);
  lines = logLines(log);
});
afterAll(async () => {
  await browser?.close();
});

interface Opened {
  readonly page: Page;
  readonly viewer: Viewer;
  /** Dialogs (alert, confirm) the page tried to open, and errors it threw. */
  readonly dialogs: string[];
  readonly errors: string[];
}
const opened: Opened[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.page.close();
    await o.viewer.close();
  }
});

async function openViewer(path: string, follow = false, groupAbove?: number): Promise<Opened> {
  const viewer = await startViewer({ log: path, follow, ...(groupAbove !== undefined ? { groupAbove } : {}) });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const o: Opened = { page, viewer, dialogs: [], errors: [] };
  opened.push(o);
  page.on("dialog", (d) => {
    o.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => o.errors.push(e.message));
  await page.goto(viewer.url);
  return o;
}

const stepLabel = (page: Page) => page.locator("#step-label");
async function waitText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([sel, want]) =>
      Array.from(document.querySelectorAll(sel as string)).some((el) =>
        (el.textContent ?? "").includes(want as string),
      ),
    [selector, text],
  );
}
/** Names of the instances drawn now (`data-id` of the SVG's nodes). */
function drawnIds(page: Page): Promise<string[]> {
  return page.$$eval("#graph g.node[data-id]", (nodes) =>
    nodes.map((n) => (n as unknown as PageElement).getAttribute("data-id") ?? ""),
  );
}

describe("the viewer page", () => {
  it("opens at the last step and moves through the steps with the slider and the arrow keys", async () => {
    const { page, errors } = await openViewer(log);
    const n = lines.length;
    await waitText(page, "#step-label", `step ${n} of ${n}`);
    await waitText(page, "#run-status", "succeeded");
    await page.waitForSelector("#graph g.node[data-id='view_main/view_flaky#1']");
    const atEnd = await drawnIds(page);
    expect(atEnd).toContain("view_main/view_stats#1");

    await page.locator("#slider").fill("2");
    await waitText(page, "#step-label", `step 2 of ${n}`);
    await waitText(page, "#event-text", "view_main created (the root)");
    await page.waitForFunction(() => document.querySelectorAll("#graph g.node[data-id]").length === 1);
    expect(await drawnIds(page)).toEqual(["view_main"]);

    await page.locator("#graph-wrap").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await waitText(page, "#step-label", `step 5 of ${n}`);
    await waitText(page, "#event-text", "view_main spawned view_main/view_square#1");
    await page.waitForSelector("#graph g.node[data-id='view_main/view_square#1']");
    await page.keyboard.press("ArrowLeft");
    await waitText(page, "#step-label", `step 4 of ${n}`);
    await page.waitForFunction(
      () => document.querySelector("#graph g.node[data-id='view_main/view_square#1']") === null,
    );

    // Play runs to the end and stops there.
    await page.locator("#slider").fill(String(n - 3));
    await waitText(page, "#step-label", `step ${n - 3} of ${n}`);
    await page.click("#play");
    await waitText(page, "#step-label", `step ${n} of ${n}`);
    await waitText(page, "#play", "▶");
    expect(await stepLabel(page).textContent()).toBe(`step ${n} of ${n}`);
    expect(errors).toEqual([]);
  });

  it("shows a task's panel on click: decoded output, history, logs, promises; and the error with its stack", async () => {
    const { page } = await openViewer(log);
    await page.click("#graph g.node[data-id='view_main/view_stats#1']");
    await waitText(page, "#node-panel .node-id", "view_main/view_stats#1");
    expect(await page.textContent("#node-panel .node-task")).toBe("view_stats");
    expect(await page.textContent("#node-panel .node-output")).toBe("Map(1) { 'sum' => 5n }");
    expect(await page.textContent("#node-panel .node-inputs")).toBe("{ values: [ 1, 4 ] }");
    const panel = (await page.textContent("#node-panel")) ?? "";
    expect(panel).toContain("counted");
    expect(panel).toContain("<script>alert(2)</script>");
    expect(panel).toContain("LimitedSpawns(view_square, 2)");
    expect(panel).toContain("2 / 2");

    await page.click("#graph g.node[data-id='view_main/view_flaky#1']");
    await waitText(page, "#node-panel .node-id", "view_main/view_flaky#1");
    const stack = (await page.textContent("#node-panel pre.stack")) ?? "";
    expect(stack).toContain("TypeError: flaky broke <i>twice</i>");
    expect(stack).toMatch(/\n\s+at /);
    expect(await page.textContent("#node-panel")).toContain("attempt 2 after 100 ms");
    expect(await page.locator("#node-panel i").count()).toBe(0);

    // A bar of the task stream selects its task too.
    await page.click("#lanes .bar[data-id='view_main/view_square#2']");
    await waitText(page, "#node-panel .node-id", "view_main/view_square#2");
  });

  it("shows a From in a task's inputs as a link to its producer, with the value it resolves to", async () => {
    const { page, errors } = await openViewer(log);
    await page.click("#graph g.node[data-id='view_main/view_total#1']");
    await waitText(page, "#node-panel .node-id", "view_main/view_total#1");
    expect(await page.textContent("#node-panel .node-inputs")).toBe(
      "{\n  stats: From(view_main/view_stats#1),\n  first: From(view_main/view_square#1)\n}",
    );
    const stats = page.locator("#node-panel tr[data-from='view_main/view_stats#1']");
    expect(await stats.locator(".from-value").textContent()).toBe("Map(1) { 'sum' => 5n }");
    expect(await stats.locator(".st").textContent()).toBe("succeeded");
    expect(await page.locator("#node-panel tr[data-from='view_main/view_square#1'] .from-value").textContent()).toBe(
      "1",
    );
    // The producer's id selects it.
    await stats.locator("button.linkish").click();
    await waitText(page, "#node-panel .node-id", "view_main/view_stats#1");
    await page.waitForSelector("#graph g.node.selected[data-id='view_main/view_stats#1']");
    expect(await page.textContent("#node-panel .node-output")).toBe("Map(1) { 'sum' => 5n }");
    expect(errors).toEqual([]);
  });

  it("opens a big run at its last step without being sent every event, asks for a step's words when it shows it, and draws its long task stream in few bars", async () => {
    const big = await fanoutLog(1000);
    const total = logLines(big).length;
    const viewer = await startViewer({ log: big, follow: false });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    opened.push({ page, viewer, dialogs: [], errors: [] });
    const asked: string[] = [];
    page.on("request", (r) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search));
    await page.goto(viewer.url);
    await page.waitForSelector(`#graph[data-step="${total}"] svg`);
    await waitText(page, "#event-text", `#${total} run.finished`);
    await waitText(page, "#run-status", "succeeded");
    // The drawing is grouped; the last event's words came with the log's length, no page of words was asked for.
    await page.waitForSelector("#graph g.node.kind-group");
    expect(asked.filter((a) => a.startsWith("/api/events"))).toEqual([]);
    // What the page is told of the log (here and on its stream) is its length and last event: a few hundred bytes.
    expect((await (await fetch(`${viewer.url}api/log`)).text()).length).toBeLessThan(1_000);

    const fifth = JSON.parse(logLines(big)[4] as string) as { type: string };
    await page.locator("#slider").fill("5");
    await waitText(page, "#event-text", `#5 ${fifth.type}`);
    expect(asked.filter((a) => a.startsWith("/api/events"))).toEqual(["/api/events?from=1&to=400"]);
    await page.locator("#slider").fill(String(total));
    await page.waitForSelector(`#graph[data-step="${total}"] svg`);

    // 1,000 tasks, one after the other in one slot: drawn as a few hundred bars, each counting what it stands for.
    await page.waitForSelector(`#lanes[data-step="${total}"] .bar`);
    const counts = await page.$$eval("#lanes .bar", (bars) =>
      bars.map((b) => Number((b as unknown as PageElement).getAttribute("data-count"))),
    );
    expect(counts.length).toBeLessThan(500);
    // The 1,000 children, and the parent's two stretches (to its wait, and from it to its end).
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1002);
    expect(await page.textContent("#lanes .lane-name")).toBe("slot 1");
    await page.locator("#lanes .bar.many").first().click();
    await page.waitForSelector("#node-panel .node-id");
    expect(await page.textContent("#node-panel .node-id")).toMatch(/^view_fanout\/view_noop#\d+$/);
  }, 60_000);

  it("shows the broken promise in the promise panel and the refused spawn as a red ghost", async () => {
    const { page } = await openViewer(log);
    await waitText(
      page,
      "#promise-panel .violation",
      "LimitedSpawns(view_square, 2) of view_main broken by view_main: limit 2, attempted 3",
    );
    expect(await page.textContent("#promise-panel .violation")).toContain("refused view_main/view_square#3");
    const refused = page.locator("#graph g.node.kind-refused");
    await refused.waitFor();
    expect(await refused.textContent()).toContain("view_square");
    expect(await refused.textContent()).toContain("refused");
    expect(await refused.locator("path, polygon").first().getAttribute("stroke")).toBe("#d62728");
    const violationSeq = lines.findIndex((l) => l.includes('"promise.violated"')) + 1;
    // The step before the violation has no refused spawn.
    await page.locator("#slider").fill(String(violationSeq - 1));
    await waitText(page, "#step-label", `step ${violationSeq - 1} of`);
    await page.waitForFunction(() => document.querySelector("#graph g.node.kind-refused") === null);
    await waitText(page, "#promise-panel", "Violations (0)");
  });

  it("shows a task named like an HTML tag as text, and runs no script from the log", async () => {
    const { page, dialogs, errors } = await openViewer(log);
    const id = `view_main/${XSS_NAME}#1`;
    const node = page.locator("#graph g.node", { hasText: XSS_NAME });
    await node.waitFor();
    await node.click();
    await waitText(page, "#node-panel .node-id", id);
    expect(await page.textContent("#node-panel .node-id")).toBe(id);
    expect(await page.textContent("#node-panel .node-task")).toBe(XSS_NAME);
    expect(await page.textContent("#node-panel .node-output")).toBe("'<b>not bold</b>'");
    await page.fill("#search", "onerror");
    await waitText(page, "#search-results", id);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("#node-panel b, #search-results img, #graph img").count()).toBe(0);
    expect(await page.evaluate(() => document.querySelectorAll("script").length)).toBe(1);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("expands a group of a grouped drawing to its members on click, and collapses it back", async () => {
    const { page, errors } = await openViewer(log, false, 3);
    const group = page.locator("#graph g.node.kind-group", { hasText: "view_square ×2" });
    await group.waitFor();
    expect(await page.locator("#graph g.node[data-id^='view_main/view_square#']").count()).toBe(0);
    await group.click();
    await page.waitForSelector("#graph g.node[data-id='view_main/view_square#2']");
    expect(await drawnIds(page)).toEqual(
      expect.arrayContaining(["view_main/view_square#1", "view_main/view_square#2"]),
    );
    expect(await page.locator("#graph g.node[data-member='view_main/view_square']").count()).toBe(2);
    expect(await page.locator("#graph g.node.kind-group", { hasText: "view_square" }).count()).toBe(0);
    const collapse = page.locator("#expanded button");
    expect(await collapse.textContent()).toBe("▾ 2 instances of view_square under view_main");
    // A member is a task like any other: its panel opens on click, and the group stays expanded from step to step.
    await page.click("#graph g.node[data-id='view_main/view_square#1']");
    await waitText(page, "#node-panel .node-id", "view_main/view_square#1");
    await page.locator("#graph-wrap").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("ArrowLeft");
    await waitText(page, "#step-label", `step ${lines.length - 1} of`);
    await page.waitForSelector(`#graph[data-step="${lines.length - 1}"] g.node[data-id='view_main/view_square#2']`);

    await collapse.click();
    await group.waitFor();
    expect(await page.locator("#graph g.node[data-id^='view_main/view_square#']").count()).toBe(0);
    await page.waitForSelector("#expanded", { state: "hidden" });
    expect(errors).toEqual([]);
  });

  it("follows a log that grows while the page is open", async () => {
    const dir = tempDir();
    const path = join(dir, "events.jsonl");
    writeFileSync(path, lines.slice(0, 4).join(""));
    const { page } = await openViewer(path, true);
    const n = lines.length;
    await waitText(page, "#step-label", "step 4 of 4");
    await page.waitForSelector("#live:not([hidden])");
    const half = lines[4] as string;
    appendFileSync(path, half.slice(0, 15));
    appendFileSync(path, half.slice(15) + lines.slice(5, 20).join(""));
    await waitText(page, "#step-label", "step 20 of 20");
    await page.waitForSelector("#graph g.node[data-id='view_main/view_square#2']");
    appendFileSync(path, lines.slice(20).join(""));
    await waitText(page, "#step-label", `step ${n} of ${n}`);
    await waitText(page, "#run-status", "succeeded");
    await page.waitForSelector("#graph g.node[data-id='view_main/view_flaky#1']");
    await page.waitForSelector("#live[hidden]", { state: "attached" });
  });

  it("keeps every drawn node where it was while a live log grows", async () => {
    const path = join(tempDir(), "events.jsonl");
    writeFileSync(path, lines.slice(0, 2).join(""));
    const { page, errors } = await openViewer(path, true);
    /** Where each node (by its title) was first drawn, in pixels from the picture's top-left corner. */
    const first = new Map<string, string>();
    let moved: string[] = [];
    let steps = 0;
    for (let written = 2, chunk = 0; written < lines.length; chunk++) {
      const upTo = Math.min(written + 1 + (chunk % 3), lines.length);
      appendFileSync(path, lines.slice(written, upTo).join(""));
      written = upTo;
      await page.waitForSelector(`#graph[data-step="${upTo}"] svg`);
      steps++;
      const centres = await page.$$eval("#graph svg", (svgs) => {
        const svg = svgs[0] as unknown as PageBox;
        const corner = svg.getBoundingClientRect();
        return Array.from(svg.querySelectorAll("g.node")).map((g) => {
          const shape = g.querySelector("path, polygon") as PageBox;
          const r = shape.getBoundingClientRect();
          const x = r.left + r.width / 2 - corner.left;
          const y = r.top + r.height / 2 - corner.top;
          return [g.querySelector("title")?.textContent ?? "", `${x.toFixed(1)},${y.toFixed(1)}`] as const;
        });
      });
      for (const [title, at] of centres) {
        const was = first.get(title);
        if (was === undefined) first.set(title, at);
        else if (was !== at) moved = [...moved, `${title} from ${was} to ${at} at step ${upTo}`];
      }
    }
    expect(moved).toEqual([]);
    expect(steps).toBeGreaterThan(10);
    expect([...first.keys()]).toContain("view_main/view_flaky#1");
    await waitText(page, "#run-status", "succeeded");
    expect(errors).toEqual([]);
  });

  it("says why a malformed log cannot be read, and shows the steps before the bad line", async () => {
    const dir = tempDir();
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, `${lines.slice(0, 3).join("")}this is not json\n${lines.slice(4).join("")}`);
    const { page } = await openViewer(bad);
    await waitText(page, "#problem", "The log cannot be read past line 4");
    expect(await page.textContent("#problem")).toContain("not valid JSON");
    await waitText(page, "#step-label", "step 3 of 3");
    await page.waitForSelector("#graph g.node[data-id='view_main']");

    const junk = join(dir, "junk.jsonl");
    writeFileSync(junk, "<html>not a log</html>\n");
    const other = await openViewer(junk);
    await waitText(other.page, "#problem", "The log cannot be read past line 1");
    await waitText(other.page, "#problem", "No event could be shown.");
    await waitText(other.page, "#graph", "nothing to draw");

    const cut = join(dir, "cut.jsonl");
    writeFileSync(cut, `${lines.slice(0, 6).join("")}${(lines[6] as string).slice(0, 25)}`);
    const third = await openViewer(cut);
    await waitText(third.page, "#problem", "The last line of the log is cut off");
    await waitText(third.page, "#step-label", "step 6 of 6");
  });
});
