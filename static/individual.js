"use strict";
// One individual: its training and test statistics side by side, candlesticks with the
// trades of both periods, equity against buy and hold, drawdown, the winning and losing
// trades' distributions, and its trades. A run with a split marks the test period
// (a line at its first bar and a shaded region) on the price, equity and drawdown charts.
// Each period's equity starts at 1: the test period is backtested on its own. An elite
// member of a finished run also shows its robustness (static/robustness.js).

const STAT_ROWS = ["total_return_pct", "market_return_pct", "max_drawdown_pct", "sharpe", "sortino", "calmar",
                   "cagr_pct", "profit_factor", "expectancy_pct", "win_rate_pct", "total_trades", "avg_win_pct",
                   "avg_loss_pct", "best_trade_pct", "worst_trade_pct", "exposure_pct", "avg_bars_held", "bars"];
const TRAIN_COLOR = "#0969da", TEST_COLOR = "#bf8700";

// The line at the split and the shaded test period, for a chart's layout.
function splitShapes(split, end) {
  if (!split) return {};
  return {
    shapes: [
      { type: "rect", xref: "x", yref: "paper", x0: split, x1: end, y0: 0, y1: 1, fillcolor: "rgba(191,135,0,0.08)",
        line: { width: 0 }, layer: "below" },
      { type: "line", xref: "x", yref: "paper", x0: split, x1: split, y0: 0, y1: 1, line: { color: TEST_COLOR, width: 2, dash: "dash" } },
    ],
    annotations: [{ x: split, xref: "x", y: 1, yref: "paper", yanchor: "bottom", xanchor: "left", showarrow: false,
                    text: " test period →", font: { color: TEST_COLOR, size: 11 } }],
  };
}

function summaryTable(stats, test) {
  const table = document.getElementById("summary");
  const head = ["statistic", "training", ...(test ? ["test"] : [])];
  table.tHead.replaceChildren(el("tr", {}, ...head.map((h) => el("th", { text: h }))));
  table.tBodies[0].replaceChildren(...STAT_ROWS.map((key) => el("tr", { "data-stat": key },
    el("th", { text: metricHeading(key), title: key, scope: "row" }),
    statCell(key, stats, "training period", 4, { "data-period": "train" }),
    ...(test ? [statCell(key, test, "test period", 4, { "data-period": "test", class: "test" })] : []))));
  showUndefinedNote(table, "summary-undefined");  // why a "–" (static/undefined_words.js)
}

function paramsList(stats, genes, labels) {
  const list = document.getElementById("params");
  const names = [...genes.filter((g) => g in stats.params), ...Object.keys(stats.params).filter((g) => !genes.includes(g))];
  const items = names.map((gene) => { const value = stats.params[gene];
    const range = stats.tie_ranges && stats.tie_ranges[gene];
    const tied = range && range[0] !== range[1] ? ` (ties: ${fmt(range[0], 4)}–${fmt(range[1], 4)})` : "";
    return el("li", { title: gene, text: `${labels[gene] || gene} = ${fmt(value, 6)}${tied}` });
  });
  if (stats.ties > 1) items.push(el("li", { text: `${stats.ties} parameter sets share these objective values` }));
  list.replaceChildren(...items);
}

function histogram(div, periods, title) {
  const traces = periods.filter((p) => p.distribution).map(({ distribution, name, color }) => {
    const { edges, counts } = distribution;
    return { x: counts.map((_, k) => (edges[k] + edges[k + 1]) / 2), y: counts, width: counts.map((_, k) => edges[k + 1] - edges[k]),
             type: "bar", name, opacity: 0.7, marker: { color } };
  });
  Plotly.newPlot(div, traces, { ...PLOT_LAYOUT, title: { text: title }, barmode: "overlay",
    legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 1, xanchor: "right" },
    xaxis: { title: { text: "trade P&L (%)" }, automargin: true }, yaxis: countAxis(Math.max(0, ...traces.flatMap((t) => t.y)), "trades") }, PLOT_CONFIG);
}

// Equity relative to the period's start, and buy and hold over the same bars.
function periodCurves(stats, close, name, color) {
  const { time, value } = stats.equity;
  const first = close.get(time[0]);
  const hold = time.map((t) => (close.has(t) && first ? close.get(t) / first : null));
  let peak = -Infinity;
  const drawdown = value.map((v) => { peak = Math.max(peak, v); return (v / peak - 1) * 100; });
  return {
    equity: [{ x: time, y: value, name: `strategy (${name})`, mode: "lines", line: { color } },
             { x: time, y: hold, name: `buy and hold (${name})`, mode: "lines", line: { color, dash: "dot", width: 1 } }],
    drawdown: { x: time, y: drawdown, fill: "tozeroy", mode: "lines", name, line: { color } },
  };
}

async function main() {
  const [stats, run, config, labelled, datasets] = await Promise.all([
    getJSON(`/api/runs/${RUN_ID}/individuals/${IND_ID}`), getJSON(`/api/runs/${RUN_ID}?fields=summary`),
    getJSON(`/api/runs/${RUN_ID}/config`), getJSON(`/api/runs/${RUN_ID}/labels`), getJSON("/api/datasets")]);
  // The run's reading of the file's times (data.timestamps), so that candles and trades share their times.
  const timestamps = (config.data && config.data.timestamps) || "open";
  const candles = await getJSON(`/api/datasets/${encodeURIComponent(run.dataset_id)}/candles?timestamps=${timestamps}`);
  const test = stats.test || null;
  if (stats.total_trades && !stats.trades.length) {  // the run keeps series for its elite only
    document.getElementById("problem").replaceChildren(el("p", { class: "hint", id: "no-series",
      text: `This individual's ${stats.total_trades} trades and its equity were not kept: a run keeps them for ` +
            "its elite only. Its statistics below are complete; to see its trades, download it as a re-runnable " +
            "config or open it in the run form and run it." }));
  }
  summaryTable(stats, test);
  paramsList(stats, labelled.genes, labelled.labels);
  const end = candles.time[candles.time.length - 1];
  const split = test ? (test.equity.time[0] || candles.time[stats.bars] || null) : null;
  document.body.dataset.split = split || "";

  const periods = [{ stats, name: "training", color: TRAIN_COLOR }, ...(test ? [{ stats: test, name: "test", color: TEST_COLOR }] : [])];
  const trades = periods.flatMap((p) => p.stats.trades.map((t) => ({ ...t, period: p.name })));
  const marks = (kind, symbol, color) => periods.map((p) => ({
    x: p.stats.trades.map((t) => t[`${kind}_time`]), y: p.stats.trades.map((t) => t[`${kind}_price`]), mode: "markers",
    name: `${kind === "entry" ? "entries" : "exits"} (${p.name})`, marker: { symbol, size: 9, color, opacity: p.name === "test" ? 0.65 : 1,
    line: p.name === "test" ? { color: TEST_COLOR, width: 1.5 } : { width: 0 } } }));
  Plotly.newPlot("candles", [
    { type: "candlestick", x: candles.time, open: candles.open, high: candles.high, low: candles.low,
      close: candles.close, name: "price" },
    ...marks("entry", "triangle-up", "#1a7f37"), ...marks("exit", "triangle-down", "#cf222e"),
  ], { ...PLOT_LAYOUT, height: 440, title: { text: "Price and trades" }, xaxis: { rangeslider: { visible: false } },
       yaxis: { automargin: true }, legend: { orientation: "h", y: -0.12 }, ...splitShapes(split, end) }, PLOT_CONFIG);

  const close = new Map(candles.time.map((t, k) => [t, candles.close[k]]));
  const curves = periods.map((p) => periodCurves(p.stats, close, p.name, p.color));
  const last = test ? test.equity.time[test.equity.time.length - 1] : end;
  Plotly.newPlot("equity", curves.flatMap((c) => c.equity),
    { ...PLOT_LAYOUT, title: { text: test ? "Equity (each period starts at 1)" : "Equity (start = 1)" },
      legend: { orientation: "h", y: -0.2 }, height: 360, yaxis: { automargin: true }, ...splitShapes(split, last) }, PLOT_CONFIG);
  Plotly.newPlot("drawdown", curves.map((c) => c.drawdown),
    { ...PLOT_LAYOUT, title: { text: "Drawdown (%) at bar closes<br><sup>the table's max drawdown also counts intrabar lows: it can be deeper</sup>" },
      margin: { ...PLOT_LAYOUT.margin, t: 70 }, legend: { orientation: "h", y: -0.2 }, height: 360,
      yaxis: { automargin: true }, ...splitShapes(split, last) }, PLOT_CONFIG);
  histogram("wins", periods.map((p) => ({ distribution: p.stats.winning_trades_distribution, ...p })), "Winning trades");
  histogram("losses", periods.map((p) => ({ distribution: p.stats.losing_trades_distribution, ...p })), "Losing trades");

  const table = document.getElementById("trades");
  const columns = ["period", "entry_time", "exit_time", "side", "entry_price", "exit_price", "pnl_pct", "reason", "bars_held"];
  table.tHead.replaceChildren(el("tr", {}, ...columns.map((c) => el("th", { text: c }))));
  table.tBodies[0].replaceChildren(...trades.map((t) => el("tr", { "data-period": t.period, class: t.period === "test" ? "test" : "" },
    ...columns.map((c) => el("td", { text: fmt(t[c], 6) })))));
  makeSortable(table);
  // Its robustness (elite members of a finished run), as stored: the fan, the neighbourhood, the figures in words.
  const dataset = datasets.find((d) => d.id === run.dataset_id);
  drawMemberRobustness(stats, run.robustness, config.robustness || {}, config.objectives || [],
    dataset ? dataset.bar_seconds : null, config.execution);
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  document.getElementById("problem").replaceChildren(el("p", { class: "error", text: error.message }));
});
