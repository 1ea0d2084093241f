// FedKeeper's dashboard: one page, three views (the experiments, one experiment, a
// comparison), drawn from the JSON of /api with hand-made SVG. Every figure comes from
// the server on each refresh, so a reload shows the same state as the page it replaces.
// Data only ever reaches the page as text nodes and attributes, never as HTML.
"use strict";

const PLATFORMS = { openwhisk: "OpenWhisk", google: "Cloud Functions", openfaas: "OpenFaaS", aws: "AWS Lambda" };
const SPLIT = [["invoke_s", "invoke"], ["train_s", "train"], ["aggregate_s", "aggregate"], ["eval_s", "evaluate"]];
const STATES = ["selected", "waiting", "running", "retrying", "done", "failed", "late", "dropped"];
const REFRESH_MS = 1000;
const SVG = "http://www.w3.org/2000/svg";

let timer = null;
// picked are the experiments ticked for comparison; kept across the list's refreshes.
const picked = new Set();

// el builds an HTML element: attrs are attributes, children strings or nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

// sv builds an SVG element.
function sv(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue("--" + name).trim() || "#6b7280";
const colour = (platform) => cssVar(PLATFORMS[platform] ? platform : "other");
const fixed = (v, n) => (typeof v === "number" ? v.toFixed(n) : "");
const usd = (v) => "$" + (v || 0).toFixed(6);
const when = (t) => (t ? new Date(t).toLocaleString() : "");

async function api(path) {
  // Resolved against the origin, which never holds a user name and password: a page
  // opened as http://user:token@host/ has them in its own URL, and fetch refuses URLs
  // with credentials (the browser still sends the ones it logged in with).
  const url = new URL(path, location.origin + location.pathname);
  const r = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return r.json();
}

function setStatus(text) { document.getElementById("status").textContent = text; }

function legend(items) {
  return el("div", { class: "legend" }, items.map(([cls, label]) => el("span", {}, el("span", { class: "swatch sw-" + cls }), label)));
}

// ---- charts ----

// axes draws a frame of w×h with y ticks from 0 to yMax and x ticks 1..xMax.
function frame(w, h, pad, xMax, yMax, yFmt, xLabel) {
  const g = sv("g", {});
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (h - pad.t - pad.b) * (1 - i / 4);
    g.append(sv("line", { class: "grid", x1: pad.l, x2: w - pad.r, y1: y, y2: y }));
    g.append(sv("text", { x: pad.l - 4, y: y + 4, "text-anchor": "end" }, yFmt((yMax * i) / 4)));
  }
  g.append(sv("line", { class: "axis", x1: pad.l, x2: w - pad.r, y1: h - pad.b, y2: h - pad.b }));
  const step = Math.max(1, Math.ceil(xMax / 10));
  for (let x = step; x <= xMax; x += step) {
    const px = pad.l + ((w - pad.l - pad.r) * x) / Math.max(xMax, 1);
    g.append(sv("text", { x: px, y: h - pad.b + 14, "text-anchor": "middle" }, typeof xLabel === "function" ? xLabel(x) : x));
  }
  return g;
}

// lineChart draws series [{name, colour, points: [[x, y]]}] on one frame.
function lineChart(id, series, opts) {
  const w = 420, h = 210, pad = { l: 44, r: 10, t: 10, b: 26 };
  const all = series.flatMap((s) => s.points);
  const xMax = opts.xMax || Math.max(1, ...all.map((p) => p[0]));
  const yMax = opts.yMax || Math.max(1e-9, ...all.map((p) => p[1])) * 1.05;
  const X = (x) => pad.l + ((w - pad.l - pad.r) * x) / xMax;
  const Y = (y) => pad.t + (h - pad.t - pad.b) * (1 - y / yMax);
  const svg = sv("svg", { id, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": opts.title });
  svg.append(frame(w, h, pad, Math.ceil(xMax), yMax, opts.yFmt || ((v) => v.toFixed(2)), opts.xLabel));
  for (const s of series) {
    if (!s.points.length) continue;
    svg.append(sv("polyline", { fill: "none", stroke: s.colour, "stroke-width": 2, "data-series": s.name,
      points: s.points.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ") }));
    for (const p of s.points) svg.append(sv("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: s.colour }, sv("title", {}, `${s.name}: ${p[1].toFixed(4)} at ${p[0].toFixed ? p[0].toFixed(2) : p[0]}`)));
  }
  return svg;
}

// stackedBars draws one bar per round, stacked from parts [{key, colour, label}].
function stackedBars(id, rounds, parts, title, fmt) {
  const w = 420, h = 210, pad = { l: 60, r: 10, t: 10, b: 26 };
  const totals = rounds.map((r) => parts.reduce((s, p) => s + (p.value(r) || 0), 0));
  const yMax = Math.max(1e-12, ...totals) * 1.05;
  const n = Math.max(rounds.length, 1);
  const bw = (w - pad.l - pad.r) / n;
  const Y = (v) => ((h - pad.t - pad.b) * v) / yMax;
  const svg = sv("svg", { id, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title });
  svg.append(frame(w, h, pad, 0, yMax, fmt, null));
  rounds.forEach((r, i) => {
    let y = h - pad.b;
    for (const p of parts) {
      const v = p.value(r) || 0;
      if (v <= 0) continue;
      const bh = Y(v);
      y -= bh;
      svg.append(sv("rect", { x: pad.l + i * bw + bw * 0.1, y, width: Math.max(bw * 0.8, 1), height: bh, fill: p.colour, "data-round": r.round, "data-part": p.key },
        sv("title", {}, `round ${r.round} ${p.label}: ${fmt(v)}`)));
    }
    if (n <= 40 || (i + 1) % Math.ceil(n / 20) === 0) svg.append(sv("text", { x: pad.l + (i + 0.5) * bw, y: h - pad.b + 14, "text-anchor": "middle" }, r.round));
  });
  return svg;
}

// timeline draws one bar per activation: a row per client, time across, the colour of
// its platform; a cold start has a dark left edge, a retry is hatched.
function timeline(activations) {
  const acts = activations.filter((a) => a.start && a.end);
  const clients = [...new Set(activations.map((a) => a.client))].sort((a, b) => a - b);
  const row = new Map(clients.map((c, i) => [c, i]));
  const t0 = Math.min(...acts.map((a) => Date.parse(a.start)));
  const t1 = Math.max(...acts.map((a) => Date.parse(a.end)));
  const w = 1100, rh = 12, pad = { l: 56, r: 12, t: 6, b: 26 };
  const h = pad.t + pad.b + rh * Math.max(clients.length, 1);
  const span = Math.max(t1 - t0, 1);
  const X = (t) => pad.l + ((w - pad.l - pad.r) * (t - t0)) / span;
  const svg = sv("svg", { id: "timeline", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "every activation" });
  svg.append(sv("defs", {}, sv("pattern", { id: "hatch", width: 4, height: 4, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
    sv("rect", { width: 2, height: 4, fill: "#fff", "fill-opacity": 0.6 }))));
  svg.append(frame(w, h, pad, 10, 0, () => "", (x) => ((span * x) / 10 / 1000).toFixed(1) + " s"));
  clients.forEach((c, i) => svg.append(sv("text", { x: pad.l - 4, y: pad.t + i * rh + rh - 3, "text-anchor": "end" }, "c" + c)));
  for (const a of activations) {
    const y = pad.t + row.get(a.client) * rh + 1;
    const timed = a.start && a.end;
    const x = timed ? X(Date.parse(a.start)) : pad.l;
    const bw = timed ? Math.max(X(Date.parse(a.end)) - x, 1.5) : 1.5;
    const g = sv("g", {});
    g.append(sv("rect", { class: "bar", x, y, width: bw, height: rh - 2, fill: colour(a.platform), "fill-opacity": a.success ? 1 : 0.45,
      "data-round": a.round, "data-client": a.client, "data-attempt": a.attempt, "data-platform": a.platform, "data-cold": a.cold, "data-retry": a.attempt > 1 },
      sv("title", {}, `round ${a.round}, client ${a.client}, attempt ${a.attempt} on ${PLATFORMS[a.platform] || a.platform}: ${a.status}${a.cold ? ", cold start" : ""}, ${usd(a.cost_usd)}`)));
    if (a.attempt > 1) g.append(sv("rect", { x, y, width: bw, height: rh - 2, fill: "url(#hatch)" }));
    if (a.cold) g.append(sv("rect", { x, y, width: Math.min(2, bw), height: rh - 2, fill: "#111827" }));
    svg.append(g);
  }
  return svg;
}

// ---- views ----

async function showList() {
  const { experiments } = await api("api/experiments");
  const compare = el("button", { id: "compare" }, "Compare selected");
  const enable = () => (picked.size > 1 ? compare.removeAttribute("disabled") : compare.setAttribute("disabled", ""));
  enable();
  compare.addEventListener("click", () => { location.hash = "#/compare?ids=" + [...picked].map(encodeURIComponent).join(","); });
  const rows = experiments.map((e) => {
    const box = el("input", { type: "checkbox", "aria-label": "compare " + e.id });
    box.checked = picked.has(e.id);
    box.addEventListener("change", () => { box.checked ? picked.add(e.id) : picked.delete(e.id); enable(); });
    return el("tr", { "data-experiment": e.id },
      el("td", {}, box),
      el("td", {}, el("a", { href: "#/e/" + encodeURIComponent(e.id) }, e.config || e.id), el("div", { class: "muted" }, e.id)),
      el("td", {}, el("span", { class: "state " + e.status }, e.status)),
      el("td", { class: "num" }, `${e.rounds}/${e.max_rounds || "?"}`),
      el("td", { class: "num", "data-field": "accuracy" }, fixed(e.accuracy, 4)),
      el("td", {}, e.model),
      el("td", {}, when(e.start)),
      el("td", {}, e.web_ui ? el("a", { href: e.web_ui, target: "_blank", rel: "noopener" }, "Temporal Web UI") : ""));
  });
  const table = el("table", { id: "experiments" },
    el("thead", {}, el("tr", {}, ["", "experiment", "state", "rounds", "accuracy", "model", "started", ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
  render(el("h1", {}, "Experiments"), el("div", { class: "card" }, experiments.length ? table : el("p", {}, "No experiment yet: `make run` starts one.")), el("p", {}, compare));
  return experiments.some((e) => e.status === "running");
}

async function showExperiment(id) {
  const v = await api("api/experiments/" + encodeURIComponent(id));
  const e = v.experiment, rounds = v.rounds || [], bill = v.bill || {};
  const last = rounds[rounds.length - 1];
  const figures = el("div", { class: "figures" },
    el("div", { class: "figure" }, el("b", {}, el("span", { class: "state " + e.status, id: "state" }, e.status)), "state"),
    el("div", { class: "figure" }, el("b", { id: "round-count" }, `${rounds.length}/${e.max_rounds}`), "rounds"),
    el("div", { class: "figure" }, el("b", { id: "accuracy" }, last ? fixed(last.accuracy, 4) : "–"), "accuracy"),
    el("div", { class: "figure" }, el("b", { id: "bill-total" }, usd(bill.total && bill.total.usd)), "bill so far"),
    bill.to_target ? el("div", { class: "figure" }, el("b", { id: "bill-target" }, usd(bill.to_target.usd)), `to reach ${bill.to_target.accuracy} (round ${bill.to_target.round})`) : null,
    el("div", { class: "figure" }, el("b", {}, when(e.start)), "started"),
    e.web_ui ? el("div", { class: "figure" }, el("b", {}, el("a", { href: e.web_ui, target: "_blank", rel: "noopener" }, "Web UI")), "its workflow") : null);
  const acc = lineChart("accuracy-chart", [{ name: "accuracy", colour: cssVar("accuracy"), points: rounds.map((r) => [r.round, r.accuracy]) }], { title: "accuracy per round", yMax: 1 });
  const loss = lineChart("loss-chart", [{ name: "loss", colour: cssVar("loss"), points: rounds.map((r) => [r.round, r.loss]) }], { title: "loss per round" });
  const split = stackedBars("split-chart", rounds, SPLIT.map(([k, label]) => ({ key: label, label, colour: cssVar(label), value: (r) => r[k] })), "round time split", (v) => v.toFixed(2) + " s");
  const platforms = Object.keys(bill.platforms || {}).sort();
  const cost = stackedBars("cost-chart", rounds, platforms.map((p) => ({ key: p, label: PLATFORMS[p] || p, colour: colour(p), value: (r) => (r.cost_by_platform || {})[p] })), "cost per round", (v) => "$" + (v === 0 ? "0" : v.toExponential(1)));
  const none = (what) => el("p", { class: "muted" }, what);
  const finished = rounds.length > 0;
  render(
    el("h1", {}, e.config || e.id, " ", el("span", { class: "muted" }, e.id)), figures,
    el("div", { class: "card" }, el("h2", {}, "The running round"), runningPanel(v.running, e.status)),
    el("div", { class: "grid" },
      el("div", { class: "card" }, el("h2", {}, "Accuracy per round"), finished ? acc : none("No round has finished yet.")),
      el("div", { class: "card" }, el("h2", {}, "Loss per round"), finished ? loss : none("No round has finished yet.")),
      el("div", { class: "card" }, el("h2", {}, "Round time"), legend(SPLIT.map(([, l]) => [l, l])), finished ? split : none("No round has finished yet."))),
    el("div", { class: "card" }, el("h2", {}, `Every activation (${v.activations.length})`),
      legend([...Object.keys(PLATFORMS).map((p) => [p, PLATFORMS[p]]), ["cold", "cold start"], ["retry", "retry"]]),
      v.activations.length ? timeline(v.activations) : none("The finished rounds' activations show here.")),
    el("div", { class: "grid" },
      el("div", { class: "card" }, el("h2", {}, "The bill"), billTable(bill), legend(platforms.map((p) => [PLATFORMS[p] ? p : "other", PLATFORMS[p] || p])),
        bill.total && bill.total.usd > 0 ? cost : none("Nothing billed yet.")),
      el("div", { class: "card" }, el("h2", {}, "Late and rejected updates"), lateTable(v.late, v.rejected))),
    el("div", { class: "card" }, el("h2", {}, last ? `Clients of round ${last.round}` : "Clients"), clientsTable(v.clients)),
    el("div", { class: "card" }, el("h2", {}, "Rounds"), roundsTable(rounds)),
    el("div", { class: "card" }, el("h2", {}, "Global versions in the weight store"), versionsTable(v.versions, v.versions_error)));
  return e.status === "running";
}

function versionsTable(versions, error) {
  if (!versions.length) return el("p", { class: "muted" }, error ? "The weight store did not answer: " + error : "None yet.");
  return el("div", { class: "scroll" }, el("table", { id: "versions" },
    el("thead", {}, el("tr", {}, ["version", "updates", "samples", "audited updates", "accuracy", "SHA-256", "stored"].map((h) => el("th", {}, h)))),
    el("tbody", {}, versions.map((g) => el("tr", { "data-version": g.version, "data-sha256": g.sha256 },
      el("td", {}, g.version), el("td", { class: "num" }, g.updates), el("td", { class: "num" }, g.samples), el("td", { class: "num" }, g.counted),
      el("td", { class: "num" }, g.accuracy === undefined ? "" : fixed(g.accuracy, 4)), el("td", {}, el("code", { title: g.sha256 }, g.sha256.slice(0, 12))),
      el("td", {}, when(g.created)))))));
}

function runningPanel(running, status) {
  if (!running) return el("p", { id: "running", "data-round": "" }, status === "running" ? "Between rounds." : "No round is running.");
  const head = el("tr", {}, el("th", {}, "platform"), STATES.map((s) => el("th", { class: "num" }, s)));
  const rows = Object.keys(running.platforms).sort().map((p) => el("tr", { "data-platform": p },
    el("td", {}, el("span", { class: "swatch sw-" + (PLATFORMS[p] ? p : "other") }), PLATFORMS[p] || p),
    STATES.map((s) => el("td", { class: "num", "data-state": s }, running.platforms[p][s] || 0))));
  return el("div", { id: "running", "data-round": running.round, "data-done": running.done, "data-phase": running.phase },
    el("p", {}, `Round ${running.round}: ${running.phase}, ${running.done} of ${running.selected} clients done, ${running.counted} counted, ${running.retries} retries.`),
    el("table", {}, el("thead", {}, head), el("tbody", {}, rows)));
}

function billTable(bill) {
  const row = (name, c, attrs) => el("tr", attrs || {}, el("td", {}, name), el("td", { class: "num" }, c.invocations),
    el("td", { class: "num" }, fixed(c.gb_s, 3)), el("td", { class: "num" }, fixed(c.ghz_s, 3)),
    el("td", { class: "num" }, ((c.bytes_in + c.bytes_out) / 1048576).toFixed(1)), el("td", { class: "num" }, usd(c.usd)));
  const platforms = Object.keys(bill.platforms || {}).sort();
  return el("table", { id: "bill" },
    el("thead", {}, el("tr", {}, ["", "invocations", "GB-s", "GHz-s", "weights MiB", "cost"].map((h, i) => el("th", { class: i ? "num" : "" }, h)))),
    el("tbody", {}, platforms.map((p) => row(PLATFORMS[p] || p, bill.platforms[p], { "data-platform": p })),
      bill.total ? row("all", bill.total, { "data-platform": "all" }) : null,
      bill.failed && bill.failed.invocations ? row("of which failed attempts", bill.failed, { "data-platform": "failed" }) : null));
}

function lateTable(late, rejected) {
  const rows = [...late.map((l) => ["late", l]), ...rejected.map((r) => ["rejected", r])];
  if (!rows.length) return el("p", { class: "muted" }, "None.");
  return el("div", { class: "scroll" }, el("table", { id: "late" },
    el("thead", {}, el("tr", {}, ["", "round", "client", "why"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map(([kind, r]) => el("tr", {}, el("td", {}, kind), el("td", {}, r.round), el("td", {}, r.client), el("td", {}, r.reason))))));
}

function clientsTable(clients) {
  return el("div", { class: "scroll" }, el("table", { id: "clients" },
    el("thead", {}, el("tr", {}, ["client", "platform", "function", "attempts", "counted", "seconds", "selected because", "error"].map((h) => el("th", {}, h)))),
    el("tbody", {}, clients.map((c) => el("tr", { "data-client": c.client },
      el("td", {}, c.client), el("td", {}, PLATFORMS[c.platform] || c.platform), el("td", {}, c.function), el("td", { class: "num" }, c.attempts),
      el("td", {}, c.counted ? "yes" : "no"), el("td", { class: "num" }, fixed(c.seconds, 2)), el("td", {}, c.reason), el("td", {}, c.error || ""))))));
}

function roundsTable(rounds) {
  const cols = [["round", (r) => r.round], ["accuracy", (r) => fixed(r.accuracy, 4)], ["loss", (r) => fixed(r.loss, 6)],
    ["counted", (r) => `${r.counted}/${r.clients}`], ["retries", (r) => r.retries], ["invoke s", (r) => fixed(r.invoke_s, 2)],
    ["train s", (r) => fixed(r.train_s, 2)], ["aggregate s", (r) => fixed(r.aggregate_s, 2)], ["evaluate s", (r) => fixed(r.eval_s, 2)],
    ["total s", (r) => fixed(r.total_s, 2)], ["cost", (r) => usd(r.cost_usd)]];
  return el("div", { class: "scroll" }, el("table", { id: "rounds" },
    el("thead", {}, el("tr", {}, cols.map(([h]) => el("th", { class: "num" }, h)))),
    el("tbody", {}, rounds.map((r) => el("tr", { "data-round": r.round }, cols.map(([h, f]) => el("td", { class: "num", "data-field": h }, f(r))))))));
}

async function showCompare(ids) {
  if (ids.length < 2) {
    render(el("h1", {}, "Compare"), el("p", {}, "Pick two or more experiments in the list, then Compare."));
    return false;
  }
  const curves = await Promise.all(ids.map((id) => api("api/experiments/" + encodeURIComponent(id) + "/curve")));
  const palette = ["#2563eb", "#dc2626", "#059669", "#f59e0b", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];
  const series = (x) => curves.map((c, i) => ({ name: c.experiment.id, colour: palette[i % palette.length], points: c.rounds.map((r) => [x(r), r.accuracy]) }));
  const names = el("div", { class: "legend" }, curves.map((c, i) => el("span", {}, el("span", { class: "swatch", "data-colour": palette[i % palette.length] }), c.experiment.id)));
  render(el("h1", {}, "Compare"), names,
    el("div", { class: "grid" },
      el("div", { class: "card" }, el("h2", {}, "Accuracy against round"), lineChart("compare-rounds", series((r) => r.round), { title: "accuracy against round", yMax: 1 })),
      el("div", { class: "card" }, el("h2", {}, "Accuracy against time (s)"), lineChart("compare-time", series((r) => r.elapsed_s), { title: "accuracy against time", yMax: 1, xLabel: (x) => x + " s" }))));
  for (const s of names.querySelectorAll(".swatch")) s.setAttribute("class", "swatch"), s.append(swatchSvg(s.getAttribute("data-colour")));
  return curves.some((c) => c.experiment.status === "running");
}

// swatchSvg is a legend square of any colour (inline styles are not allowed here).
function swatchSvg(fill) { return sv("svg", { width: 12, height: 12, viewBox: "0 0 12 12" }, sv("rect", { width: 12, height: 12, rx: 2, fill })); }

function render(...nodes) { document.getElementById("main").replaceChildren(...nodes.filter(Boolean)); }

async function route() {
  clearTimeout(timer);
  const hash = decodeURIComponent(location.hash.slice(1) || "/");
  let again = false;
  try {
    if (hash.startsWith("/e/")) again = await showExperiment(hash.slice(3));
    else if (hash.startsWith("/compare")) again = await showCompare((new URLSearchParams(hash.split("?")[1] || "").get("ids") || "").split(",").filter(Boolean));
    else again = await showList();
    setStatus((again ? "live · " : "") + "updated " + new Date().toLocaleTimeString());
  } catch (err) {
    setStatus("could not update: " + err.message);
    again = true;
  }
  if (again) timer = setTimeout(route, REFRESH_MS);
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
