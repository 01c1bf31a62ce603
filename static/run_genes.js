"use strict";
// The run page's gene charts (static/run.js calls them when it redraws): each gene in the
// population generation by generation, the elite's genes as parallel coordinates, and the
// last population against the elite as histograms. They read run.js's state (summaries,
// genes, labels, ranges, population) when called.

function axisName(kind, k) { return k === 0 ? kind : `${kind}${k + 1}`; }
function axisRef(kind, k) { return k === 0 ? kind : `${kind}${k + 1}`; }

// Each gene in the population, generation by generation: median, quartiles, min–max.
function drawEvolution() {
  const names = genes.length ? genes : Object.keys(summaries[summaries.length - 1].population_quantiles || {});
  const x = summaries.map((s) => s.generation);
  const traces = [];
  names.forEach((gene, k) => {
    const q = (i) => summaries.map((s) => { const v = (s.population_quantiles || {})[gene]; return v ? v[i] : null; });
    const axes = { xaxis: axisRef("x", k), yaxis: axisRef("y", k) };
    const band = (lo, hi, color, name) => [
      { x, y: q(lo), mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false, ...axes },
      { x, y: q(hi), mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: color, name,
        showlegend: k === 0, legendgroup: name, hoverinfo: "skip", ...axes }];
    traces.push(...band(0, 4, "rgba(9,105,218,0.12)", "min–max"), ...band(1, 3, "rgba(9,105,218,0.3)", "quartiles"),
      { x, y: q(2), mode: "lines", name: "median", line: { color: "#0969da" }, showlegend: k === 0,
        legendgroup: "median", hovertemplate: `${label(gene)} median %{y:.4g}<extra></extra>`, ...axes });
  });
  const rows = Math.max(1, names.length);
  const layout = { ...PLOT_LAYOUT, height: 90 + 120 * rows, title: { text: "Population's genes per generation" },
    grid: { rows, columns: 1, pattern: "independent", roworder: "top to bottom", ygap: 0.45 },
    legend: { orientation: "h", y: 1.0, yanchor: "bottom", x: 1, xanchor: "right", font: { size: 10 } },
    margin: { l: 70, r: 20, t: 60, b: 40 }, ...foldBoundaries() };
  names.forEach((gene, k) => {
    layout[axisName("yaxis", k)] = { title: { text: label(gene), font: { size: 11 } } };
    const axis = generationAxis(x[0], x[x.length - 1], FIXED);  // whole generations on every row, titled on the last
    layout[axisName("xaxis", k)] = k === names.length - 1 ? axis : { ...axis, title: undefined };
  });
  Plotly.react("evolution", traces, layout, PLOT_CONFIG);
}

// Each gene's configured range ({"min", "max"} at its dotted path in the run's config).
function geneRanges(config, names) {
  const out = {};
  for (const name of names) {
    const node = name.split(".").reduce((o, k) => (o == null ? undefined : o[k]), config);
    if (node && typeof node.min === "number" && typeof node.max === "number") out[name] = [node.min, node.max];
  }
  return out;
}

// The elite's genes, one line per member; each gene's axis spans its configured range.
function drawParallel(elite) {
  if (!elite.length) return;
  const metric = summaries[0].objectives[0].metric;
  const dimensions = genes.map((gene) => ({ label: label(gene), title: label(gene) === gene ? gene : `${label(gene)} (${gene})`,
    values: elite.map((e) => e.params[gene]), range: ranges[gene] }));
  dimensions.push({ label: metricLabel(metric), title: `${metricLabel(metric)} (${metric})`, values: elite.map((e) => e.fitness[0]) });
  drawParallelSvg(dimensions, elite.map((e) => e.fitness[0]), metricLabel(metric));
}

// The axes' labels are written at 45 degrees below the chart, whole: the chart grows by
// their length (PARALLEL_LABEL_PX pixels a character, about an 11 px font's) rather
// than its lines shrinking, and each label's <title> (its hover tip) names the gene in full.
const PARALLEL_PLOT_HEIGHT = 260;  // the lines' area, pixels
const PARALLEL_LABEL_PX = 6.2;
const PARALLEL_LABEL_ANGLE = 45;   // degrees below the horizontal

function parallelTitles(div) {
  const titles = div.dataset.titles ? JSON.parse(div.dataset.titles) : {};
  for (const text of div.querySelectorAll(".xtick text")) {
    const full = titles[text.getAttribute("data-unformatted")];  // the tick's text (Plotly's attribute)
    if (full === undefined) continue;
    let tip = text.querySelector("title");
    if (!tip) { tip = document.createElementNS("http://www.w3.org/2000/svg", "title"); text.appendChild(tip); }
    tip.textContent = full;
  }
}

// Parallel coordinates in SVG (Plotly's parcoords needs WebGL, which headless and some
// remote browsers lack): each member a line over the dimensions, each dimension scaled to
// its range (a gene's configured range, else the values' spread; its min and max written
// at its ends), coloured by the first objective.
function drawParallelSvg(dimensions, color, metric) {
  const scaled = dimensions.map((d) => {
    const [low, high] = d.range || [Math.min(...d.values), Math.max(...d.values)];
    return { ...d, low, high, y: d.values.map((v) => (high > low ? (v - low) / (high - low) : 0.5)) };
  });
  const x = scaled.map((d) => d.label);
  const low = Math.min(...color), high = Math.max(...color);
  // Eight colour bands, one trace each (members separated by gaps): cheap to draw for a large elite.
  const BANDS = 8;
  const band = (c) => (high > low ? Math.min(BANDS - 1, Math.floor(((c - low) / (high - low)) * BANDS)) : BANDS - 1);
  const traces = [...Array(BANDS).keys()].map((b) => {
    const xs = [], ys = [];
    color.forEach((c, m) => { if (band(c) === b) { xs.push(...x, null); ys.push(...scaled.map((d) => d.y[m]), null); } });
    return { x: xs, y: ys, mode: "lines", showlegend: false, hoverinfo: "skip", connectgaps: false, opacity: 0.6,
             line: { width: 1.5, color: `hsl(${220 - (160 * (b + 0.5)) / BANDS}, 70%, 45%)` } };
  }).filter((t) => t.x.length);
  const longest = Math.max(...x.map((t) => t.length));
  const below = Math.ceil(longest * PARALLEL_LABEL_PX * Math.sin((PARALLEL_LABEL_ANGLE * Math.PI) / 180)) + 18;
  // the first label reaches left of its axis by its length's horizontal share
  const left = Math.max(40, Math.ceil(x[0].length * PARALLEL_LABEL_PX * Math.cos((PARALLEL_LABEL_ANGLE * Math.PI) / 180)) + 10);
  const div = document.getElementById("parallel");
  div.dataset.titles = JSON.stringify(Object.fromEntries(scaled.map((d) => [d.label, d.title || d.label])));
  Plotly.react(div, traces, { ...PLOT_LAYOUT, height: 60 + PARALLEL_PLOT_HEIGHT + below,
    margin: { l: left, r: 40, t: 60, b: below },
    title: { text: `Elite genes, each axis its gene's configured range<br>colour: ${metric}`, font: { size: 14 } },
    xaxis: { type: "category", tickangle: PARALLEL_LABEL_ANGLE, tickfont: { size: 11 }, automargin: false },
    yaxis: { range: [-0.08, 1.08], showticklabels: false, zeroline: false },
    annotations: scaled.flatMap((d) => [
      { x: d.label, y: 1.04, yref: "y", text: d.range ? String(d.high) : fmt(d.high, 4), showarrow: false, font: { size: 10 } },
      { x: d.label, y: -0.04, yref: "y", text: d.range ? String(d.low) : fmt(d.low, 4), showarrow: false, font: { size: 10 } }]) },
    PLOT_CONFIG).then(() => {
    // Plotly redraws the ticks on a resize: the titles follow every draw
    if (!div.dataset.titled) { div.dataset.titled = "true"; div.on("plotly_afterplot", () => parallelTitles(div)); }
    parallelTitles(div);
  });
}

// Shared bins over two value lists: edges, and the counts of each list.
function bins(a, b) {
  const all = [...a, ...b].filter((v) => v !== null && v !== undefined);
  if (!all.length) return { centers: [], width: 1, counts: [[], []] };
  let low = Math.min(...all), high = Math.max(...all);
  const integer = all.every(Number.isInteger);
  let count = 20;
  if (integer && high - low < 30) { count = high - low + 1; low -= 0.5; high += 0.5; }
  if (high === low) { low -= 0.5; high += 0.5; count = 1; }
  const width = (high - low) / count;
  const tally = (values) => {
    const counts = new Array(count).fill(0);
    for (const v of values) if (v !== null && v !== undefined) counts[Math.min(count - 1, Math.floor((v - low) / width))] += 1;
    return counts;
  };
  return { centers: [...Array(count).keys()].map((k) => low + (k + 0.5) * width), width, counts: [tally(a), tally(b)] };
}

// The last generation's population against the elite, gene by gene (shared bins, whole counts).
function drawHistograms(elite) {
  const names = genes.length ? genes : Object.keys(population);
  const columns = names.length > 1 ? 2 : 1, rows = Math.max(1, Math.ceil(names.length / columns));
  const traces = [];
  const layout = { ...PLOT_LAYOUT, barmode: "overlay", height: 110 + 170 * rows, title: { text: "Last population vs elite" },
    grid: { rows, columns, pattern: "independent", ygap: 0.5, xgap: 0.15 },
    legend: { orientation: "h", y: 1.0, yanchor: "bottom", x: 1, xanchor: "right" }, margin: { l: 55, r: 20, t: 60, b: 40 } };
  names.forEach((gene, k) => {
    const { centers, width, counts } = bins(population[gene] || [], elite.map((e) => e.params[gene]));
    const axes = { xaxis: axisRef("x", k), yaxis: axisRef("y", k) };
    traces.push({ type: "bar", x: centers, y: counts[0], width, name: "population", opacity: 0.55,
                  marker: { color: "#0969da" }, showlegend: k === 0, legendgroup: "population", ...axes },
                { type: "bar", x: centers, y: counts[1], width, name: "elite", opacity: 0.8,
                  marker: { color: "#cf222e" }, showlegend: k === 0, legendgroup: "elite", ...axes });
    layout[axisName("xaxis", k)] = { title: { text: label(gene), font: { size: 11 } } };
    layout[axisName("yaxis", k)] = { ...countAxis(Math.max(0, ...counts[0], ...counts[1]), k % columns === 0 ? "members" : ""), ...FIXED };
  });
  Plotly.react("histograms", traces, layout, PLOT_CONFIG);
}
