/**
 * The viewer's HTTP server: serves the page (plain files shipped in
 * `dist/view/assets/`) and a small JSON API over one run's `events.jsonl`,
 * and streams the log's growth to the page with server-sent events.
 *
 * Bound to 127.0.0.1 unless asked otherwise. Every response carries a strict
 * Content-Security-Policy (scripts and styles from this server only, no
 * inline code, no frames), and a request whose `Host` header is not this
 * loopback address is refused, so a web page elsewhere cannot read the log
 * through DNS rebinding.
 *
 * API (`n` is a step: the plan after the n-th event, 1-based):
 *
 * | path | answer |
 * |---|---|
 * | `/api/log` | how many steps there are, the last event in words, the problem, whether the last line is partial |
 * | `/api/stream` | the same as server-sent events: now, then after each change |
 * | `/api/events?from=&to=` | the events of steps from..to (at most {@link EVENTS_PAGE}) in words (`seq`, `ts`, `type`, `text`, `subject`) |
 * | `/api/step?n=&expand=` | the plan at step n laid out as SVG, with the drawn nodes in SVG order; each `expand` (repeatable) a group drawn as its members |
 * | `/api/node?n=&id=` | one instance in detail |
 * | `/api/promises?n=` | every promise with its use, and the violations |
 * | `/api/lanes?n=&px=` | the task stream (bars closer than the page can show apart in `px` pixels drawn as one) |
 * | `/api/search?n=&q=` | instances whose id or definition holds q |
 *
 * The server listens at once and reads the log meanwhile; a request for the
 * log waits for that first read. The page is never sent every event: it
 * learns how many steps there are, draws the last, and asks for the words
 * of the steps around the one it shows, so opening a log of 40,000 events
 * costs one fold and one drawing.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename } from "node:path";
import { ErrorCodes, TrellisError } from "../errors.ts";
import type { TrellisEvent } from "../events/types.ts";
import { applyEvent } from "../plan/fold.ts";
import type { Plan } from "../plan/plan.ts";
import { createPlan } from "../plan/plan.ts";
import type { DrawKind } from "../render/drawing.ts";
import { buildDrawingAndDot } from "../render/dot.ts";
import { dotToSvg, layoutDot, loadGraphviz } from "../render/images.ts";
import { refusedSpawns } from "../render/refused.ts";
import { describeEvent, eventSubject } from "./describe-event.ts";
import type { TaskStreamIndex } from "./inspect.ts";
import { nodeDetails, promisePanel, searchNodes, taskStreamAt, taskStreamIndex } from "./inspect.ts";
import { LogTail } from "./log-tail.ts";
import { StableLayout, instanceId } from "./stable-layout.ts";

export interface ViewerOptions {
  /** The run's `events.jsonl`. */
  readonly log: string;
  /** Address to listen on. Default `127.0.0.1` (this machine only). */
  readonly host?: string;
  /** Port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Follow the log as it grows (a run in progress). Default true. */
  readonly follow?: boolean;
  /** Ignore the log the file holds now until a new run replaces it (see {@link LogTail}). Default false. */
  readonly skipExisting?: boolean;
  /** How often to look at the log besides file-system notifications, in ms. Default 250. */
  readonly pollMs?: number;
  /** Plans with more instances are drawn grouped. Default: the DOT builder's (100). */
  readonly groupAbove?: number;
}

export interface Viewer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  readonly tail: LogTail;
  /** Reads the log now instead of waiting for the next notification. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** One step as the page lists it. */
export interface StepView {
  readonly seq: number;
  readonly ts: string;
  readonly type: string;
  readonly text: string;
  readonly subject: string | null;
}

/** What the page learns about the log, at once and after each change: how long it is, not its events (see `/api/events`). */
export interface LogMessage {
  readonly generation: number;
  /** Steps (events) read so far. */
  readonly total: number;
  /** The last of them in words; null before the first. */
  readonly last: StepView | null;
  readonly runId: string;
  readonly file: string;
  readonly problem: { readonly line: number; readonly message: string } | null;
  readonly partial: boolean;
  readonly skipped: number;
  readonly follow: boolean;
}

/** The plan at one step, drawn. */
interface Drawn {
  readonly svg: string;
  readonly nodes: DrawnNode[];
  readonly pinned: boolean;
}

/** A drawn node, in the order the SVG holds them (`g.node`). */
export interface DrawnNode {
  readonly kind: DrawKind;
  /** The instance it is, for instances; null for groups, placeholders and ghosts. */
  readonly ref: string | null;
  readonly tooltip: string;
  /** The group's key (a group), or the key of the expanded group it is a member of; else null. */
  readonly group: string | null;
  /** Members of a group; null for other nodes. */
  readonly size: number | null;
}

/** At most this many events' words per `/api/events` answer. */
export const EVENTS_PAGE = 1000;

/** Groups with more members are not drawn one by one (Graphviz would take long over them); the page says so. */
export const EXPAND_MAX = 300;

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.mjs": { file: "app.mjs", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
};

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

/** Drawn SVGs kept per viewer: stepping back and forth over a few hundred steps costs no layout. */
const SVG_CACHE_SIZE = 400;

function stepView(e: TrellisEvent): StepView {
  return { seq: e.seq, ts: e.ts, type: e.type, text: describeEvent(e), subject: eventSubject(e) };
}

/** The plan at any step, moving forward without refolding; a step back refolds from the start. */
class PlanCursor {
  #plan: Plan = createPlan();
  #applied = 0;
  #generation = -1;

  at(events: readonly TrellisEvent[], n: number, generation: number): Plan {
    if (generation !== this.#generation || n < this.#applied) {
      this.#plan = createPlan();
      this.#applied = 0;
      this.#generation = generation;
    }
    for (; this.#applied < n; this.#applied++) applyEvent(this.#plan, events[this.#applied] as TrellisEvent);
    return this.#plan;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    "content-type": type,
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-resource-policy": "same-origin",
  });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, "application/json; charset=utf-8", JSON.stringify(value));
}

/**
 * Starts the viewer for one log and resolves once it listens.
 * @throws TrellisError `USAGE` when the address cannot be listened on.
 *
 * @example
 * const viewer = await startViewer({ log: "outputs/map_reduce/events.jsonl" });
 * console.log(`open ${viewer.url}`);
 */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const follow = options.follow ?? true;
  const tail = new LogTail(options.log, {
    follow,
    skipExisting: options.skipExisting ?? false,
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
  });
  const assetsDir = new URL("./assets/", import.meta.url);
  const cursor = new PlanCursor();
  /** Drawings made or being made, by generation, step and expanded groups: two asks for one step make one drawing. */
  const svgCache = new Map<string, Promise<Drawn>>();
  const dotOptions = options.groupAbove !== undefined ? { groupAbove: options.groupAbove } : {};
  const stable = new StableLayout((dot) => layoutDot(dot, { format: "json", engine: "dot" }), dotOptions);
  const streams = new Set<ServerResponse>();
  const host = options.host ?? "127.0.0.1";

  // Graphviz's WebAssembly loads while the log is read: the first drawing does not wait for it.
  void loadGraphviz().catch(() => {});
  const message = (): LogMessage => ({
    generation: tail.generation,
    total: tail.events.length,
    last: tail.events.length > 0 ? stepView(tail.events[tail.events.length - 1] as TrellisEvent) : null,
    runId: tail.events[0]?.runId ?? "",
    file: basename(options.log),
    problem: tail.problem,
    partial: tail.partial,
    skipped: tail.skipped,
    follow,
  });

  tail.onChange(() => {
    // New events may move the places of the union layout: draw again.
    svgCache.clear();
    const data = `data: ${JSON.stringify(message())}\n\n`;
    for (const res of streams) res.write(data);
  });

  const stepOf = (url: URL): number => {
    const raw = url.searchParams.get("n");
    const n = raw === null ? tail.events.length : Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > tail.events.length)
      throw new HttpError(400, `step n must be an integer from 0 to ${tail.events.length}`);
    return n;
  };
  const planAt = (n: number): Plan => cursor.at(tail.events, n, tail.generation);
  const intParam = (url: URL, name: string, fallback: number, min: number, max: number): number => {
    const raw = url.searchParams.get(name);
    const v = raw === null ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < min || v > max)
      throw new HttpError(400, `${name} must be an integer from ${min} to ${max}`);
    return v;
  };
  /** The task stream of the whole log, made again only when the log changed. */
  let lanes: { generation: number; total: number; index: TaskStreamIndex } | null = null;
  const lanesIndex = (): TaskStreamIndex => {
    if (lanes?.generation !== tail.generation || lanes.total !== tail.events.length)
      lanes = { generation: tail.generation, total: tail.events.length, index: taskStreamIndex(tail.events) };
    return lanes.index;
  };

  const drawStep = (n: number, expanded: ReadonlySet<string> = new Set()): Promise<Drawn> => {
    const key = `${tail.generation}:${n}:${JSON.stringify([...expanded].sort())}`;
    const hit = svgCache.get(key);
    if (hit) return hit;
    const drawing = drawStepNow(n, expanded);
    if (svgCache.size >= SVG_CACHE_SIZE) svgCache.delete(svgCache.keys().next().value as string);
    svgCache.set(key, drawing);
    drawing.catch(() => svgCache.get(key) === drawing && svgCache.delete(key));
    return drawing;
  };

  const drawStepNow = async (n: number, expanded: ReadonlySet<string>): Promise<Drawn> => {
    stable.extend(tail.events, tail.generation);
    const pin = await stable.pinFor();
    // From here to the layout nothing awaits: the shared cursor's plan is this step's.
    const plan = planAt(n);
    let pinned = false;
    const { drawing, dot } = buildDrawingAndDot(
      plan,
      { ...dotOptions, refused: refusedSpawns(tail.events.slice(0, n)), expanded },
      (d) => {
        // Expanded members have no place in the union layout (it holds the collapsed drawing): lay such a step out alone.
        const layout = expanded.size === 0 ? pin?.(plan, d) : undefined;
        pinned = layout !== undefined;
        return layout;
      },
    );
    const nodes = drawing.nodes.map((d) => ({
      kind: d.kind,
      ref: d.kind === "instance" ? instanceId(d.name) : null,
      tooltip: d.tooltip,
      group: d.group ?? null,
      size: d.size ?? null,
    }));
    const svg = pinned ? await layoutDot(dot, { format: "svg", engine: "neato", pinned: true }) : await dotToSvg(dot);
    return { svg, nodes, pinned };
  };

  const api = async (url: URL, res: ServerResponse): Promise<void> => {
    switch (url.pathname) {
      case "/api/log":
        return sendJson(res, message());
      case "/api/events": {
        const total = tail.events.length;
        const from = intParam(url, "from", 1, 1, Math.max(1, total));
        const to = Math.min(
          intParam(url, "to", from + EVENTS_PAGE - 1, from - 1, Number.MAX_SAFE_INTEGER),
          total,
          from + EVENTS_PAGE - 1,
        );
        return sendJson(res, {
          generation: tail.generation,
          from,
          steps: tail.events.slice(from - 1, to).map(stepView),
        });
      }
      case "/api/step": {
        const n = stepOf(url);
        const drawn = await drawStep(n, new Set(url.searchParams.getAll("expand")));
        return sendJson(res, { n, expandMax: EXPAND_MAX, ...drawn });
      }
      case "/api/node": {
        const n = stepOf(url);
        const id = url.searchParams.get("id") ?? "";
        const details = nodeDetails(planAt(n), tail.events.slice(0, n), id);
        if (!details) throw new HttpError(404, `no instance ${JSON.stringify(id)} at step ${n}`);
        return sendJson(res, details);
      }
      case "/api/promises": {
        const n = stepOf(url);
        return sendJson(res, promisePanel(planAt(n), tail.events.slice(0, n)));
      }
      case "/api/lanes": {
        const n = stepOf(url);
        const px = url.searchParams.has("px") ? intParam(url, "px", 0, 1, 100_000) : undefined;
        return sendJson(res, taskStreamAt(lanesIndex(), n, px));
      }
      case "/api/search": {
        const n = stepOf(url);
        return sendJson(res, searchNodes(planAt(n), url.searchParams.get("q") ?? ""));
      }
      case "/api/stream": {
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
          connection: "keep-alive",
        });
        res.write(`retry: 1000\ndata: ${JSON.stringify(message())}\n\n`);
        streams.add(res);
        res.on("close", () => streams.delete(res));
        return;
      }
      default:
        throw new HttpError(404, `no such path ${url.pathname}`);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "only GET");
    const hostHeader = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    if (LOOPBACK.has(host) && !LOOPBACK.has(hostHeader))
      throw new HttpError(403, "this viewer answers on its loopback address only");
    const url = new URL(req.url ?? "/", "http://viewer.invalid");
    if (url.pathname.startsWith("/api/")) {
      // The log's first read goes on while the page loads; what the API answers is the log.
      await ready;
      return api(url, res);
    }
    const asset = ASSETS[url.pathname];
    if (!asset) throw new HttpError(404, `no such page ${url.pathname}`);
    const body = await readFile(new URL(asset.file, assetsDir));
    send(res, 200, asset.type, body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const text = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) send(res, status, "application/json; charset=utf-8", JSON.stringify({ error: text }));
      else res.end();
    });
  });

  // Read while the server starts and the page loads (the reading yields now and then, so the page's files are served meanwhile).
  const ready = tail.start();
  // The page opens at the last step: draw it before the page asks, while the page loads.
  void ready.then(() => (tail.events.length > 0 ? drawStep(tail.events.length) : undefined)).catch(() => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      tail.close();
      reject(
        new TrellisError(
          ErrorCodes.USAGE,
          `cannot listen on ${host}:${options.port ?? 0}: ${error.message}`,
          { host, port: options.port ?? 0 },
          { cause: error },
        ),
      );
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  // An earlier run's log is noted before the caller starts the run that replaces it (cheap: it is not read).
  if (options.skipExisting === true) await ready;
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    tail,
    refresh: () => tail.refresh(),
    close: async () => {
      tail.close();
      for (const res of streams) res.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
