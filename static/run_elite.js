"use strict";
// The run page's elite table (static/run.js calls drawElite when it redraws): each member's
// ties (their gene ranges in the cell's title), genes, training and test statistics, and
// after the run's last generation its robustness columns. A statistic that reads "–" says
// why (static/undefined_words.js: the cell's title, and a note above the table). It reads
// run.js's state (summaries, genes, labels, robustness) when called.

const COLUMNS = ["total_return_pct", "max_drawdown_pct", "sharpe", "sortino", "profit_factor", "win_rate_pct",
                 "total_trades", "exposure_pct"];
const TEST_COLUMNS = ["total_return_pct", "max_drawdown_pct", "sharpe", "total_trades"];

// The elite's robustness columns (stored per member after the run's last generation).
function robustnessColumns(elite) {
  if (!elite.some((e) => e.robustness)) return [];
  const trials = robustness ? robustness.trials : null;
  const metrics = summaries[0].objectives.map((o) => o.metric);
  const r = (e) => e.robustness || {};
  return [
    { key: "dsr", head: "DSR", value: (e) => r(e).dsr, pass: (v) => v >= DSR_PASS,
      title: `Deflated Sharpe ratio of the per-bar returns. DSR ≥ ${DSR_PASS} (in bold green): the Sharpe ratio is unlikely to be luck among the ${count(trials)} trials of the run` },
    ...metrics.map((metric, k) => ({ key: `plateau_ratio_${k}`, head: `plateau ${metricLabel(metric)}`, value: (e) => (r(e).plateau_ratio || [])[k],
      title: `Plateau ratio of ${metricLabel(metric)} (${metric}): the median of the member's neighbours / its own value (near 1: a plateau, not a lonely peak)` })),
    { key: "mc_drawdown_p95", head: "MC p95 drawdown %", value: (e) => (r(e).mc_drawdown_pct || [])[2],
      title: "Monte Carlo: the 95th percentile of the maximum drawdown over reshuffled trade orders (%)" },
  ];
}

const TIES_TITLE = "ties: how many parameter sets the run evaluated have exactly this member's objective values " +
  "(itself included; e.g. a stop-loss that never triggers gives the same trades). The elite keeps one entry per " +
  "distinct result, its first evaluated; hover a count for the genes' ranges among them.";

// A member's ties in words: how many parameter sets share its objective values, and
// the range of each gene that differs among them (its `tie_ranges`).
function tiesTitle(member) {
  if (!(member.ties > 1)) return "No other parameter set evaluated has these objective values";
  const ranges = member.tie_ranges || {};
  const spread = genes.filter((g) => ranges[g] && ranges[g][0] !== ranges[g][1])
    .map((g) => `${label(g)} ${fmt(ranges[g][0], 4)}–${fmt(ranges[g][1], 4)}`);
  return `${member.ties} parameter sets evaluated share these objective values` +
    (spread.length ? `; among them ${spread.join(", ")}` : "");
}

function drawElite(elite) {
  const table = document.getElementById("elite");
  const hasTest = elite.some((e) => e.test);
  const hasTies = elite.some((e) => e.ties !== undefined);
  const robust = robustnessColumns(elite);
  const th = (text, attrs = {}) => el("th", { title: text, ...attrs, text });
  table.tHead.replaceChildren(el("tr", {}, th("#"), ...(hasTies ? [th("ties", { title: TIES_TITLE, "data-column": "ties" })] : []), ...genes.map((g) => th(label(g))),
    ...COLUMNS.map((c) => th(metricHeading(c), { title: c, "data-column": c })),
    ...(hasTest ? TEST_COLUMNS.map((c) => th(`test ${metricHeading(c)}`, { title: `test ${c}`, "data-column": `test_${c}` })) : []),
    ...robust.map((c) => th(c.head, { title: c.title, "data-column": c.key, class: "robust" }))));
  table.tBodies[0].replaceChildren(...elite.map((e) => el("tr", { "data-id": String(e.id) },
    el("td", {}, el("a", { href: individualUrl(e.id), text: String(e.id) })),
    ...(hasTies ? [numberCell(e.ties, 3, { "data-column": "ties", title: tiesTitle(e) })] : []),
    ...genes.map((g) => numberCell(e.params[g], 4)),
    ...COLUMNS.map((c) => statCell(c, e, "training period", 3, { "data-column": c })),
    ...(hasTest ? TEST_COLUMNS.map((c) => statCell(c, e.test, "test period", 3, { class: "test", "data-column": `test_${c}` })) : []),
    ...robust.map((c) => { const v = c.value(e);
      return numberCell(v, 3, { "data-column": c.key, class: c.pass && typeof v === "number" && c.pass(v) ? "robust pass" : "robust" }); }))));
  showUndefinedNote(table, "elite-undefined");
  const hint = document.getElementById("elite-hint");
  hint.hidden = !robust.length;
  hint.textContent = robust.length ? `DSR ≥ ${DSR_PASS} (bold green): the per-bar Sharpe ratio is unlikely to be luck among the ${count(robustness ? robustness.trials : null)} trials ${table.dataset.scope || "the run made"} (the deflated Sharpe ratio discounts the best of many tries). Plateau: the neighbours' median / the member's own value. MC p95 drawdown: the drawdown that 5 % of reshuffled trade orders exceed. Click a column to sort.` : "";
  resort(table);
}
