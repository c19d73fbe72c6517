// The Trellis viewer page: plain browser JavaScript, no dependencies.
//
// Safety: every string that comes from the log is put in the page as text
// (createTextNode / textContent), never parsed as HTML. The drawing is SVG
// from the server's Graphviz, parsed as XML and stripped of anything active
// (scripts, event handlers, links, foreign objects) before it is shown; the
// server's Content-Security-Policy forbids inline scripts besides.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** An element with text children: strings become text nodes, never markup. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "className") el.className = v;
    else if (k === "onclick") el.addEventListener("click", v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined && c !== false)
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const state = {
  generation: -1,
  /** Steps (events) in the log so far. */
  total: 0,
  /** The last event in words (null before the first). */
  last: null,
  /** Events in words by step, fetched a page at a time around the step shown (`/api/events`). */
  words: new Map(),
  /** Pages of words asked for and not yet answered, by their first step. */
  asking: new Set(),
  step: 0,
  follow: false,
  problem: null,
  partial: false,
  skipped: 0,
  selected: null,
  playing: null,
  token: 0,
  matches: new Set(),
  connected: false,
  /** Groups drawn as their members: key → what the group was ("12 instances of square under main"). */
  expanded: new Map(),
};

// ---------- the log: how many steps, and their words on demand ----------

/** How long the slider must rest on a step before its panels and task stream are asked for, in ms. */
const PANELS_AFTER_MS = 60;

/** Steps per page of words asked for at once. */
const WORDS_PAGE = 400;

function applyLog(msg) {
  const atEnd = state.step >= state.total;
  if (msg.generation !== state.generation) {
    state.generation = msg.generation;
    state.words = new Map();
    state.asking = new Set();
    if (state.connected) state.step = Math.min(state.step, msg.total);
  }
  state.total = msg.total;
  state.last = msg.last;
  if (msg.last) state.words.set(msg.total, msg.last);
  state.follow = msg.follow;
  state.problem = msg.problem;
  state.partial = msg.partial;
  state.skipped = msg.skipped;
  $("run-id").textContent = msg.runId ? `${msg.runId} · ${msg.file}` : msg.file;
  $("live").hidden = !msg.follow || msg.last?.type === "run.finished";
  const first = !state.connected;
  state.connected = true;
  showProblem();
  const slider = /** @type {HTMLInputElement} */ ($("slider"));
  slider.max = String(state.total);
  slider.min = state.total > 0 ? "1" : "0";
  // Follow the end while the user is at the end (live), else stay on their step.
  if (first || atEnd) void show(state.total);
  else updateLabel();
}

/** The words of step n, if the page has them; else asks for its page of words and shows them when they come. */
function wordsOf(n) {
  const known = state.words.get(n);
  if (known || n < 1 || n > state.total) return known ?? null;
  const from = Math.max(1, n - Math.floor(WORDS_PAGE / 2));
  if ([...state.asking].some((a) => a <= n && n < a + WORDS_PAGE)) return null;
  state.asking.add(from);
  const generation = state.generation;
  getJson(`/api/events?from=${from}&to=${Math.min(state.total, from + WORDS_PAGE - 1)}`)
    .then((page) => {
      if (page.generation !== state.generation || generation !== state.generation) return;
      page.steps.forEach((s, i) => state.words.set(page.from + i, s));
      updateLabel();
      markSubject();
    })
    .catch(() => {})
    .finally(() => state.asking.delete(from));
  return null;
}

function showProblem() {
  const box = $("problem");
  const lines = [];
  let warning = false;
  if (state.problem) {
    lines.push(
      state.problem.line > 0
        ? `The log cannot be read past line ${state.problem.line}: ${state.problem.message}`
        : `The log cannot be read: ${state.problem.message}`,
    );
    lines.push(state.total > 0 ? `Showing the ${state.total} event(s) before it.` : "No event could be shown.");
  } else if (state.partial && !state.follow) {
    warning = true;
    lines.push(
      "The last line of the log is cut off (the run was stopped while writing); the events before it are shown.",
    );
  } else if (state.connected && state.total === 0) {
    warning = true;
    lines.push(state.follow ? "Waiting for the run to write its first event…" : "The log holds no event.");
  }
  if (state.skipped > 0) {
    warning = warning || !state.problem;
    lines.push(`${state.skipped} event(s) of types this Trellis does not know were skipped.`);
  }
  box.hidden = lines.length === 0;
  box.className = warning && !state.problem ? "problem warning" : "problem";
  box.textContent = lines.join("\n");
}

function connect() {
  if (typeof EventSource !== "function") return void poll();
  const source = new EventSource("/api/stream");
  source.onmessage = (e) => {
    try {
      applyLog(JSON.parse(e.data));
    } catch (error) {
      fatal(`The viewer could not read the server's answer: ${error}`);
    }
  };
  source.onerror = () => {
    if (!state.connected) {
      source.close();
      void poll();
    }
  };
}

async function poll() {
  try {
    applyLog(await getJson("/api/log"));
  } catch (error) {
    fatal(`Cannot reach the viewer's server: ${error.message}`);
  }
}

function fatal(text) {
  const box = $("problem");
  box.hidden = false;
  box.className = "problem";
  box.textContent = text;
}

async function getJson(url) {
  const res = await fetch(url, { headers: { accept: "application/json" } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body && body.error ? body.error : `HTTP ${res.status}`);
  return body;
}

// ---------- one step ----------

function updateLabel() {
  $("step-label").textContent = `step ${state.step} of ${state.total}`;
  /** @type {HTMLInputElement} */ ($("slider")).value = String(state.step);
  const box = $("event-text");
  const ev = wordsOf(state.step);
  if (ev)
    box.replaceChildren(
      h("span", { className: "type" }, `#${ev.seq} ${ev.type}`),
      h("span", { className: "time muted" }, `${ev.ts.slice(11, 23)}  `),
      ev.text,
    );
  else
    box.replaceChildren(
      h(
        "span",
        { className: "muted" },
        state.total === 0 ? "no event yet" : state.step === 0 ? "before the first event" : `#${state.step} …`,
      ),
    );
}

/** Outlines the instance the event at the step shown is about. */
function markSubject() {
  const subject = state.words.get(state.step)?.subject ?? null;
  for (const g of $("graph").querySelectorAll("g.node[data-id]"))
    g.classList.toggle("subject", g.dataset.id === subject);
}

async function show(n) {
  n = Math.max(0, Math.min(n, state.total));
  state.step = n;
  const token = ++state.token;
  const expand = [...state.expanded.keys()].map((k) => `&expand=${encodeURIComponent(k)}`).join("");
  // The picture is asked for first (the words of the step may need a request too); the panels once it is drawn.
  const asked = n === 0 ? null : getJson(`/api/step?n=${n}${expand}`);
  asked?.catch(() => {});
  updateLabel();
  if (asked === null) {
    $("graph").replaceChildren(
      h("p", { className: "muted" }, state.problem && state.total === 0 ? "nothing to draw" : "no event yet"),
    );
    $("graph").dataset.step = "0";
    return;
  }
  try {
    const drawn = await asked;
    if (token !== state.token) return;
    drawGraph(drawn);
    drawExpanded();
    // The step the drawing shows (tests and the benchmark wait for it), and when it was drawn (bench/viewer.ts reads it).
    $("graph").dataset.step = String(n);
    performance.mark(`trellis:drawn ${n}`);
    // The panels and the task stream follow once the slider rests: scrubbing draws pictures, not panels no one sees.
    await new Promise((resolve) => setTimeout(resolve, PANELS_AFTER_MS));
    if (token !== state.token) return;
    const px = Math.max(100, Math.round(($("lanes").clientWidth || 1100) - 111));
    const [promises, lanes] = await Promise.all([
      getJson(`/api/promises?n=${n}`),
      getJson(`/api/lanes?n=${n}&px=${px}`),
    ]);
    if (token !== state.token) return;
    drawPromises(promises);
    drawLanes(lanes);
    // The step the panels and the task stream show (they follow the drawing; tests wait for it).
    $("lanes").dataset.step = String(n);
    if (n === state.total && state.last?.type === "run.finished")
      setStatus(/run (\w+)/.exec(state.last.text)?.[1] ?? "finished");
    else setStatus(state.follow && n === state.total ? "running" : `step ${n}`);
    if (state.selected) await showNode(state.selected, token);
  } catch (error) {
    if (token === state.token) fatal(`Cannot draw step ${n}: ${error.message}`);
  }
}

function setStatus(text) {
  const badge = $("run-status");
  badge.textContent = text;
  badge.className = `badge ${/^\w+$/.test(text) ? text : ""}`;
}

/** Parses the server's SVG as XML and removes anything that could act. */
function safeSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName !== "svg" || doc.getElementsByTagName("parsererror").length > 0)
    throw new Error("the drawing is not valid SVG");
  for (const bad of [...root.querySelectorAll("script, foreignObject, iframe, use, image, animate, set")]) bad.remove();
  for (const el of [root, ...root.querySelectorAll("*")])
    for (const attr of [...el.attributes]) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || name === "href" || name.endsWith(":href") || name === "style")
        el.removeAttribute(attr.name);
    }
  return /** @type {SVGSVGElement} */ (document.importNode(root, true));
}

function drawGraph(drawn) {
  const svg = safeSvg(drawn.svg);
  const nodes = [...svg.querySelectorAll("g.node")];
  const subject = state.words.get(state.step)?.subject ?? null;
  nodes.forEach((g, i) => {
    const info = drawn.nodes[i];
    if (!info) return;
    g.classList.add(`kind-${info.kind}`);
    if (info.ref !== null) {
      g.dataset.id = info.ref;
      if (info.ref === state.selected) g.classList.add("selected");
      if (info.ref === subject) g.classList.add("subject");
      if (state.matches.has(info.ref)) g.classList.add("match");
    }
    g.dataset.tooltip = info.tooltip;
    if (info.kind === "group" && info.group !== null) {
      g.dataset.group = info.group;
      g.classList.add("expandable");
    }
    if (info.kind === "instance" && info.group !== null) g.dataset.member = info.group;
    g.addEventListener("click", () => {
      if (info.ref !== null) select(info.ref);
      else if (info.kind === "group" && info.group !== null && info.size !== null && info.size <= drawn.expandMax)
        expand(info.group, info.tooltip);
      else showOther(info, drawn.expandMax);
    });
  });
  $("graph").replaceChildren(svg);
}

// ---------- panels ----------

function status(s) {
  return h("span", { className: `st ${s}` }, s);
}

function idLink(id) {
  return h("button", { type: "button", className: "linkish", onclick: () => select(id) }, id);
}

function ms(v) {
  if (v === null || v === undefined) return "—";
  return v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`;
}

function meter(used, limit) {
  if (used === null || limit === null) return "";
  const cls = used > limit ? "meter over" : used >= limit ? "meter full" : "meter";
  const bar = h("span");
  bar.style.width = `${limit === 0 ? 100 : Math.min(100, (100 * used) / limit)}%`;
  return h("span", { className: cls, title: `${used} of ${limit}` }, bar);
}

function select(id) {
  state.selected = id;
  for (const g of $("graph").querySelectorAll("g.node")) g.classList.toggle("selected", g.dataset.id === id);
  for (const b of $("lanes").querySelectorAll(".bar")) b.classList.toggle("selected", b.dataset.id === id);
  void showNode(id, state.token);
}

function showOther(info, expandMax) {
  const panel = $("node-panel");
  const tooMany =
    info.kind === "group" && info.size !== null && info.size > expandMax
      ? h(
          "p",
          { className: "muted" },
          `Too many to draw one by one (more than ${expandMax}); find them with the search.`,
        )
      : "";
  panel.replaceChildren(h("h2", {}, info.kind === "group" ? "Group" : info.kind), h("p", {}, info.tooltip), tooMany);
}

// ---------- expanded groups ----------

/** Draws a group as its members, at the step shown. */
function expand(key, what) {
  state.expanded.set(key, what);
  void show(state.step);
}

/** Draws the group and every group expanded inside it collapsed again. */
function collapse(key) {
  // Groups inside it have keys that start with its own (`main/square/…`) or with a member's id (`main/square#3/…`).
  const inside = (k) => k === key || (k.startsWith(key) && (k[key.length] === "/" || k[key.length] === "#"));
  for (const k of [...state.expanded.keys()]) if (inside(k)) state.expanded.delete(k);
  void show(state.step);
}

/** One button per expanded group, above the drawing, to collapse it. */
function drawExpanded() {
  const bar = $("expanded");
  bar.hidden = state.expanded.size === 0;
  bar.replaceChildren(
    ...[...state.expanded].map(([key, what]) =>
      h(
        "button",
        {
          type: "button",
          className: "collapse",
          title: "draw the group as one node again",
          dataset: { group: key },
          onclick: () => collapse(key),
        },
        `▾ ${what}`,
      ),
    ),
  );
}

async function showNode(id, token) {
  const panel = $("node-panel");
  let d;
  try {
    d = await getJson(`/api/node?n=${state.step}&id=${encodeURIComponent(id)}`);
  } catch (error) {
    if (token !== state.token) return;
    panel.replaceChildren(
      h("h2", {}, "Task"),
      h("p", { className: "muted" }, `${id}: not in the plan at step ${state.step} (${error.message})`),
    );
    return;
  }
  if (token !== state.token || state.selected !== id) return;
  const parts = [
    h("h2", {}, "Task"),
    h(
      "dl",
      {},
      h("dt", {}, "id"),
      h("dd", { className: "node-id" }, d.id),
      h("dt", {}, "definition"),
      h("dd", { className: "node-task" }, d.task),
      h("dt", {}, "status"),
      h(
        "dd",
        {},
        status(d.status),
        d.cached ? h("span", { className: "st cached" }, "from the cache") : "",
        d.reason ? ` ${d.reason}` : "",
      ),
      h("dt", {}, "parent"),
      h("dd", {}, d.parent === null ? "— (the root)" : idLink(d.parent)),
      h("dt", {}, "labels"),
      h("dd", {}, d.labels.length > 0 ? d.labels.join(", ") : "—"),
      h("dt", {}, "attempts"),
      h(
        "dd",
        {},
        String(d.attempts),
        d.retries.length > 0 ? ` (${d.retries.length} retr${d.retries.length === 1 ? "y" : "ies"})` : "",
      ),
      h("dt", {}, "duration"),
      h("dd", {}, ms(d.durationMs), ` (holding a slot ${ms(d.runningMs)})`),
      d.waitingOn.length > 0 ? [h("dt", {}, "waits on"), h("dd", {}, ...d.waitingOn.map((w) => [idLink(w), " "]))] : [],
      d.children.length > 0 ? [h("dt", {}, "children"), h("dd", {}, String(d.children.length))] : [],
    ),
    h("h3", {}, "Inputs"),
    h("pre", { className: "node-inputs" }, d.inputs),
    ...(d.froms.length > 0 ? fromTable(d.froms) : []),
    h("h3", {}, "Output"),
    h("pre", { className: "node-output" }, d.output === null ? "(none yet)" : d.output),
  ];
  if (d.error) {
    parts.push(
      h("h3", {}, "Error"),
      h(
        "pre",
        { className: "stack" },
        `${d.error.name}${d.error.code ? ` [${d.error.code}]` : ""}: ${d.error.message}`,
        d.error.stack ? `\n\n${d.error.stack}` : "",
      ),
    );
  }
  parts.push(
    h("h3", {}, "Status history"),
    h(
      "table",
      {},
      h("tr", {}, h("th", {}, "seq"), h("th", {}, "time"), h("th", {}, "status"), h("th", {}, "")),
      d.history.map((c) =>
        h(
          "tr",
          {},
          h("td", { className: "nowrap" }, String(c.seq)),
          h("td", { className: "nowrap" }, c.ts.slice(11, 23)),
          h("td", {}, status(c.status)),
          h("td", {}, c.note),
        ),
      ),
    ),
  );
  if (d.retries.length > 0)
    parts.push(
      h("h3", {}, "Retries"),
      h(
        "table",
        {},
        d.retries.map((r) =>
          h("tr", {}, h("td", {}, `attempt ${r.attempt} after ${r.delayMs} ms`), h("td", {}, r.error)),
        ),
      ),
    );
  parts.push(h("h3", {}, `Log (${d.logs.length})`));
  if (d.logs.length === 0) parts.push(h("p", { className: "muted" }, "no ctx.log lines"));
  else
    parts.push(
      h(
        "div",
        { className: "node-logs" },
        d.logs.map((l) =>
          h("pre", {}, `${l.ts.slice(11, 23)}  ${l.message}`, l.fields !== null ? `  ${l.fields}` : ""),
        ),
      ),
    );
  if (d.warnings.length > 0)
    parts.push(
      h("h3", {}, "Warnings"),
      d.warnings.map((w) => h("pre", {}, w)),
    );
  parts.push(h("h3", {}, "Promises in scope"));
  if (d.promises.length === 0) parts.push(h("p", { className: "muted" }, "none"));
  else parts.push(promiseTable(d.promises));
  panel.replaceChildren(...parts);
}

/** The `From` references in a task's inputs: each producer as a link that selects it, and the value it resolves to. */
function fromTable(froms) {
  return [
    h("h3", {}, `From other tasks (${froms.length})`),
    h(
      "table",
      { className: "froms" },
      froms.map((f) =>
        h(
          "tr",
          { dataset: { from: f.id } },
          h(
            "td",
            {},
            idLink(f.id),
            f.path.length > 0 ? h("div", { className: "muted" }, `at ${JSON.stringify(f.path)}`) : "",
            f.status ? h("div", {}, status(f.status)) : h("div", { className: "muted" }, "not in the plan yet"),
          ),
          h(
            "td",
            {},
            f.value === null
              ? h("span", { className: "muted" }, "no output yet")
              : h("pre", { className: "from-value" }, f.value),
          ),
        ),
      ),
    ),
  ];
}

function promiseTable(list) {
  return h(
    "table",
    { className: "promises" },
    h("tr", {}, h("th", {}, "promise"), h("th", {}, "owner"), h("th", {}, "used / limit")),
    list.map((p) =>
      h(
        "tr",
        { className: p.violations > 0 ? "broken" : "" },
        h(
          "td",
          {},
          p.text,
          h("div", { className: "muted" }, `${p.scope}${p.source !== "context" ? `, ${p.source}` : ""}`),
        ),
        h("td", {}, idLink(p.owner)),
        h(
          "td",
          {},
          p.used !== null ? `${p.used} / ${p.limit} ` : "",
          meter(p.used, p.limit),
          h("div", { className: "muted" }, p.note),
          p.violations > 0 ? h("div", { className: "violation-count" }, `broken ${p.violations}×`) : "",
        ),
      ),
    ),
  );
}

function drawPromises(panel) {
  const box = $("promise-panel");
  const parts = [h("h2", {}, `Promises (${panel.promises.length})`)];
  if (panel.promises.length === 0) parts.push(h("p", { className: "muted" }, "none declared yet"));
  else parts.push(promiseTable(panel.promises));
  parts.push(h("h3", {}, `Violations (${panel.violations.length})`));
  if (panel.violations.length === 0) parts.push(h("p", { className: "muted" }, "none"));
  for (const v of panel.violations)
    parts.push(
      h(
        "div",
        { className: "violation" },
        h("div", {}, v.text),
        h(
          "div",
          { className: "muted" },
          `step ${v.seq}, policy ${v.policy}`,
          v.refused.length > 0 ? `, refused ${v.refused.join(", ")}` : "",
        ),
      ),
    );
  box.replaceChildren(...parts);
}

function drawLanes(stream) {
  const box = $("lanes");
  $("lanes-note").textContent = stream.workers
    ? "(one lane per slot of each worker the log names)"
    : "(one lane per slot in use; the log does not name workers)";
  if (stream.lanes === 0) {
    box.replaceChildren(h("p", { className: "muted" }, " no task has started yet"));
    return;
  }
  const span = Math.max(stream.span, 1);
  const tracks = [];
  const rows = [];
  for (let i = 0; i < stream.lanes; i++) {
    const track = h("div", { className: "track" });
    tracks.push(track);
    rows.push(
      h(
        "div",
        { className: "lane", dataset: { lane: String(i) } },
        h("span", { className: "lane-name", title: stream.names[i] }, stream.names[i]),
        track,
      ),
    );
  }
  for (const b of stream.bars) {
    const many = b.count > 1;
    const title = many
      ? `${b.count} tasks from ${b.id}, ${ms(b.end - b.start)} in all (worst: ${b.how}); click for the first`
      : `${b.id}: ${ms(b.end - b.start)} (${b.how})`;
    const bar = h(
      "div",
      {
        className: `bar ${b.how}${many ? " many" : ""}${b.id === state.selected ? " selected" : ""}`,
        title,
        dataset: { id: b.id, count: String(b.count) },
      },
      many ? `×${b.count}` : b.task,
    );
    bar.style.left = `${(100 * b.start) / span}%`;
    // Never narrower than the server's BAR_MIN_PX (the CSS min-width): it drew as one the bars that would overlap at that width.
    bar.style.width = `${(100 * (b.end - b.start)) / span}%`;
    bar.addEventListener("click", () => select(b.id));
    tracks[b.lane]?.append(bar);
  }
  box.replaceChildren(...rows);
}

// ---------- search ----------

let searchTimer = 0;
async function search(q) {
  const list = $("search-results");
  if (q.trim() === "") {
    list.hidden = true;
    state.matches = new Set();
    for (const g of $("graph").querySelectorAll("g.node.match")) g.classList.remove("match");
    return;
  }
  let found;
  try {
    found = await getJson(`/api/search?n=${state.step}&q=${encodeURIComponent(q)}`);
  } catch {
    return;
  }
  state.matches = new Set(found.map((f) => f.id));
  for (const g of $("graph").querySelectorAll("g.node"))
    g.classList.toggle("match", state.matches.has(g.dataset.id ?? ""));
  list.replaceChildren(
    ...(found.length === 0
      ? [h("li", { className: "muted" }, `nothing matches at step ${state.step}`)]
      : found.map((f) =>
          h(
            "li",
            {
              tabindex: "0",
              onclick: () => {
                list.hidden = true;
                select(f.id);
              },
            },
            status(f.status),
            " ",
            f.id,
          ),
        )),
  );
  list.hidden = false;
}

// ---------- controls ----------

function stop() {
  if (state.playing !== null) clearInterval(state.playing);
  state.playing = null;
  $("play").textContent = "▶";
}

function togglePlay() {
  if (state.playing !== null) return stop();
  if (state.step >= state.total) void show(1);
  $("play").textContent = "⏸";
  state.playing = setInterval(() => {
    if (state.step >= state.total) return stop();
    void show(state.step + 1);
  }, 350);
}

function init() {
  const slider = /** @type {HTMLInputElement} */ ($("slider"));
  slider.addEventListener("input", () => {
    stop();
    void show(Number(slider.value));
  });
  $("prev").addEventListener("click", () => (stop(), void show(Math.max(1, state.step - 1))));
  $("next").addEventListener("click", () => (stop(), void show(state.step + 1)));
  $("play").addEventListener("click", togglePlay);
  document.addEventListener("keydown", (e) => {
    const t = /** @type {HTMLElement} */ (e.target);
    if (t instanceof HTMLInputElement && t !== slider) return;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      stop();
      void show(e.key === "ArrowLeft" ? Math.max(1, state.step - 1) : state.step + 1);
    } else if (e.key === " " && t === document.body) {
      e.preventDefault();
      togglePlay();
    }
  });
  const input = /** @type {HTMLInputElement} */ ($("search"));
  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => void search(input.value), 120);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      input.value = "";
      void search("");
    }
  });
  connect();
}

init();
