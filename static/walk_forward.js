"use strict";
// A walk-forward run: its folds on the price, the stitched out-of-sample equity
// against buy and hold with the fold boundaries, the fold table, the parameters'
// drift, the pass/fail summary, and each fold's generations. Everything is read as
// stored (GET /api/runs/<id>/walk-forward, .../folds/<k>/generations). The page
// follows the run live through its Socket.IO room (each generation and each state
// change reads the stored walk-forward again, at most one read at a time), through
// stop, resume and completion; the generation chart follows the fold under way until
// another fold is picked. Words for undefined figures are walk_forward_words.js's.

const WF = { candles: null, timelineFor: null, summaryShown: false, fold: null, follow: true, genes: [], config: null,
  limits: null, progress: null };
const TRAIN_COLOR = "rgba(9, 105, 218, 0.85)";
const TEST_COLOR = "rgba(191, 135, 0, 0.9)";

function foldShapes(windows, field, color) {
  return windows.map((w) => ({ type: "rect", xref: "x", yref: "paper", x0: w[`${field}_start`], x1: w[`${field}_end`],
    y0: 0, y1: 1, fillcolor: color, opacity: 0.08, line: { width: 0 } }));
}

// The folds under the price, one row each: with many folds the rows get thinner and
// the fold axis is labelled every 1, 2, 5, 10... folds (about ten labels), each
// window's own fold and dates on hover.
function drawTimeline(windows) {
  const c = WF.candles;
  const n = windows.length;
  const foldsHeight = Math.max(110, Math.min(14 * n, 420));
  const height = 290 + foldsHeight;
  const width = Math.max(2, Math.min(8, (0.7 * foldsHeight) / n));
  const traces = [{ type: "scatter", mode: "lines", x: c.time, y: c.close, name: "close", line: { color: "#57606a", width: 1 } }];
  windows.forEach((w, k) => {
    const y = k + 1;
    traces.push({ type: "scatter", mode: "lines", x: [w.train_start, w.train_end], y: [y, y], yaxis: "y2",
      name: "training", legendgroup: "train", showlegend: k === 0, line: { color: TRAIN_COLOR, width },
      hovertemplate: `fold ${w.fold} training<br>${w.train_start} – ${w.train_end}<extra></extra>` });
    traces.push({ type: "scatter", mode: "lines", x: [w.test_start, w.test_end], y: [y, y], yaxis: "y2",
      name: "test", legendgroup: "test", showlegend: k === 0, line: { color: TEST_COLOR, width },
      hovertemplate: `fold ${w.fold} test<br>${w.test_start} – ${w.test_end}<extra></extra>` });
  });
  const split = (foldsHeight - 20) / (height - 80);
  Plotly.react("timeline", traces, { ...PLOT_LAYOUT, height, title: { text: "Training and test windows of each fold" },
    xaxis: { anchor: "y2", automargin: true },  // the dates under the fold rows (not on fold 1's label)
    yaxis: { title: { text: "price" }, domain: [split + 0.08, 1] },
    yaxis2: { title: { text: "fold" }, domain: [0, split], ...foldAxis(n), range: [n + 0.5, 0.5], autorange: false },
    shapes: foldShapes(windows, "test", TEST_COLOR), legend: { orientation: "h" } }, PLOT_CONFIG);
  document.getElementById("timeline").dataset.folds = String(n);
}

// An axis of fold numbers 1..n: fold 1, then every 1, 2 or 5 times a power of ten (about ten labels).
function foldAxis(n) {
  const step = n <= 12 ? 1 : countStep(n / 2);
  const ticks = [1];
  for (let k = step; k <= n; k += step) if (k > 1 && k - 1 >= step / 2) ticks.push(k);
  return { tickmode: "array", tickvals: ticks, ticktext: ticks.map(String), tickangle: 0, automargin: true };
}

function drawStitched(summary, windows) {
  const equity = summary.stitched.equity;
  const c = WF.candles;
  const first = c.time.indexOf(windows[0].test_start);
  const last = c.time.indexOf(windows[windows.length - 1].test_end);
  const hold = first >= 0 && last >= first ? {
    type: "scatter", mode: "lines", name: "buy and hold", x: c.time.slice(first, last + 1),
    y: c.close.slice(first, last + 1).map((v) => v / c.close[first]), line: { color: "#8c959f", dash: "dot" } } : null;
  const boundaries = windows.slice(1).map((w) => ({ type: "line", xref: "x", yref: "paper", x0: w.test_start,
    x1: w.test_start, y0: 0, y1: 1, line: { color: TEST_COLOR, width: 1, dash: "dash" } }));
  Plotly.react("stitched", [
    { type: "scatter", mode: "lines", name: "walk-forward (out of sample)", x: equity.time, y: equity.value,
      line: { color: "#1a7f37", width: 2 } },
    ...(hold ? [hold] : []),
  ], { ...PLOT_LAYOUT, height: 360, title: { text: "Stitched out-of-sample equity (1 = start) against buy and hold" },
    shapes: boundaries, xaxis: { automargin: true }, margin: { ...PLOT_LAYOUT.margin, t: 70 },
    legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom" } }, PLOT_CONFIG);  // above the plot: the dates stay clear
}

const STATE_WORDS = { done: "done", running: "running", stopping: "stopping", pending: "to run", stopped: "stopped here",
  interrupted: "interrupted here", failed: "failed here" };

// A statistic's cell: "–" with the reason as its title where it is undefined.
function whyCell(value, why, attrs = {}) {
  const cell = numberCell(value, 3, attrs);
  if ((value === null || value === undefined) && why) { cell.title = why; cell.dataset.why = why; cell.classList.add("why"); }
  return cell;
}

function drawFoldTable(folds, windows) {
  const table = document.getElementById("fold-table");
  const labels = geneLabels(WF.genes);
  const head = ["fold", "state", "training window", "test window", ...WF.genes.map((g) => labels[g] || g),
    "train return %", "test return %", "train Sharpe", "test Sharpe", "test max DD %", "test trades", "evaluations"];
  table.querySelector("thead").replaceChildren(el("tr", {}, ...head.map((h) => el("th", { text: h }))));
  const done = new Map(folds.map((f) => [f.fold, f]));
  const states = WF.progress.states;
  table.querySelector("tbody").replaceChildren(...windows.map((w, k) => {
    const f = done.get(w.fold);
    const empty = f && !f.params ? emptyFoldWhy(f, WF.limits) : "";
    const params = (f && f.params) || {};
    const train = (f && f.train) || {};
    const test = (f && f.test) || {};
    const c = (value, extra = {}) => whyCell(value, empty, extra);
    return el("tr", { "data-fold": String(w.fold), "data-state": states[k], class: `${f ? "done" : states[k]}${empty ? " empty" : ""}`, ...(empty ? { title: empty } : {}) },
      el("td", { text: String(w.fold) }), el("td", { class: "fold-state", text: STATE_WORDS[states[k]] || states[k] }),
      el("td", { text: `${w.train_start} – ${w.train_end}` }), el("td", { text: `${w.test_start} – ${w.test_end}` }),
      ...WF.genes.map((g) => c(params[g] ?? null)),
      c(train.total_return_pct ?? null), c(test.total_return_pct ?? null, { class: "test" }),
      whyCell(train.sharpe ?? null, empty || sharpeWhy(f && f.train, WF.limits)),
      whyCell(test.sharpe ?? null, empty || sharpeWhy(f && f.test, WF.limits), { class: "test" }),
      c(test.max_drawdown_pct ?? null, { class: "test" }), c(test.total_trades ?? null, { class: "test" }),
      numberCell(f ? f.evaluations : null));
  }));
  document.getElementById("fold-notes").replaceChildren(...foldNotes(folds, WF.limits).map((note) =>
    el("li", { "data-note": note.key, text: note.text })));
}

function drawDrift(folds) {
  const labels = geneLabels(WF.genes);  // told apart among all the genes (two "fast" otherwise)
  const traces = WF.genes.map((g) => {
    const range = WF.ranges[g];
    return { type: "scatter", mode: "lines+markers", name: labels[g] || g, x: folds.map((f) => f.fold),
      y: folds.map((f) => (f.params && range && range.high > range.low ? (f.params[g] - range.low) / (range.high - range.low) : null)),
      hovertemplate: `${g}: %{customdata}<extra>fold %{x}</extra>`, customdata: folds.map((f) => (f.params ? f.params[g] : null)) };
  });
  Plotly.react("drift", traces, { ...PLOT_LAYOUT, title: { text: "Parameter drift (position in each range)" },
    xaxis: { title: { text: "fold" }, ...foldAxis(WF.windowsCount || folds.length),
      range: [0.5, (WF.windowsCount || folds.length) + 0.5], autorange: false }, yaxis: { title: { text: "low → high" }, range: [-0.05, 1.05] } }, PLOT_CONFIG);
}

async function drawFoldGenerations(fold) {
  WF.fold = fold;
  const generations = await getJSON(`/api/runs/${RUN_ID}/walk-forward/folds/${fold}/generations`);
  if (WF.fold !== fold) return;  // another fold was picked meanwhile
  const objective = (WF.config.objectives || [{ metric: "total_return_pct" }])[0].metric;
  const pick = (key) => generations.map((g) => g.objectives[0][key]);
  const x = generations.map((g) => g.fold_generation);
  Plotly.react("fold-generations", ["best", "mean", "worst"].map((key) => ({ type: "scatter", mode: "lines+markers",
    name: key, x, y: pick(key) })), { ...PLOT_LAYOUT, title: { text: pick("best").every((v) => v === null) && x.length
      ? `Fold ${fold}: no valid member in any generation (nothing to plot)` : `Fold ${fold}: ${objective} per generation (valid members)` },
    xaxis: generationAxis(1, Math.max(1, x.length), { title: { text: "generation of the fold" } }) }, PLOT_CONFIG);
  const chart = document.getElementById("fold-generations");
  chart.dataset.fold = String(fold);
  chart.dataset.generations = String(x.length);
}

// drawSummary's `record`: the run record's walk_forward verdict (GET /api/runs/<id>: flat_note ...).
function drawSummary(summary, record) {
  const box = document.getElementById("wf-summary");
  box.hidden = false;
  const verdict = document.getElementById("wf-verdict");
  const failed = summary.criteria.filter((c) => !c.passed).map((c) => c.label);
  verdict.dataset.level = summary.passed ? "robust" : "overfit";
  verdict.textContent = summary.passed ? "Passed: every criterion holds out of sample."
    : `Failed: ${failed.join("; ")}.`;
  const figures = [["stitched return %", summary.stitched.total_return_pct], ["efficiency", summary.efficiency],
    ["t-statistic", summary.t_stat], ["profitable folds %", summary.profitable_folds_pct],
    ["largest fold's profit share", summary.max_fold_profit_share], ["max drawdown %", summary.stitched.max_drawdown_pct],
    ["trades", summary.stitched.total_trades], ["buy and hold %", summary.stitched.market_return_pct]];
  const share = shareWords(summary);
  const why = { "largest fold's profit share": share, "t-statistic": summary.t_stat === null ? "t-statistic undefined: the stitched per-bar returns do not vary" : "",
    efficiency: summary.efficiency === null ? "efficiency undefined: the selected members' mean annualized training return is not positive" : "" };
  why["stitched Sharpe"] = sharpeWhy(summary.stitched, WF.limits).replace("the window", "the stitched out-of-sample curve");
  figures.splice(3, 0, ["stitched Sharpe", summary.stitched.sharpe]);
  const flat = (record && record.flat_note) || "";  // flat folds count as cash in these two figures: said beside them
  for (const name of ["stitched Sharpe", "t-statistic"]) if (flat && !why[name]) why[name] = flat;
  document.getElementById("wf-figures").replaceChildren(...figures.flatMap(([name, value]) =>
    [el("dt", { text: name }), el("dd", { text: fmt(value), ...(why[name] ? { title: why[name], "data-why": why[name] } : {}) })]));
  const words = [share, ...["efficiency", "t-statistic", "stitched Sharpe"].map((k) => (why[k] ? `${why[k][0].toUpperCase()}${why[k].slice(1)}.` : ""))];
  const notes = words.filter((text) => text && text.toLowerCase() !== `${flat}.`.toLowerCase()).map((text) => el("li", { text }));
  if (flat) notes.unshift(el("li", { "data-note": "flat-folds", text: `${flat[0].toUpperCase()}${flat.slice(1)}.` }));
  document.getElementById("wf-figure-notes").replaceChildren(...notes);
  document.querySelector("#criteria tbody").replaceChildren(...summary.criteria.map((c) =>
    el("tr", { "data-criterion": c.name, class: c.passed ? "pass" : "fail" }, el("td", { text: c.label }),
      el("td", { text: `${c.op} ${fmt(c.threshold)}` }),
      el("td", { text: fmt(c.value), ...(c.name === "fold_profit_share" && share ? { title: share } : {}) }),
      el("td", { class: `robust ${c.passed ? "pass" : "fail"}`, text: c.verdict }))));
  document.getElementById("export-trades").hidden = false;
}

// The run's state, its fold and progress; an ETA only while it runs.
function showStatus(run, progress) {
  document.getElementById("state").textContent = run.state;
  document.getElementById("generation").textContent = run.generation;
  document.getElementById("total").textContent = run.generations_total;
  const bar = document.getElementById("progress");
  bar.max = run.generations_total || 1;
  bar.value = run.generation;
  const running = LIVE_STATES.includes(run.state);
  document.getElementById("eta-box").hidden = !running;
  document.getElementById("eta").textContent = running && run.eta_seconds != null ? fmtDuration(run.eta_seconds) : "–";
  if (progress) {
    document.getElementById("fold").textContent = progress.current || progress.done;
    document.getElementById("folds").textContent = progress.n;
    document.getElementById("fold-state").textContent = foldStateWords(run, progress);
  }
  document.getElementById("error").hidden = !run.error;
  document.getElementById("error").textContent = run.error || "";
}

// The fold whose generations the chart shows: the one under way (or the last one
// run) while following; the fold picked otherwise.
function followedFold(progress) {
  return Math.max(1, Math.min(progress.n, progress.current || progress.done || 1));
}

async function refresh() {
  const [run, wf] = await Promise.all([getJSON(`/api/runs/${RUN_ID}`), getJSON(`/api/runs/${RUN_ID}/walk-forward`)]);
  WF.limits = wf.limits || null;
  const windows = wf.windows;
  WF.progress = windows.length ? foldProgress(run, wf, WF.perFold) : null;
  showStatus(run, WF.progress);
  // not settled from the moment a live state shows (the draws below take a while)
  if (!RUN_STATES.final.includes(run.state)) document.body.dataset.ready = "false";
  if (windows.length) {
    WF.windowsCount = windows.length;
    if (WF.timelineFor !== windows.length) {
      WF.timelineFor = windows.length;
      drawTimeline(windows);
      document.getElementById("fold-select").replaceChildren(...windows.map((w) => el("option", { value: String(w.fold), text: String(w.fold) })));
    }
    drawFoldTable(wf.folds, windows);
    drawDrift(wf.folds);
    document.getElementById("fold-table").dataset.folds = String(wf.folds.length);
    const fold = followedFold(WF.progress);
    if (WF.follow || WF.fold === null) {
      document.getElementById("fold-select").value = String(fold);
      await drawFoldGenerations(fold).catch(showError);
    }
  }
  if (wf.summary && !WF.summaryShown) {
    WF.summaryShown = true;
    drawSummary(wf.summary, run.walk_forward);
    drawStitched(wf.summary, windows);
    document.getElementById("stitched-pending").hidden = true;
  }
  const settled = RUN_STATES.final.includes(run.state) && (wf.summary || run.state !== "completed");
  document.body.dataset.ready = settled ? "true" : "false";
  document.body.dataset.state = run.state;
  return settled;
}

// One read at a time: events that arrive during a read ask for one more after it.
const reads = { busy: false, again: false };
async function refreshSoon() {
  if (reads.busy) { reads.again = true; return; }
  reads.busy = true;
  try {
    do {
      reads.again = false;
      await refresh().catch(showError);
    } while (reads.again);
  } finally {
    reads.busy = false;
  }
}

function showError(error) {
  const node = document.getElementById("error");
  node.hidden = false;
  node.textContent = `${error.message}${error.details && error.details.length ? ": " + error.details.join("; ") : ""}`;
}

async function main() {
  WF.config = await getJSON(`/api/runs/${RUN_ID}/config`);
  const run = await getJSON(`/api/runs/${RUN_ID}`);
  document.getElementById("title").textContent = `Walk-forward of run ${RUN_ID}: ${run.name}`;
  WF.candles = await getJSON(`/api/datasets/${encodeURIComponent(run.dataset_id)}/candles?timestamps=${(WF.config.data && WF.config.data.timestamps) || "open"}`);
  WF.ranges = {};
  collectRanges(WF.config.strategy, "strategy");
  collectRanges(WF.config.execution, "execution");
  WF.genes = Object.keys(WF.ranges).sort();
  WF.perFold = WF.genes.length ? ((WF.config.ga && WF.config.ga.generations) || 1) : 1;
  document.getElementById("fold-select").addEventListener("change", (event) => {
    const fold = Number(event.target.value);
    WF.follow = !WF.progress || fold === followedFold(WF.progress);  // back on the fold under way: follow it again
    drawFoldGenerations(fold).catch(showError);
  });
  await refreshSoon();
  // Live: every generation and state change of the run is heard in its room; a
  // (re)connection reads everything again (nothing is missed while away).
  const socket = io({ transports: ["websocket"] });
  socket.on("connect", () => { socket.emit("subscribe", { run_id: RUN_ID }); refreshSoon(); });
  socket.on("generation", () => refreshSoon());
  socket.on("run_status", () => refreshSoon());
}

// The configuration's ranges (its genes), by dotted path, as the optimizer names them.
function collectRanges(node, path) {
  if (node === null || typeof node !== "object") return;
  if ("min" in node && "max" in node && typeof node.min === "number") {
    WF.ranges[path] = { low: node.min, high: node.max };
    return;
  }
  for (const [key, value] of Object.entries(node)) collectRanges(value, `${path}.${key}`);
}

main().catch(showError);
