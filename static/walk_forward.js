"use strict";
// A walk-forward run: its folds on the price, the stitched out-of-sample equity
// against buy and hold with the fold boundaries, the fold table, the parameters'
// drift, the pass/fail summary, and each fold's generations. Everything is read as
// stored (GET /api/runs/<id>/walk-forward, .../folds/<k>/generations); while the
// run goes on, the page reads again every second, so folds appear as they end.

const WF = { candles: null, shownFolds: -1, summaryShown: false, fold: null, genes: [], config: null };
const TRAIN_COLOR = "rgba(9, 105, 218, 0.85)";
const TEST_COLOR = "rgba(191, 135, 0, 0.9)";

function foldShapes(windows, field, color) {
  return windows.map((w) => ({ type: "rect", xref: "x", yref: "paper", x0: w[`${field}_start`], x1: w[`${field}_end`],
    y0: 0, y1: 1, fillcolor: color, opacity: 0.08, line: { width: 0 } }));
}

function drawTimeline(windows) {
  const c = WF.candles;
  const traces = [{ type: "scatter", mode: "lines", x: c.time, y: c.close, name: "close", line: { color: "#57606a", width: 1 } }];
  windows.forEach((w, k) => {
    const y = k + 1;
    traces.push({ type: "scatter", mode: "lines", x: [w.train_start, w.train_end], y: [y, y], yaxis: "y2",
      name: "training", legendgroup: "train", showlegend: k === 0, line: { color: TRAIN_COLOR, width: 8 },
      hovertemplate: `fold ${w.fold} training<br>${w.train_start} – ${w.train_end}<extra></extra>` });
    traces.push({ type: "scatter", mode: "lines", x: [w.test_start, w.test_end], y: [y, y], yaxis: "y2",
      name: "test", legendgroup: "test", showlegend: k === 0, line: { color: TEST_COLOR, width: 8 },
      hovertemplate: `fold ${w.fold} test<br>${w.test_start} – ${w.test_end}<extra></extra>` });
  });
  Plotly.react("timeline", traces, { ...PLOT_LAYOUT, height: 420, title: { text: "Training and test windows of each fold" },
    yaxis: { title: { text: "price" }, domain: [0.38, 1] },
    yaxis2: { title: { text: "fold" }, domain: [0, 0.3], dtick: 1, range: [0.5, windows.length + 0.5], autorange: false },
    shapes: foldShapes(windows, "test", TEST_COLOR), legend: { orientation: "h" } }, PLOT_CONFIG);
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
    shapes: boundaries, legend: { orientation: "h" } }, PLOT_CONFIG);
}

function drawFoldTable(folds, windows) {
  const table = document.getElementById("fold-table");
  const labels = geneLabels(WF.genes);
  const head = ["fold", "training window", "test window", ...WF.genes.map((g) => labels[g] || g),
    "train return %", "test return %", "train Sharpe", "test Sharpe", "test max DD %", "test trades", "evaluations"];
  table.querySelector("thead").replaceChildren(el("tr", {}, ...head.map((h) => el("th", { text: h }))));
  const done = new Map(folds.map((f) => [f.fold, f]));
  table.querySelector("tbody").replaceChildren(...windows.map((w) => {
    const f = done.get(w.fold);
    const params = (f && f.params) || {};
    const train = (f && f.train) || {};
    const test = (f && f.test) || {};
    return el("tr", { "data-fold": String(w.fold), class: f ? "done" : "pending" },
      el("td", { text: String(w.fold) }),
      el("td", { text: `${w.train_start} – ${w.train_end}` }), el("td", { text: `${w.test_start} – ${w.test_end}` }),
      ...WF.genes.map((g) => numberCell(params[g] ?? null)),
      numberCell(train.total_return_pct ?? null), numberCell(test.total_return_pct ?? null, 3, { class: "test" }),
      numberCell(train.sharpe ?? null), numberCell(test.sharpe ?? null, 3, { class: "test" }),
      numberCell(test.max_drawdown_pct ?? null, 3, { class: "test" }), numberCell(test.total_trades ?? null, 3, { class: "test" }),
      numberCell(f ? f.evaluations : null));
  }));
}

function drawDrift(folds) {
  const traces = WF.genes.map((g) => {
    const range = WF.ranges[g];
    return { type: "scatter", mode: "lines+markers", name: geneLabels([g])[g] || g, x: folds.map((f) => f.fold),
      y: folds.map((f) => (f.params && range && range.high > range.low ? (f.params[g] - range.low) / (range.high - range.low) : null)),
      hovertemplate: `${g}: %{customdata}<extra>fold %{x}</extra>`, customdata: folds.map((f) => (f.params ? f.params[g] : null)) };
  });
  Plotly.react("drift", traces, { ...PLOT_LAYOUT, title: { text: "Parameter drift (position in each range)" },
    xaxis: { title: { text: "fold" }, dtick: 1 }, yaxis: { title: { text: "low → high" }, range: [-0.05, 1.05] } }, PLOT_CONFIG);
}

async function drawFoldGenerations(fold) {
  WF.fold = fold;
  const generations = await getJSON(`/api/runs/${RUN_ID}/walk-forward/folds/${fold}/generations`);
  const objective = (WF.config.objectives || [{ metric: "total_return_pct" }])[0].metric;
  const pick = (key) => generations.map((g) => g.objectives[0][key]);
  const x = generations.map((g) => g.fold_generation);
  Plotly.react("fold-generations", ["best", "mean", "worst"].map((key) => ({ type: "scatter", mode: "lines+markers",
    name: key, x, y: pick(key) })), { ...PLOT_LAYOUT, title: { text: `Fold ${fold}: ${objective} per generation` },
    xaxis: generationAxis(1, Math.max(1, x.length), { title: { text: "generation of the fold" } }) }, PLOT_CONFIG);
  document.getElementById("fold-generations").dataset.fold = String(fold);
}

function drawSummary(summary) {
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
  document.getElementById("wf-figures").replaceChildren(...figures.flatMap(([name, value]) =>
    [el("dt", { text: name }), el("dd", { text: fmt(value) })]));
  document.querySelector("#criteria tbody").replaceChildren(...summary.criteria.map((c) =>
    el("tr", { "data-criterion": c.name, class: c.passed ? "pass" : "fail" }, el("td", { text: c.label }),
      el("td", { text: `${c.op} ${fmt(c.threshold)}` }), el("td", { text: fmt(c.value) }),
      el("td", { class: `robust ${c.passed ? "pass" : ""}`, text: c.verdict }))));
  document.getElementById("export-trades").hidden = false;
}

function showStatus(run) {
  document.getElementById("state").textContent = run.state;
  document.getElementById("generation").textContent = run.generation;
  document.getElementById("total").textContent = run.generations_total;
  const progress = document.getElementById("progress");
  progress.max = run.generations_total || 1;
  progress.value = run.generation;
  document.getElementById("eta").textContent = run.eta_seconds == null ? "–" : fmtDuration(run.eta_seconds);
  document.getElementById("error").hidden = !run.error;
  document.getElementById("error").textContent = run.error || "";
}

async function refresh() {
  const [run, wf] = await Promise.all([getJSON(`/api/runs/${RUN_ID}`), getJSON(`/api/runs/${RUN_ID}/walk-forward`)]);
  showStatus(run);
  if (wf && wf.windows.length) {
    const windows = wf.windows;
    document.getElementById("folds").textContent = windows.length;
    document.getElementById("fold").textContent = Math.min(windows.length, wf.folds.length + (RUN_STATES.final.includes(run.state) ? 0 : 1));
    if (WF.shownFolds < 0) {
      drawTimeline(windows);
      document.getElementById("fold-select").replaceChildren(...windows.map((w) => el("option", { value: String(w.fold), text: String(w.fold) })));
    }
    if (wf.folds.length !== WF.shownFolds) {
      WF.shownFolds = wf.folds.length;
      drawFoldTable(wf.folds, windows);
      drawDrift(wf.folds);
      document.getElementById("fold-table").dataset.folds = String(wf.folds.length);
      const fold = Math.max(1, Math.min(windows.length, wf.folds.length + 1));
      if (WF.fold === null || WF.fold < fold) {
        document.getElementById("fold-select").value = String(Math.min(fold, windows.length));
        await drawFoldGenerations(Math.min(fold, windows.length)).catch(showError);
      }
    }
    if (wf.summary && !WF.summaryShown) {
      WF.summaryShown = true;
      drawSummary(wf.summary);
      drawStitched(wf.summary, windows);
    }
  }
  if (!RUN_STATES.final.includes(run.state) || (!wf.summary && run.state === "completed")) {
    setTimeout(() => refresh().catch(showError), 1000);
  } else {
    document.body.dataset.ready = "true";
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
  document.getElementById("fold-select").addEventListener("change", (event) =>
    drawFoldGenerations(Number(event.target.value)).catch(showError));
  await refresh();
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
