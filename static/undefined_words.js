"use strict";
// Why a statistic reads "–" (undefined), in plain words, from an individual's stored
// statistics and the minimums of optimizer/stats.py (MIN_RETURN_PERIODS, MIN_CAGR_DAYS),
// which the page's data- attributes carry: the run page's elite table and the
// individual page's summary say it in each such cell's title and once in a note
// beside the table. Loaded after metrics.js (metricLabel).

const MIN_RETURN_PERIODS = Number(PAGE.minReturnPeriods || 30);  // daily returns Sharpe and Sortino need
const MIN_CAGR_DAYS = Number(PAGE.minCagrDays || 365);  // days CAGR and Calmar need
const NEEDS_A_TRADE = ["win_rate_pct", "expectancy_pct", "best_trade_pct", "worst_trade_pct", "avg_bars_held",
                       "gross_profit_pct", "gross_loss_pct", "profit_factor", "avg_win_pct", "avg_loss_pct"];

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// Why `key` of `stats` (an individual's statistics on `period`: "training period", "test
// period") is undefined; "" when it is defined. `stats` null: the period was not backtested.
function whyUndefined(key, stats, period) {
  if (!stats) return `No ${period} statistics: it was not backtested on the ${period}`;
  const value = stats[key];
  if (value !== null && value !== undefined) return "";
  if (stats.failed) return `The backtest failed${stats.error ? `: ${stats.error}` : ""}`;
  const trades = stats.total_trades || 0;
  if (key === "sharpe" || key === "sortino") {
    if (typeof stats.return_periods === "number" && stats.return_periods < MIN_RETURN_PERIODS) {
      return `Sharpe and Sortino need at least ${MIN_RETURN_PERIODS} daily returns; the ${period} has ${stats.return_periods}`;
    }
    return key === "sharpe" ? `Sharpe is undefined when the daily returns do not vary${trades ? "" : " (no trade)"}`
      : "Sortino is undefined without a losing day (no downside to divide by)";
  }
  if (key === "cagr_pct" || key === "calmar") {
    if (typeof stats.span_days === "number" && stats.span_days < MIN_CAGR_DAYS) {
      return `CAGR and Calmar need a period of at least ${MIN_CAGR_DAYS} days; the ${period} spans ${fmt(stats.span_days, 3)} days`;
    }
    return key === "calmar" ? "Calmar is undefined without a drawdown" : `CAGR is undefined on the ${period}`;
  }
  if (NEEDS_A_TRADE.includes(key) && !trades) return `No trade in the ${period}`;
  if (key === "profit_factor") return "The profit factor is undefined without a losing trade (nothing to divide by)";
  if (key === "avg_loss_pct") return "The average loss is undefined without a losing trade";
  if (key === "avg_win_pct") return "The average win is undefined without a winning trade";
  return `${sentence(metricLabel(key))} is undefined on the ${period}`;
}

// A statistic's cell (numberCell's), with why it is undefined as its title when it is.
function statCell(key, stats, period, digits = 3, attrs = {}) {
  const why = whyUndefined(key, stats, period);
  return numberCell(stats ? stats[key] : null, digits, why ? { ...attrs, title: why, "data-undefined": "true" } : attrs);
}

// The note beside a table: each reason of its "–" cells once, in their order ("" for none).
function undefinedNote(table) {
  const reasons = [...new Set([...table.querySelectorAll("td[data-undefined]")].map((cell) => cell.title))];
  return reasons.length ? `“–”: undefined. ${reasons.join(". ")}.` : "";
}

// Show `undefinedNote(table)` in the paragraph `noteId` (hidden when there is nothing to say).
function showUndefinedNote(table, noteId) {
  const note = document.getElementById(noteId);
  note.textContent = undefinedNote(table);
  note.hidden = !note.textContent;
}
