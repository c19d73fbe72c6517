/**
 * The viewer's server without a browser: where it listens, what it answers
 * and refuses, the log it streams as the file grows, and the panels' data.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { LogTail } from "../../dist/view/log-tail.js";
import { startViewer } from "../../dist/view/server.js";
import type { LogMessage, Viewer } from "../../dist/view/server.js";
import { demoRunLog, fanoutLog, logLines, runLog, tempDir } from "./view-helpers.ts";

let log = "";
let lines: string[] = [];
beforeAll(async () => {
  log = await runLog();
  lines = logLines(log);
});

const open: Viewer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()));
});

async function viewer(options: Parameters<typeof startViewer>[0]): Promise<Viewer> {
  const v = await startViewer(options);
  open.push(v);
  return v;
}

function get(
  url: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Reads server-sent events one `data:` message at a time. */
async function sse(url: string): Promise<{ next(): Promise<LogMessage>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split("\n")
            .filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6))
            .join("\n");
          if (data !== "") return JSON.parse(data) as LogMessage;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    close: () => controller.abort(),
  };
}

/** The nodes of a drawn SVG (by title) that overlap one another. */
function overlapping(svg: string): string[] {
  const boxes = [...svg.split('<g id="node').slice(1)].map((group) => {
    const title = /<title>([^<]*)<\/title>/.exec(group)?.[1] ?? "";
    const shape = /<(?:path|polygon) [^>]*(?: d| points)="([^"]+)"/.exec(group)?.[1] ?? "";
    const numbers = (shape.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
    const xs = numbers.filter((_, i) => i % 2 === 0);
    const ys = numbers.filter((_, i) => i % 2 === 1);
    return { title, x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  });
  const found: string[] = [];
  for (const [i, a] of boxes.entries())
    for (const b of boxes.slice(i + 1))
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) found.push(`${a.title} over ${b.title}`);
  return found;
}

/** The centre of each node of a drawn SVG (by its title), in points from the picture's top-left corner. */
function nodeCentres(svg: string): Map<string, string> {
  const shift = /<g id="graph0" class="graph" transform="[^"]*translate\(([-\d.]+) ([-\d.]+)\)"/.exec(svg);
  if (!shift) throw new Error("the drawing has no graph transform");
  const [dx, dy] = [Number(shift[1]), Number(shift[2])];
  const centres = new Map<string, string>();
  for (const group of svg.split('<g id="node').slice(1)) {
    const title = /<title>([^<]*)<\/title>/.exec(group)?.[1];
    const shape = /<(?:path|polygon) [^>]*(?: d| points)="([^"]+)"/.exec(group)?.[1];
    if (title === undefined || shape === undefined) throw new Error("a drawn node has no title or shape");
    const numbers = (shape.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number);
    const xs = numbers.filter((_, i) => i % 2 === 0);
    const ys = numbers.filter((_, i) => i % 2 === 1);
    const cx = (Math.min(...xs) + Math.max(...xs)) / 2 + dx;
    const cy = (Math.min(...ys) + Math.max(...ys)) / 2 + dy;
    centres.set(title, `${cx.toFixed(1)},${cy.toFixed(1)}`);
  }
  return centres;
}

describe("the viewer's server", () => {
  it("listens on 127.0.0.1 by default, on a free port", async () => {
    const v = await viewer({ log, follow: false });
    const url = new URL(v.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect(v.port).toBeGreaterThan(0);
    expect(url.port).toBe(String(v.port));
  });

  it("serves the page and its assets with a strict Content-Security-Policy", async () => {
    const v = await viewer({ log, follow: false });
    const page = await get(v.url);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain('<script type="module" src="/app.mjs">');
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    const js = await get(`${v.url}app.mjs`);
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toMatch(/^text\/javascript/);
    expect(js.body).not.toContain("innerHTML");
    expect((await get(`${v.url}app.css`)).status).toBe(200);
  });

  it("answers 404 for unknown paths and instances, 400 for a step the log does not have, 405 for other methods", async () => {
    const v = await viewer({ log, follow: false });
    expect((await get(`${v.url}nope`)).status).toBe(404);
    expect((await get(`${v.url}../package.json`)).status).toBe(404);
    expect((await get(`${v.url}api/nope`)).status).toBe(404);
    const missing = await get(`${v.url}api/node?n=3&id=nobody`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'no instance "nobody" at step 3' });
    expect((await get(`${v.url}api/step?n=${lines.length + 1}`)).status).toBe(400);
    expect((await get(`${v.url}api/step?n=abc`)).status).toBe(400);
    expect((await get(v.url, {}, "POST")).status).toBe(405);
  });

  it("refuses a request for another host name (DNS rebinding)", async () => {
    const v = await viewer({ log, follow: false });
    expect((await get(`${v.url}api/log`, { host: "evil.example" })).status).toBe(403);
    expect((await get(`${v.url}api/log`, { host: `localhost:${v.port}` })).status).toBe(200);
  });

  it("gives the log's length and last event, the events in words a page at a time, and the plan at a step as SVG with its nodes in order", async () => {
    const v = await viewer({ log, follow: false });
    const body = JSON.parse((await get(`${v.url}api/log`)).body) as LogMessage;
    expect(body.total).toBe(lines.length);
    expect(body).not.toHaveProperty("steps");
    expect(body.last).toMatchObject({ seq: lines.length, type: "run.finished" });
    expect(body.problem).toBeNull();
    type Words = {
      generation: number;
      from: number;
      steps: { seq: number; type: string; text: string; subject: string | null }[];
    };
    const words = JSON.parse((await get(`${v.url}api/events?from=1&to=${lines.length}`)).body) as Words;
    expect(words.from).toBe(1);
    expect(words.steps.map((s) => s.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(words.steps[0]).toMatchObject({ type: "run.started", text: "run view_main-1 started with root view_main" });
    expect(words.steps.find((s) => s.type === "promise.violated")?.text).toBe(
      "broken promise: LimitedSpawns(view_square, 2) of view_main broken by view_main: limit 2, attempted 3 (rejected; the run went on)",
    );
    const some = JSON.parse((await get(`${v.url}api/events?from=3&to=4`)).body) as Words;
    expect(some.steps.map((s) => s.seq)).toEqual([3, 4]);
    expect(some.steps[0]).toEqual(words.steps[2]);
    // Past the end is cut at the end; a page starting past it is refused.
    expect(
      (JSON.parse((await get(`${v.url}api/events?from=${lines.length}&to=${lines.length + 50}`)).body) as Words).steps,
    ).toHaveLength(1);
    expect((await get(`${v.url}api/events?from=${lines.length + 1}`)).status).toBe(400);

    const step = JSON.parse((await get(`${v.url}api/step?n=${lines.length}`)).body) as {
      svg: string;
      pinned: boolean;
      nodes: { kind: string; ref: string | null }[];
    };
    expect(step.svg).toContain("<svg");
    expect(step.nodes.filter((n) => n.kind === "instance").map((n) => n.ref)).toContain("view_main/view_stats#1");
    expect(step.nodes.filter((n) => n.kind === "refused")).toHaveLength(1);
    // Pinned to the union layout; its invisible corners are not drawn as nodes.
    expect(step.pinned).toBe(true);
    expect((step.svg.match(/class="node"/g) ?? []).length).toBe(step.nodes.length);
    // The HTML task name is escaped in the SVG, never markup.
    expect(step.svg).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(step.svg).not.toContain("<img");
  });

  it("keeps each node where it was from step to step", async () => {
    const v = await viewer({ log, follow: false });
    const at = async (n: number) =>
      JSON.parse((await get(`${v.url}api/step?n=${n}`)).body) as { svg: string; pinned: boolean };
    /** Where the label of the node with this title is drawn. */
    const where = (svg: string, title: string): string => {
      const group = svg.split('<g id="node').find((g) => g.includes(`<title>${title}</title>`));
      const text = group === undefined ? null : /<text [^>]*x="([-\d.]+)" y="([-\d.]+)"/.exec(group);
      if (!text) throw new Error(`no node ${title} in the drawing`);
      return `${text[1]},${text[2]}`;
    };
    const early = await at(8);
    const late = await at(lines.length);
    expect(early.pinned && late.pinned).toBe(true);
    expect(where(early.svg, "view_main")).toBe(where(late.svg, "view_main"));
    expect(where(early.svg, "view_main/view_square#2")).toBe(where(late.svg, "view_main/view_square#2"));
    expect(/viewBox="([^"]+)"/.exec(early.svg)?.[1]).toBe(/viewBox="([^"]+)"/.exec(late.svg)?.[1]);
  });

  it("never moves a node it has drawn while the log grows, as in a live run, nor draws one over another", async () => {
    // dynamic_static_preview's placeholders become children with longer labels (`post_a` → `#1 · in work_unit#1`).
    for (const source of [log, await fanoutLog(24), await demoRunLog("dynamic_static_preview")]) {
      const all = logLines(source);
      const path = join(tempDir(), "events.jsonl");
      writeFileSync(path, "");
      const v = await viewer({ log: path, pollMs: 60_000 });
      /** Where each drawn node was first shown, in pixels from the picture's top-left corner. */
      const first = new Map<string, string>();
      let chunks = 0;
      // Growing a few lines at a time, as a live run writes it (each chunk read once, as the server's tail reads it).
      for (let written = 0; written < all.length; ) {
        const upTo = Math.min(written + 1 + (chunks % 4), all.length);
        appendFileSync(path, all.slice(written, upTo).join(""));
        written = upTo;
        await v.refresh();
        chunks++;
        // The page shows the last step as it comes, and any earlier one the user steps back to.
        for (const n of new Set([upTo, Math.max(1, upTo - 1), Math.ceil(upTo / 2)])) {
          const step = JSON.parse((await get(`${v.url}api/step?n=${n}`)).body) as { svg: string; pinned: boolean };
          // A placeholder was given room for the label of the child that takes its place: none covers another.
          expect(overlapping(step.svg), `step ${n}`).toEqual([]);
          const centres = nodeCentres(step.svg);
          if (centres.size > 0) expect(`step ${n} pinned: ${step.pinned}`).toBe(`step ${n} pinned: true`);
          for (const [title, at] of centres) {
            const was = first.get(title);
            if (was === undefined) first.set(title, at);
            else expect(`${title} at ${at}`).toBe(`${title} at ${was}`);
          }
        }
      }
      expect(chunks).toBeGreaterThan(10);
      expect(first.size).toBeGreaterThan(6);
    }
  });

  it("draws a big plan grouped, with counts per status, and finds its instances by id or definition", async () => {
    const v = await viewer({ log, follow: false, groupAbove: 3 });
    const step = JSON.parse((await get(`${v.url}api/step`)).body) as {
      svg: string;
      nodes: { kind: string; tooltip: string; group: string | null; size: number | null }[];
    };
    const group = step.nodes.find((n) => n.kind === "group");
    expect(group?.tooltip).toBe("2 instances of view_square under view_main");
    expect(step.svg).toContain("view_square ×2");
    expect(step.svg).toContain("2 ✓");
    expect(group).toMatchObject({ group: "view_main/view_square", size: 2 });
    const expanded = JSON.parse(
      (await get(`${v.url}api/step?expand=${encodeURIComponent("view_main/view_square")}`)).body,
    ) as { nodes: { kind: string; ref: string | null; group: string | null }[] };
    expect(expanded.nodes.filter((n) => n.kind === "group")).toEqual([]);
    expect(expanded.nodes.filter((n) => n.group === "view_main/view_square").map((n) => n.ref)).toEqual([
      "view_main/view_square#1",
      "view_main/view_square#2",
    ]);
    const found = JSON.parse((await get(`${v.url}api/search?q=SQUARE`)).body) as { id: string; status: string }[];
    expect(found).toEqual([
      { id: "view_main/view_square#1", task: "view_square", status: "succeeded" },
      { id: "view_main/view_square#2", task: "view_square", status: "succeeded" },
    ]);
    expect(JSON.parse((await get(`${v.url}api/search?q=square&n=5`)).body)).toHaveLength(1);
  });

  it("decodes outputs and gathers a task's history, logs and error for its panel", async () => {
    const v = await viewer({ log, follow: false });
    const stats = JSON.parse((await get(`${v.url}api/node?id=${encodeURIComponent("view_main/view_stats#1")}`)).body);
    expect(stats.output).toBe("Map(1) { 'sum' => 5n }");
    expect(stats.logs.map((l: { message: string }) => l.message)).toEqual(["counted"]);
    expect(stats.history.map((h: { status: string }) => h.status)).toEqual(["pending", "running", "succeeded"]);
    expect(stats.promises.map((p: { text: string; used: number; limit: number }) => [p.text, p.used, p.limit])).toEqual(
      [["LimitedSpawns(view_square, 2)", 2, 2]],
    );
    const flaky = JSON.parse((await get(`${v.url}api/node?id=${encodeURIComponent("view_main/view_flaky#1")}`)).body);
    expect(flaky.attempts).toBe(2);
    expect(flaky.retries).toHaveLength(1);
    expect(flaky.error).toMatchObject({ name: "TypeError", message: "flaky broke <i>twice</i>" });
    expect(flaky.error.stack).toContain("TypeError: flaky broke");
  });

  it("shows From references in inputs as From(<producer>), with each producer and the value it gives once it has one", async () => {
    const v = await viewer({ log, follow: false });
    const id = encodeURIComponent("view_main/view_total#1");
    const total = JSON.parse((await get(`${v.url}api/node?id=${id}`)).body);
    expect(total.inputs).toBe("{\n  stats: From(view_main/view_stats#1),\n  first: From(view_main/view_square#1)\n}");
    expect(total.froms).toEqual([
      { id: "view_main/view_stats#1", path: [], status: "succeeded", value: "Map(1) { 'sum' => 5n }" },
      { id: "view_main/view_square#1", path: [], status: "succeeded", value: "1" },
    ]);
    expect(total.output).toBe("'1 + 5'");
    // At a step before the producer's output existed, the reference has no value yet.
    const created = lines.findIndex((l) => l.includes('"task.created"') && l.includes("view_main/view_stats#1")) + 1;
    const early = JSON.parse(
      (await get(`${v.url}api/node?n=${created}&id=${encodeURIComponent("view_main/view_stats#1")}`)).body,
    );
    expect(early.froms).toEqual([]);
    expect(early.output).toBeNull();
  });

  it("answers the API the moment it listens with the whole log read", async () => {
    const v = await viewer({ log, follow: false });
    const [body, step] = await Promise.all([get(`${v.url}api/log`), get(`${v.url}api/step`)]);
    expect((JSON.parse(body.body) as LogMessage).total).toBe(lines.length);
    expect(JSON.parse(step.body)).toMatchObject({ n: lines.length });
  });

  it("lays the task stream out in lanes where no two bars of a lane overlap", async () => {
    const v = await viewer({ log, follow: false });
    const stream = JSON.parse((await get(`${v.url}api/lanes`)).body) as {
      lanes: number;
      bars: { lane: number; start: number; end: number; id: string }[];
    };
    expect(stream.lanes).toBeGreaterThan(0);
    for (let lane = 0; lane < stream.lanes; lane++) {
      const bars = stream.bars.filter((b) => b.lane === lane).sort((a, b) => a.start - b.start);
      for (let i = 1; i < bars.length; i++)
        expect((bars[i] as { start: number }).start).toBeGreaterThanOrEqual((bars[i - 1] as { end: number }).end);
    }
    expect(new Set(stream.bars.map((b) => b.id))).toContain("view_main/view_flaky#1");
  });

  it("streams the log, then each line appended to it", async () => {
    const dir = tempDir();
    const path = join(dir, "events.jsonl");
    writeFileSync(path, lines.slice(0, 5).join(""));
    const v = await viewer({ log: path, pollMs: 60_000 });
    const stream = await sse(`${v.url}api/stream`);
    try {
      const first = await stream.next();
      expect(first).toMatchObject({ total: 5, follow: true, partial: false, last: { seq: 5 } });
      // Half a line waits for its end.
      const sixth = lines[5] as string;
      appendFileSync(path, sixth.slice(0, 10));
      await v.refresh();
      expect(await stream.next()).toMatchObject({ total: 5, partial: true, last: { seq: 5 } });
      appendFileSync(path, sixth.slice(10) + lines.slice(6, 8).join(""));
      await v.refresh();
      const more = await stream.next();
      expect(more).toMatchObject({ total: 8, partial: false, last: { seq: 8 } });
    } finally {
      stream.close();
    }
  });
});

describe("LogTail", () => {
  it("stops at a malformed line, naming it, and keeps the events before it", async () => {
    const path = join(tempDir(), "bad.jsonl");
    writeFileSync(
      path,
      `${lines.slice(0, 3).join("")}{"v":1,"seq":4,"ts":"x","runId":"r","type":"task.started","data":{}}\n${lines[4]}`,
    );
    const tail = new LogTail(path);
    await tail.start();
    expect(tail.events).toHaveLength(3);
    expect(tail.problem?.line).toBe(4);
    expect(tail.problem?.message).toContain("task.started: data.id is missing");
  });

  it("reads a cut-off last line as cut, not as an error, when it reads once", async () => {
    const path = join(tempDir(), "cut.jsonl");
    writeFileSync(path, `${lines.slice(0, 3).join("")}${(lines[3] as string).slice(0, 20)}`);
    const tail = new LogTail(path);
    await tail.start();
    expect(tail.events).toHaveLength(3);
    expect(tail.problem).toBeNull();
    expect(tail.partial).toBe(true);
  });

  it("starts over when a new run replaces the log, and skips an earlier run's log when asked", async () => {
    const path = join(tempDir(), "events.jsonl");
    writeFileSync(path, lines.slice(0, 6).join(""));
    const tail = new LogTail(path, { follow: true, pollMs: 60_000 });
    const stale = new LogTail(path, { follow: true, pollMs: 60_000, skipExisting: true });
    try {
      await tail.start();
      await stale.start();
      expect(tail.events).toHaveLength(6);
      expect(stale.events).toHaveLength(0);
      const other = lines.slice(0, 2).map((l) => l.replace('"runId":"view_main-1"', '"runId":"view_main-2"'));
      writeFileSync(path, other.join(""));
      await tail.refresh();
      await stale.refresh();
      expect(tail.generation).toBe(1);
      expect(tail.events.map((e) => e.runId)).toEqual(["view_main-2", "view_main-2"]);
      expect(stale.events.map((e) => e.runId)).toEqual(["view_main-2", "view_main-2"]);
    } finally {
      tail.close();
      stale.close();
    }
  });
});
