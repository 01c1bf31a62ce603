"use strict";
// "Is it real?": the robustness statistics the run computed once, after its last
// generation (docs/OPTIMIZER.md, Robustness), shown as stored: the run page's panel
// (PBO with the histogram of the CSCV logits, IS vs OOS Sharpe of each split's
// selection with the degradation line, the verdict) and, on the individual page, the
// member's Monte Carlo equity fan, its neighbourhood and its figures in words.
// Nothing here computes a statistic: the charts plot the stored values, the
// degradation line is drawn from its stored slope and intercept.

// The verdict's thresholds on the PBO (the share of CSCV splits whose in-sample best
// ranks in the bottom half out of sample). Pure luck gives about 0.5: a search with no
// edge picks the in-sample best by chance, which is then as often below the median out
// of sample as above it.
const PBO_LOW = 0.2;   // below: the in-sample best beats the median out of sample 4 splits in 5 or more
const PBO_HIGH = 0.5;  // at or above: no better than luck
const DSR_PASS = 0.95; // the DSR's usual confidence line (Bailey and López de Prado)

const count = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");  // 12,870
const pct = (fraction, digits = 2) => (fraction === null || fraction === undefined ? "–" : `${fmt(fraction * 100, digits)} %`);

// One sentence a trader reads, from the stored PBO.
function pboVerdict(run) {
  const pbo = run.pbo;
  if (pbo === null || pbo === undefined) {
    return { level: "unknown", text: `No PBO: it needs at least 2 evaluated parameter sets with ${run.blocks} blocks of returns each (${run.candidates} here).` };
  }
  const share = pct(pbo, 2);
  if (pbo >= PBO_HIGH) {
    return { level: "overfit", text: `PBO ${fmt(pbo, 2)}: the in-sample best is more often below the median out of sample than above it (${share} of the splits) - likely overfit; its backtest is no evidence of an edge.` };
  }
  if (pbo >= PBO_LOW) {
    return { level: "caution", text: `PBO ${fmt(pbo, 2)}: the in-sample best falls below the median out of sample in ${share} of the splits - part of its edge is likely luck; trust it with caution.` };
  }
  return { level: "robust", text: `PBO ${fmt(pbo, 2)}: the in-sample best stays above the median out of sample in all but ${share} of the splits - little sign of overfitting.` };
}

const PBO_HINT = () => `How to read it: the returns of every parameter set the run evaluated are cut into S contiguous blocks; each of the C(S, S/2) splits takes half of them as in-sample, picks the best parameter set there (by Sharpe ratio) and ranks it among all out of sample: λ = ln(ω / (1 − ω)) of its relative rank ω, so λ ≤ 0 means it fell into the bottom half. PBO is the share of splits with λ ≤ 0. The verdict's thresholds: below ${PBO_LOW} low (the selection mostly holds out of sample), ${PBO_LOW} to ${PBO_HIGH} caution, ${PBO_HIGH} and above likely overfit (pure luck gives about 0.5).`;

// The run page's panel, from GET /api/runs/<id>/robustness?bins=N (read once): the
// stored figures, and the per-split arrays binned by the server as the charts draw them.
function drawRobustnessPanel(run) {
  const panel = document.getElementById("robustness");
  const verdict = pboVerdict(run);
  const sentence = document.getElementById("verdict");
  sentence.textContent = verdict.text;
  sentence.dataset.level = verdict.level;
  const figures = [
    ["pbo", "PBO", fmt(run.pbo, 3), "the probability of backtest overfitting: share of the splits with λ ≤ 0"],
    ["prob_oos_loss", "P(out-of-sample loss)", pct(run.prob_oos_loss), "share of the splits whose in-sample best has a Sharpe ratio below 0 out of sample: it lost money"],
    ["degradation_slope", "degradation slope", fmt(run.degradation_slope, 3), "least squares of OOS on IS Sharpe of the selections: below 0, a better in-sample Sharpe goes with a worse out-of-sample one"],
    ["trials", "trials counted", count(run.trials), "distinct parameter sets evaluated without failure: the N the DSR deflates by (neighbours and cost stress not counted)"],
    ["splits", "splits", `${count(run.splits)} (S = ${run.blocks} blocks)`, "C(S, S/2) in-sample / out-of-sample halves"],
  ];
  document.getElementById("robustness-figures").replaceChildren(...figures.flatMap(([key, name, text, title]) => [
    el("dt", { title, text: name }),
    el("dd", { "data-key": key, title, text, ...(typeof run[key] === "number" ? { "data-value": String(run[key]) } : {}) })]));
  document.getElementById("robustness-hint").textContent = PBO_HINT();
  panel.hidden = false;
  if (run.logit_histogram) drawLogits(run);
  if (run.selection_density) drawDegradation(run);
  document.body.dataset.robustness = "drawn";
}

// The logits' bins (an edge at 0, so that no bin straddles the PBO's line): λ ≤ 0 in red.
function drawLogits(run) {
  const { edges, below, above } = run.logit_histogram;
  const centres = below.map((_, k) => (edges[k] + edges[k + 1]) / 2);
  const width = edges[1] - edges[0];
  const ranges = below.map((_, k) => `${fmt(edges[k], 3)} to ${fmt(edges[k + 1], 3)}`);
  const side = (name, counts, color) => ({ type: "bar", x: centres, y: counts, width, customdata: ranges, name, opacity: 0.85,
    marker: { color }, hovertemplate: "λ %{customdata}<br>%{y} splits<extra></extra>" });
  Plotly.react("logits", [side("λ ≤ 0: below the OOS median", below, "#cf222e"),
                          side("λ > 0: above the OOS median", above, "#0969da")],
  { ...PLOT_LAYOUT, title: { text: `λ of the in-sample best<br><sup>${count(run.splits)} splits; PBO = the share at λ ≤ 0</sup>` },
    barmode: "overlay", bargap: 0.02, legend: { orientation: "h", y: -0.3 },
    margin: { l: 65, r: 20, t: 60, b: 80 },
    xaxis: { title: { text: "λ = ln(ω / (1 − ω)), ω its out-of-sample relative rank" } },
    yaxis: { title: { text: "splits" }, rangemode: "tozero" },
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: 0, x1: 0, y0: 0, y1: 1, line: { color: "#57606a", width: 2, dash: "dash" } }] },
  PLOT_CONFIG);
}

// Every split's selection, as a density (splits per cell of the server's grid): one
// heatmap, where 12,870 SVG markers took a second to draw and read as one cloud.
function drawDegradation(run) {
  const { is_edges: xs, oos_edges: ys, counts } = run.selection_density;
  const centre = (e) => e.slice(0, -1).map((v, k) => (v + e[k + 1]) / 2);
  const traces = [{ type: "heatmap", x: centre(xs), y: centre(ys), z: counts, zmin: 0,
    name: "splits' selections", colorscale: [[0, "rgba(255,255,255,0)"], [1e-9, "#dbe9fb"], [1, "#0550ae"]],
    colorbar: { title: { text: "splits", side: "right" }, thickness: 12 },
    hovertemplate: "IS ≈ %{x:.4g}<br>OOS ≈ %{y:.4g}<br>%{z} splits<extra></extra>" }];
  if (run.degradation_slope !== null && run.is_sharpe_range) {
    const [low, high] = run.is_sharpe_range;  // the stored line, drawn across the IS range
    traces.push({ type: "scatter", mode: "lines", x: [low, high],
      y: [run.degradation_intercept + run.degradation_slope * low, run.degradation_intercept + run.degradation_slope * high],
      name: `degradation: slope ${fmt(run.degradation_slope, 3)}`, line: { color: "#cf222e", width: 2 } });
  }
  Plotly.react("degradation", traces, { ...PLOT_LAYOUT, title: { text: `In-sample vs out-of-sample Sharpe of each split's best<br><sup>per bar; ${count(run.splits)} splits</sup>` },
    showlegend: true, legend: { orientation: "h", y: -0.3 }, margin: { l: 70, r: 20, t: 60, b: 80 },
    xaxis: { title: { text: "in-sample Sharpe per bar" } },
    yaxis: { title: { text: "out-of-sample Sharpe per bar" }, zeroline: true, zerolinecolor: "#8c959f" } }, PLOT_CONFIG);
}

// ---------------------------------------------------------------- individual page

// A number of bars as time, from the dataset's bar length (seconds).
function barsAsTime(bars, barSeconds) {
  if (bars === null || bars === undefined || !barSeconds) return null;
  const days = (bars * barSeconds) / 86400;
  if (days >= 365) return `about ${fmt(days / 365.25, 3)} years`;
  if (days >= 1) return `about ${fmt(days, 3)} days`;
  return `about ${fmt((bars * barSeconds) / 3600, 3)} hours`;
}

// The member's robustness figures, each in a sentence (`settings`: the run's robustness configuration).
function robustnessSentences(member, stats, run, settings, objectives, barSeconds, costs) {
  const r = member;
  const trials = run ? run.trials : null;
  const out = [];
  if (r.dsr !== null && r.dsr !== undefined) {
    out.push(["dsr", r.dsr >= DSR_PASS
      ? `DSR ${fmt(r.dsr, 3)} (≥ ${DSR_PASS}): the Sharpe ratio of its per-bar returns is unlikely to be luck among the ${fmt(trials)} trials the run made.`
      : `DSR ${fmt(r.dsr, 3)} (< ${DSR_PASS}): a per-bar Sharpe ratio this high could well be luck among the ${fmt(trials)} trials the run made.`]);
  } else out.push(["dsr", "DSR: undefined (too few bars, or a per-bar Sharpe ratio that is not defined)."]);
  out.push(["sharpe_basis", `The DSR, the PSR and the minimum track record judge the Sharpe ratio of its per-bar returns (sharpe_per_bar ${fmt(stats.sharpe_per_bar, 4)}), defined on any number of bars; the Sharpe and Sortino of the statistics are annualized from daily returns and need ${MIN_RETURN_PERIODS} of them.`]);
  out.push(["psr", `PSR ${fmt(r.psr, 3)}: the probability that the true Sharpe ratio of its per-bar returns is above 0, from its ${fmt(stats.bars)} bars, skewness and kurtosis (one trial, no deflation).`]);
  const time = barsAsTime(r.min_track_record, barSeconds);
  out.push(["min_track_record", r.min_track_record === null || r.min_track_record === undefined
    ? "Minimum track record: undefined (its per-bar Sharpe ratio is not above 0)."
    : `Minimum track record: ${fmt(r.min_track_record, 4)} bars${time ? ` (${time})` : ""} of returns like these are needed to be 95 % confident that the per-bar Sharpe ratio is above 0; its training period has ${fmt(stats.bars)} bars.`]);
  const ratios = r.plateau_ratio || [];
  objectives.forEach(({ metric, goal }, k) => {
    const worse = goal === "min" ? "above 1: the neighbours do worse, a lonely valley" : "below 1: the neighbours do worse, a lonely peak";
    out.push([`plateau_ratio_${k}`, `Neighbourhood (${metricLabel(metric)}, ${goal === "min" ? "lower" : "higher"} is better): the median of its ${fmt(r.neighbours)} neighbours is ${fmt(r.neighbour_median ? r.neighbour_median[k] : null, 4)}, the lowest ${fmt(r.neighbour_min ? r.neighbour_min[k] : null, 4)}, against its own ${fmt(stats[metric], 4)}: plateau ratio ${fmt(ratios[k], 3)} (near 1: a plateau; ${worse}).`]);
  });
  if (r.mc_return_pct) {
    out.push(["mc_return_pct", `Monte Carlo (${fmt(settings.monte_carlo)} bootstrap resamplings of its trades): total return ${fmt(r.mc_return_pct[0], 3)} % / ${fmt(r.mc_return_pct[1], 3)} % / ${fmt(r.mc_return_pct[2], 3)} % (5th / median / 95th percentile).`]);
    out.push(["mc_drawdown_pct", `Reshuffled trade order: maximum drawdown ${fmt(r.mc_drawdown_pct[0], 3)} % / ${fmt(r.mc_drawdown_pct[1], 3)} % / ${fmt(r.mc_drawdown_pct[2], 3)} % (5th / median / 95th; between trades).`]);
    out.push(["ruin_probability", `Ruin probability ${pct(r.ruin_probability)}: the share of reshuffled trade orders whose drawdown reaches ${pct(settings.ruin_drawdown, 3)}.`]);
  } else out.push(["mc_return_pct", "Monte Carlo: none (no trades, or monte_carlo is 0)."]);
  out.push(["stress_return_pct", r.stress_return_pct === null || r.stress_return_pct === undefined
    ? "Cost stress: not run (doubled costs are not a valid configuration)."
    : `Cost stress: with commission and slippage doubled, the training return is ${fmt(r.stress_return_pct, 4)} % (against ${fmt(stats.total_return_pct, 4)} %)${costs && !costs.commission && !costs.slippage ? "; this run has no costs, so doubling them changes nothing" : ""}.`]);
  return out;
}

// `objectives`: the run's [{metric, goal}]; `costs`: its execution {commission, slippage}.
function drawMemberRobustness(stats, run, settings, objectives, barSeconds, costs) {
  const section = document.getElementById("member-robustness");
  const r = stats.robustness;
  if (!r) return;
  section.hidden = false;
  document.getElementById("robustness-words").replaceChildren(...robustnessSentences(r, stats, run, settings, objectives, barSeconds, costs)
    .map(([key, text]) => el("li", { "data-key": key, text })));
  if (r.mc_fan) drawFan(r.mc_fan, settings);
  if (r.neighbour_values) drawNeighbours(r, stats, objectives.map((o) => o.metric));
}

function drawFan(fan, settings) {
  const band = "rgba(9,105,218,0.18)";
  Plotly.newPlot("fan", [
    { x: fan.trade, y: fan.p5, mode: "lines", line: { width: 1, color: "rgba(9,105,218,0.5)" }, name: "5th percentile", showlegend: false,
      hovertemplate: "trade %{x}: p5 %{y:.4g}<extra></extra>" },
    { x: fan.trade, y: fan.p95, mode: "lines", line: { width: 1, color: "rgba(9,105,218,0.5)" }, fill: "tonexty", fillcolor: band,
      name: "5th–95th percentile", hovertemplate: "trade %{x}: p95 %{y:.4g}<extra></extra>" },
    { x: fan.trade, y: fan.p50, mode: "lines", line: { width: 2, color: "#0969da" }, name: "median",
      hovertemplate: "trade %{x}: median %{y:.4g}<extra></extra>" },
  ], { ...PLOT_LAYOUT, title: { text: `Monte Carlo equity fan (${fmt(settings.monte_carlo)} bootstrap resamplings of its trades)` },
       legend: { orientation: "h", y: -0.25 }, xaxis: { title: { text: "trades" }, automargin: true },
       yaxis: { title: { text: "equity (start = 1)" }, automargin: true } }, PLOT_CONFIG);
}

// Each objective: the neighbours' values (points) against the member's own (a line).
function drawNeighbours(r, stats, metrics) {
  const traces = [], layout = { ...PLOT_LAYOUT, title: { text: `Neighbourhood: ${fmt(r.neighbours)} neighbours against this member` },
    grid: { rows: 1, columns: metrics.length, pattern: "independent", xgap: 0.25 }, showlegend: true,
    legend: { orientation: "h", y: -0.2 }, shapes: [] };
  metrics.forEach((metric, k) => {
    const axis = k === 0 ? "" : String(k + 1);
    const values = r.neighbour_values.map((v) => v[k]);
    traces.push({ type: "box", x: values.map(() => metricLabel(metric)), y: values, name: "neighbours", boxpoints: "all", legendgroup: "n", jitter: 0.5, pointpos: 0, xaxis: `x${axis}`, yaxis: `y${axis}`,
      marker: { color: "#57606a", size: 6 }, line: { color: "#8c959f" }, fillcolor: "rgba(0,0,0,0)", showlegend: k === 0,
      hovertemplate: `neighbour ${metricLabel(metric)} %{y:.4g}<extra></extra>` });
    traces.push({ type: "scatter", mode: "markers", x: [metricLabel(metric)], y: [stats[metric]], xaxis: `x${axis}`, yaxis: `y${axis}`,
      name: "this member", marker: { symbol: "diamond", size: 13, color: "#cf222e" }, showlegend: k === 0, legendgroup: "own",
      hovertemplate: `own ${metricLabel(metric)} %{y:.4g}<extra></extra>` });
    layout[`yaxis${axis}`] = { title: { text: metricHeading(metric) }, automargin: true };
    layout[`xaxis${axis}`] = { automargin: true };
  });
  Plotly.newPlot("neighbours", traces, layout, PLOT_CONFIG);
}
