"use strict";
// Names and units of the statistics, for every page that shows them by name (the
// runs list's best member, the compare page, the run page's elite table and charts,
// the individual page). The raw key (the API's, the CSV's) goes in a title.

const METRIC_LABELS = {
  total_return_pct: ["net profit", " %"], market_return_pct: ["buy and hold", " %"],
  max_drawdown_pct: ["max drawdown", " %"], sharpe: ["Sharpe", ""], sortino: ["Sortino", ""],
  calmar: ["Calmar", ""], cagr_pct: ["CAGR", " %"], win_rate_pct: ["win rate", " %"],
  profit_factor: ["profit factor", ""], expectancy_pct: ["expectancy", " %"], total_trades: ["trades", ""],
  winning_trades: ["winning trades", ""], losing_trades: ["losing trades", ""], avg_win_pct: ["average win", " %"],
  avg_loss_pct: ["average loss", " %"], best_trade_pct: ["best trade", " %"], worst_trade_pct: ["worst trade", " %"],
  exposure_pct: ["exposure", " %"], avg_bars_held: ["bars held (mean)", ""],
  sharpe_per_bar: ["Sharpe per bar", ""], gross_profit_pct: ["gross profit", " %"],
  gross_loss_pct: ["gross loss", " %"], span_days: ["span", " days"], periods_per_year: ["periods a year", ""],
  return_periods: ["return periods", ""],
};

function metricLabel(metric) {
  return (METRIC_LABELS[metric] || [metric.replaceAll("_", " ")])[0];
}

// A column's or an axis's heading: "net profit (%)", "Sharpe", "span (days)".
function metricHeading(metric) {
  const unit = (METRIC_LABELS[metric] || [null, ""])[1].trim();
  return unit ? `${metricLabel(metric)} (${unit})` : metricLabel(metric);
}

// "net profit 12.3 %", "Sharpe 1.41", "trades 57".
function metricText(metric, value) {
  const unit = (METRIC_LABELS[metric] || [null, ""])[1];
  return `${metricLabel(metric)} ${fmt(value)}${value === null || value === undefined ? "" : unit}`;
}
