"use strict";
// One individual: candlesticks with its trades, equity against buy and hold,
// drawdown, the winning and losing trades' distributions, and its trades.

function histogram(div, distribution, title, color) {
  const { edges, counts } = distribution;
  const x = counts.map((_, k) => (edges[k] + edges[k + 1]) / 2);
  const width = counts.map((_, k) => edges[k + 1] - edges[k]);
  Plotly.newPlot(div, [{ x, y: counts, width, type: "bar", marker: { color } }],
    { ...PLOT_LAYOUT, title: { text: title }, xaxis: { title: { text: "trade P&L (%)" } }, yaxis: { title: { text: "trades" } } }, PLOT_CONFIG);
}

async function main() {
  const [stats, run, config] = await Promise.all([
    getJSON(`/api/runs/${RUN_ID}/individuals/${IND_ID}`), getJSON(`/api/runs/${RUN_ID}`), getJSON(`/api/runs/${RUN_ID}/config`)]);
  // The run's reading of the file's times (data.timestamps), so that candles and trades share their times.
  const timestamps = (config.data && config.data.timestamps) || "open";
  const candles = await getJSON(`/api/datasets/${encodeURIComponent(run.dataset_id)}/candles?timestamps=${timestamps}`);
  const summary = document.getElementById("summary");
  for (const key of ["total_return_pct", "market_return_pct", "max_drawdown_pct", "sharpe", "sortino", "calmar",
                     "cagr_pct", "profit_factor", "expectancy_pct", "win_rate_pct", "total_trades", "exposure_pct"]) {
    summary.append(el("dt", { text: key }), el("dd", { text: fmt(stats[key], 4) }));
  }
  const trades = stats.trades;
  const entries = trades.map((t) => ({ x: t.entry_time, y: t.entry_price, side: t.side }));
  Plotly.newPlot("candles", [
    { type: "candlestick", x: candles.time, open: candles.open, high: candles.high, low: candles.low,
      close: candles.close, name: "price" },
    { x: entries.map((e) => e.x), y: entries.map((e) => e.y), mode: "markers", name: "entries",
      marker: { symbol: "triangle-up", size: 9, color: "#1a7f37" } },
    { x: trades.map((t) => t.exit_time), y: trades.map((t) => t.exit_price), mode: "markers", name: "exits",
      marker: { symbol: "triangle-down", size: 9, color: "#cf222e" } },
  ], { ...PLOT_LAYOUT, height: 420, title: { text: "Price and trades" }, xaxis: { rangeslider: { visible: false } } }, PLOT_CONFIG);

  // Equity from the stored curve; buy and hold from the closes at the same times.
  const close = new Map(candles.time.map((t, k) => [t, candles.close[k]]));
  const first = close.get(stats.equity.time[0]);
  const hold = stats.equity.time.map((t) => (close.has(t) && first ? close.get(t) / first : null));
  Plotly.newPlot("equity", [
    { x: stats.equity.time, y: stats.equity.value, name: "strategy", mode: "lines" },
    { x: stats.equity.time, y: hold, name: "buy and hold", mode: "lines" },
  ], { ...PLOT_LAYOUT, title: { text: "Equity (start = 1)" } }, PLOT_CONFIG);
  let peak = -Infinity;
  const drawdown = stats.equity.value.map((v) => { peak = Math.max(peak, v); return (v / peak - 1) * 100; });
  Plotly.newPlot("drawdown", [{ x: stats.equity.time, y: drawdown, fill: "tozeroy", mode: "lines", name: "drawdown" }],
    { ...PLOT_LAYOUT, title: { text: "Drawdown (%)" } }, PLOT_CONFIG);
  histogram("wins", stats.winning_trades_distribution, "Winning trades", "#1a7f37");
  histogram("losses", stats.losing_trades_distribution, "Losing trades", "#cf222e");

  const table = document.getElementById("trades");
  const columns = ["entry_time", "exit_time", "side", "entry_price", "exit_price", "pnl_pct", "reason", "bars_held"];
  table.tHead.replaceChildren(el("tr", {}, ...columns.map((c) => el("th", { text: c }))));
  table.tBodies[0].replaceChildren(...trades.map((t) => el("tr", {}, ...columns.map((c) => el("td", { text: fmt(t[c], 6) })))));
  makeSortable(table);
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  document.getElementById("summary").replaceChildren(el("p", { class: "error", text: error.message }));
});
