"use strict";
// 2 to 4 runs side by side, from one read of /api/compare?runs=...: their Pareto
// fronts overlaid, each objective per generation, the best members' training and
// test statistics in one table, and the configuration keys that differ.

const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#8250df"];
const TABLE_METRICS = ["total_return_pct", "max_drawdown_pct", "sharpe", "sortino", "calmar", "cagr_pct",
  "profit_factor", "win_rate_pct", "total_trades", "expectancy_pct", "exposure_pct", "market_return_pct"];

function label(entry) { return `#${entry.run.id} ${entry.run.name}`; }
// A chart's name of a run: a walk-forward's elite and generations are its last fold's search.
function chartLabel(entry) { return entry.walk_forward ? `${label(entry)} (walk-forward: last fold's elite)` : label(entry); }

// The axes of the overlaid fronts: the first run's two objectives (with one
// objective: it against the max drawdown, or the net profit for a drawdown).
function frontAxes(runs) {
  const metrics = runs[0].objectives.map((o) => o.metric);
  if (metrics.length >= 2) return metrics.slice(0, 2);
  return [metrics[0], metrics[0] === "max_drawdown_pct" ? "total_return_pct" : "max_drawdown_pct"];
}

function drawPareto(runs) {
  const [x, y] = frontAxes(runs);
  const traces = runs.map((entry, k) => ({
    type: "scatter", mode: "markers", name: plotlyText(chartLabel(entry)), marker: { color: COLORS[k], size: 8 },
    x: entry.elite.map((e) => e[x]), y: entry.elite.map((e) => e[y]),
    customdata: entry.elite.map((e) => [entry.run.id, e.id]),
    text: entry.elite.map((e) => `#${e.id}`),
    hovertemplate: `run ${entry.run.id} %{text}<br>${metricLabel(x)} %{x}<br>${metricLabel(y)} %{y}<extra></extra>`,
  }));
  const layout = { ...PLOT_LAYOUT, height: 420, xaxis: { title: { text: metricHeading(x) }, automargin: true },
    yaxis: { title: { text: metricHeading(y) }, automargin: true }, legend: { orientation: "h", y: -0.2 } };
  Plotly.newPlot("pareto", traces, layout, PLOT_CONFIG);
  document.getElementById("pareto").on("plotly_click", (event) => {
    const [runId, indId] = event.points[0].customdata;
    window.location = `/runs/${runId}/individuals/${indId}`;
  });
}

// The generation axis: whole numbers only, a tick every 1, 2 or 5 times a power of ten
// (at most about seven ticks), from the first generation to the last (markers at the
// ends not clipped).
function runsGenerationAxis(runs) {
  const generations = runs.flatMap((entry) => entry.history.map((g) => g.generation));
  return generations.length ? generationAxis(Math.min(...generations), Math.max(...generations)) : generationAxis();
}

// One small chart per objective (of any run), a line per run that has it.
function drawEvolution(runs) {
  const metrics = [...new Set(runs.flatMap((entry) => entry.objectives.map((o) => o.metric)))];
  const box = document.getElementById("evolution");
  box.replaceChildren(...metrics.map((m) => el("div", { class: "chart", id: `evolution-${m}` })));
  for (const metric of metrics) {
    const traces = runs.map((entry, k) => {
      const index = entry.objectives.findIndex((o) => o.metric === metric);
      if (index < 0) return null;
      return { type: "scatter", mode: "lines+markers", name: plotlyText(entry.walk_forward ? `${label(entry)} (walk-forward: every fold's search)` : label(entry)), line: { color: COLORS[k] }, cliponaxis: false,
        x: entry.history.map((g) => g.generation), y: entry.history.map((g) => g.objectives[index].best) };
    }).filter(Boolean);
    const goal = runs.flatMap((e) => e.objectives).find((o) => o.metric === metric).goal;
    Plotly.newPlot(`evolution-${metric}`, traces, { ...PLOT_LAYOUT, title: { text: `${metricHeading(metric)}, ${goal}` },
      xaxis: runsGenerationAxis(runs), yaxis: { automargin: true },
      legend: { orientation: "h", y: -0.3 } }, PLOT_CONFIG);
  }
}

// A walk-forward's columns: its verdict, linked to its page, over its stitched
// out-of-sample statistics (one cell per row: it has no single training period).
function walkForwardHead(entry, head, sub) {
  const wf = entry.walk_forward;
  head.append(el("th", { colspan: "2", class: "walk-forward" }, el("a", { href: `/runs/${entry.run.id}/walk-forward`,
    text: `${label(entry)} · ${wf.label}`, "data-passed": wf.passed === null ? "" : String(wf.passed) })));
  sub.append(el("th", { colspan: "2", class: "stitched",
    text: wf.finished ? "stitched out of sample (every fold's test window)" : "out of sample: once every fold has run" },
    ...(wf.flat_note ? [el("br"), el("span", { class: "hint flat-folds", text: wf.flat_note })] : [])));
}

function walkForwardCell(entry, metric) {
  const stitched = entry.walk_forward.stitched;
  return el("td", { colspan: "2", class: "test stitched", text: stitched ? fmt(stitched[metric]) : "–",
    title: stitched ? "stitched out-of-sample statistic of the walk-forward" : "the walk-forward has not finished" });
}

function drawBest(runs) {
  const table = document.getElementById("best");
  const head = el("tr", {}, el("th", { text: "statistic" }));
  const sub = el("tr", {}, el("th", { text: "" }));
  for (const entry of runs) {
    if (entry.walk_forward) { walkForwardHead(entry, head, sub); continue; }
    const best = entry.elite[0];
    const title = best ? el("a", { href: `/runs/${entry.run.id}/individuals/${best.id}`, text: `${label(entry)} · #${best.id}` }) : label(entry);
    head.append(el("th", { colspan: "2" }, title));
    sub.append(el("th", { text: "training" }), el("th", { text: "test" }));
  }
  table.tHead.replaceChildren(head, sub);
  table.tBodies[0].replaceChildren(...TABLE_METRICS.map((metric) => {
    const unit = (METRIC_LABELS[metric] || [null, ""])[1].trim();
    const tr = el("tr", { "data-metric": metric }, el("th", { text: unit ? `${metricLabel(metric)} (${unit})` : metricLabel(metric) }));
    for (const entry of runs) {
      if (entry.walk_forward) { tr.append(walkForwardCell(entry, metric)); continue; }
      const best = entry.elite[0];
      tr.append(el("td", { class: "train", text: best ? fmt(best[metric]) : "–" }),
        el("td", { class: "test", text: best && best.test ? fmt(best.test[metric]) : "–" }));
    }
    return tr;
  }));
}

function show(value) {
  if (value === null || value === undefined) return "(none)";  // null or absent: the same
  if (typeof value === "object" && "min" in value && "max" in value) return `${value.min} … ${value.max} (range)`;
  return typeof value === "string" ? value : JSON.stringify(value);
}

function drawDiff(runs, diff) {
  const table = document.getElementById("diff");
  const keys = Object.keys(diff);
  document.getElementById("same").hidden = keys.length > 0;
  table.tHead.replaceChildren(el("tr", {}, el("th", { text: "key" }), ...runs.map((e) => el("th", { text: label(e) }))));
  table.tBodies[0].replaceChildren(...keys.map((key) => el("tr", { "data-key": key },
    el("th", { text: key }), ...diff[key].map((v) => el("td", { text: show(v) })))));
}

async function main() {
  const ids = new URLSearchParams(window.location.search).get("runs") || "";
  let body;
  try {
    body = await getJSON(`/api/compare?runs=${encodeURIComponent(ids)}`);
  } catch (error) {
    const out = document.getElementById("error");
    out.textContent = [error.message, ...error.details].join(": ");
    out.hidden = false;
    document.body.dataset.ready = "true";
    return;
  }
  document.getElementById("names").textContent = body.runs.map(label).join(" · ");
  drawPareto(body.runs);
  drawEvolution(body.runs);
  drawBest(body.runs);
  drawDiff(body.runs, body.config_diff);
  document.body.dataset.ready = "true";
}

main();
