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
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const state = {
  generation: -1,
  steps: [],
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

// ---------- the log: a stream of steps ----------

function applyLog(msg) {
  const atEnd = state.step >= state.steps.length;
  if (msg.generation !== state.generation || msg.from === 0) {
    state.generation = msg.generation;
    state.steps = msg.steps.slice();
    if (msg.from === 0 && state.connected) state.step = Math.min(state.step, state.steps.length);
  } else {
    state.steps.length = msg.from;
    state.steps.push(...msg.steps);
  }
  state.follow = msg.follow;
  state.problem = msg.problem;
  state.partial = msg.partial;
  state.skipped = msg.skipped;
  $("run-id").textContent = msg.runId ? `${msg.runId} · ${msg.file}` : msg.file;
  $("live").hidden = !msg.follow || state.steps[state.steps.length - 1]?.type === "run.finished";
  const first = !state.connected;
  state.connected = true;
  showProblem();
  const slider = /** @type {HTMLInputElement} */ ($("slider"));
  slider.max = String(state.steps.length);
  slider.min = state.steps.length > 0 ? "1" : "0";
  // Follow the end while the user is at the end (live), else stay on their step.
  if (first || atEnd) void show(state.steps.length);
  else updateLabel();
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
    lines.push(state.steps.length > 0 ? `Showing the ${state.steps.length} event(s) before it.` : "No event could be shown.");
  } else if (state.partial && !state.follow) {
    warning = true;
    lines.push("The last line of the log is cut off (the run was stopped while writing); the events before it are shown.");
  } else if (state.connected && state.steps.length === 0) {
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
  $("step-label").textContent = `step ${state.step} of ${state.steps.length}`;
  /** @type {HTMLInputElement} */ ($("slider")).value = String(state.step);
  const ev = state.steps[state.step - 1];
  const box = $("event-text");
  box.replaceChildren();
  if (ev) box.append(h("span", { className: "type" }, `#${ev.seq} ${ev.type}`), h("span", { className: "time muted" }, `${ev.ts.slice(11, 23)}  `), ev.text);
  else box.append(h("span", { className: "muted" }, state.steps.length === 0 ? "no event yet" : "before the first event"));
}

async function show(n) {
  n = Math.max(0, Math.min(n, state.steps.length));
  state.step = n;
  updateLabel();
  const token = ++state.token;
  if (n === 0) {
    $("graph").replaceChildren(h("p", { className: "muted" }, state.problem && state.steps.length === 0 ? "nothing to draw" : "no event yet"));
    $("graph").dataset.step = "0";
    return;
  }
  try {
    const expand = [...state.expanded.keys()].map((k) => `&expand=${encodeURIComponent(k)}`).join("");
    const asked = [getJson(`/api/step?n=${n}${expand}`), getJson(`/api/promises?n=${n}`), getJson(`/api/lanes?n=${n}`)];
    // The picture first, as soon as it comes (the task stream of a big run takes longer); one failure is reported once.
    for (const p of asked) p.catch(() => {});
    const drawn = await asked[0];
    if (token !== state.token) return;
    drawGraph(drawn);
    drawExpanded();
    // The step the drawing shows (tests and the benchmark wait for it).
    $("graph").dataset.step = String(n);
    const [promises, lanes] = await Promise.all(asked.slice(1));
    if (token !== state.token) return;
    drawPromises(promises);
    drawLanes(lanes);
    const last = state.steps[n - 1];
    if (last && last.type === "run.finished") setStatus(/status|run (\w+)/.exec(last.text)?.[1] ?? "finished");
    else setStatus(state.follow && n === state.steps.length ? "running" : `step ${n}`);
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
  if (root.nodeName !== "svg" || doc.getElementsByTagName("parsererror").length > 0) throw new Error("the drawing is not valid SVG");
  for (const bad of [...root.querySelectorAll("script, foreignObject, iframe, use, image, animate, set")]) bad.remove();
  for (const el of [root, ...root.querySelectorAll("*")])
    for (const attr of [...el.attributes]) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || name === "href" || name.endsWith(":href") || name === "style") el.removeAttribute(attr.name);
    }
  return /** @type {SVGSVGElement} */ (document.importNode(root, true));
}

function drawGraph(drawn) {
  const svg = safeSvg(drawn.svg);
  const nodes = [...svg.querySelectorAll("g.node")];
  const subject = state.steps[state.step - 1]?.subject ?? null;
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
      else if (info.kind === "group" && info.group !== null && info.size !== null && info.size <= drawn.expandMax) expand(info.group, info.tooltip);
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
      ? h("p", { className: "muted" }, `Too many to draw one by one (more than ${expandMax}); find them with the search.`)
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
      h("button", { type: "button", className: "collapse", title: "draw the group as one node again", dataset: { group: key }, onclick: () => collapse(key) }, `▾ ${what}`),
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
    panel.replaceChildren(h("h2", {}, "Task"), h("p", { className: "muted" }, `${id}: not in the plan at step ${state.step} (${error.message})`));
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
      h("dd", {}, status(d.status), d.cached ? h("span", { className: "st cached" }, "from the cache") : "", d.reason ? ` ${d.reason}` : ""),
      h("dt", {}, "parent"),
      h("dd", {}, d.parent === null ? "— (the root)" : idLink(d.parent)),
      h("dt", {}, "labels"),
      h("dd", {}, d.labels.length > 0 ? d.labels.join(", ") : "—"),
      h("dt", {}, "attempts"),
      h("dd", {}, String(d.attempts), d.retries.length > 0 ? ` (${d.retries.length} retr${d.retries.length === 1 ? "y" : "ies"})` : ""),
      h("dt", {}, "duration"),
      h("dd", {}, ms(d.durationMs), ` (holding a slot ${ms(d.runningMs)})`),
      d.waitingOn.length > 0 ? [h("dt", {}, "waits on"), h("dd", {}, ...d.waitingOn.map((w) => [idLink(w), " "]))] : [],
      d.children.length > 0 ? [h("dt", {}, "children"), h("dd", {}, String(d.children.length))] : [],
    ),
    h("h3", {}, "Inputs"),
    h("pre", { className: "node-inputs" }, d.inputs),
    h("h3", {}, "Output"),
    h("pre", { className: "node-output" }, d.output === null ? "(none yet)" : d.output),
  ];
  if (d.error) {
    parts.push(h("h3", {}, "Error"), h("pre", { className: "stack" }, `${d.error.name}${d.error.code ? ` [${d.error.code}]` : ""}: ${d.error.message}`, d.error.stack ? `\n\n${d.error.stack}` : ""));
  }
  parts.push(
    h("h3", {}, "Status history"),
    h(
      "table",
      {},
      h("tr", {}, h("th", {}, "seq"), h("th", {}, "time"), h("th", {}, "status"), h("th", {}, "")),
      d.history.map((c) => h("tr", {}, h("td", { className: "nowrap" }, String(c.seq)), h("td", { className: "nowrap" }, c.ts.slice(11, 23)), h("td", {}, status(c.status)), h("td", {}, c.note))),
    ),
  );
  if (d.retries.length > 0)
    parts.push(h("h3", {}, "Retries"), h("table", {}, d.retries.map((r) => h("tr", {}, h("td", {}, `attempt ${r.attempt} after ${r.delayMs} ms`), h("td", {}, r.error)))));
  parts.push(h("h3", {}, `Log (${d.logs.length})`));
  if (d.logs.length === 0) parts.push(h("p", { className: "muted" }, "no ctx.log lines"));
  else
    parts.push(
      h(
        "div",
        { className: "node-logs" },
        d.logs.map((l) => h("pre", {}, `${l.ts.slice(11, 23)}  ${l.message}`, l.fields !== null ? `  ${l.fields}` : "")),
      ),
    );
  if (d.warnings.length > 0) parts.push(h("h3", {}, "Warnings"), d.warnings.map((w) => h("pre", {}, w)));
  parts.push(h("h3", {}, "Promises in scope"));
  if (d.promises.length === 0) parts.push(h("p", { className: "muted" }, "none"));
  else parts.push(promiseTable(d.promises));
  panel.replaceChildren(...parts);
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
        h("td", {}, p.text, h("div", { className: "muted" }, `${p.scope}${p.source !== "context" ? `, ${p.source}` : ""}`)),
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
        h("div", { className: "muted" }, `step ${v.seq}, policy ${v.policy}`, v.refused.length > 0 ? `, refused ${v.refused.join(", ")}` : ""),
      ),
    );
  box.replaceChildren(...parts);
}

function drawLanes(stream) {
  const box = $("lanes");
  if (stream.lanes === 0) {
    box.replaceChildren(h("p", { className: "muted" }, " no task has started yet"));
    return;
  }
  const span = Math.max(stream.span, 1);
  const rows = [];
  for (let i = 0; i < stream.lanes; i++) rows.push(h("div", { className: "lane" }));
  for (const b of stream.bars) {
    const bar = h("div", { className: `bar ${b.how}${b.id === state.selected ? " selected" : ""}`, title: `${b.id}: ${ms(b.end - b.start)} (${b.how})`, dataset: { id: b.id } }, b.task);
    bar.style.left = `${(100 * b.start) / span}%`;
    bar.style.width = `${Math.max(0.3, (100 * (b.end - b.start)) / span)}%`;
    bar.addEventListener("click", () => select(b.id));
    rows[b.lane]?.append(bar);
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
  for (const g of $("graph").querySelectorAll("g.node")) g.classList.toggle("match", state.matches.has(g.dataset.id ?? ""));
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
  if (state.step >= state.steps.length) void show(1);
  $("play").textContent = "⏸";
  state.playing = setInterval(() => {
    if (state.step >= state.steps.length) return stop();
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
