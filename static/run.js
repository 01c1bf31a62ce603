"use strict";
// The live run page: status, objective evolution, Pareto front, elite table.
// Generations come from REST (?after=N) on (re)connection and from Socket.IO
// events afterwards; each is applied once, in order.

const summaries = [];
let lastGeneration = 0;
let refreshingElite = null;

function setStatus(run) {
  document.getElementById("title").textContent = `Run ${run.id} · ${run.name}`;
  document.getElementById("state").textContent = run.state;
  document.getElementById("generation").textContent = run.generation;
  document.getElementById("total").textContent = run.generations_total;
  const progress = document.getElementById("progress");
  progress.max = run.generations_total;
  progress.value = run.generation;
  document.getElementById("rate").textContent = fmt(run.evals_per_second, 4);
  document.getElementById("eta").textContent = run.eta_seconds === null ? "–" : `${fmt(run.eta_seconds, 3)} s`;
  document.getElementById("stop").disabled = !RUN_STATES.stoppable.includes(run.state);
  document.getElementById("resume").disabled = !RUN_STATES.resumable.includes(run.state);
  const error = document.getElementById("error");
  error.hidden = !run.error;
  error.textContent = run.error || "";
  document.body.dataset.state = run.state;
}

function showProgress(summary) {
  document.getElementById("generation").textContent = summary.generation;
  document.getElementById("total").textContent = summary.generations_total;
  const progress = document.getElementById("progress");
  progress.max = summary.generations_total;
  progress.value = summary.generation;
  if (summary.evals_per_second !== null) document.getElementById("rate").textContent = fmt(summary.evals_per_second, 4);
  document.getElementById("eta").textContent = summary.eta_seconds === null ? "–" : `${fmt(summary.eta_seconds, 3)} s`;
}

function apply(summary) {
  if (summary.generation <= lastGeneration) return;  // already shown
  if (summary.generation !== lastGeneration + 1) { catchUp(); return; }  // a gap: read it over REST
  summaries.push(summary);
  lastGeneration = summary.generation;
  showProgress(summary);
  document.body.dataset.generations = String(lastGeneration);
  drawObjectives();
  drawEvolution();
  refreshElite();
}

async function catchUp() {
  const missed = await getJSON(`/api/runs/${RUN_ID}/generations?after=${lastGeneration}`);
  for (const summary of missed) apply(summary);
}

function drawObjectives() {
  const traces = [];
  const x = summaries.map((s) => s.generation);
  summaries[0].objectives.forEach((objective, k) => {
    for (const stat of ["min", "mean", "max"]) {
      traces.push({ x, y: summaries.map((s) => s.objectives[k][stat]), name: `${objective.metric} ${stat}`,
                    mode: "lines+markers", yaxis: k === 0 ? "y" : "y2" });
    }
  });
  const metrics = summaries[0].objectives.map((o) => o.metric);
  const layout = { ...PLOT_LAYOUT, title: { text: "Objectives per generation" },
    xaxis: { title: { text: "generation" } }, yaxis: { title: { text: metrics[0] } },
    legend: { orientation: "h", y: -0.25 }, height: 380 };
  // A second axis only with a second objective: Plotly refuses an axis set to undefined.
  if (metrics.length > 1) layout.yaxis2 = { title: { text: metrics[1] }, overlaying: "y", side: "right" };
  Plotly.react("objectives", traces, layout, PLOT_CONFIG);
}

function drawPareto(elite) {
  const metrics = summaries.length ? summaries[0].objectives.map((o) => o.metric) : [];
  if (metrics.length < 2) {
    Plotly.react("pareto", [{ x: elite.map((e) => e.id), y: elite.map((e) => e.fitness[0]), type: "bar" }],
      { ...PLOT_LAYOUT, title: { text: `Elite by ${metrics[0] || "fitness"}` }, xaxis: { title: { text: "individual" }, type: "category" } }, PLOT_CONFIG);
    return;
  }
  Plotly.react("pareto", [{ x: elite.map((e) => e.fitness[0]), y: elite.map((e) => e.fitness[1]), mode: "markers",
    text: elite.map((e) => `#${e.id}`), type: "scatter" }],
    { ...PLOT_LAYOUT, title: { text: "Pareto front" }, xaxis: { title: { text: metrics[0] } }, yaxis: { title: { text: metrics[1] } } }, PLOT_CONFIG);
}

const COLUMNS = ["total_return_pct", "max_drawdown_pct", "sharpe", "sortino", "profit_factor", "win_rate_pct",
                 "total_trades", "exposure_pct"];

function drawElite(elite) {
  const table = document.getElementById("elite");
  const genes = elite.length ? Object.keys(elite[0].params) : [];
  const hasTest = elite.some((e) => e.test);
  const head = ["#", ...genes.map((g) => g.split(".").slice(-2).join(".")), ...COLUMNS,
                ...(hasTest ? COLUMNS.slice(0, 3).map((c) => `test ${c}`) : [])];
  table.tHead.replaceChildren(el("tr", {}, ...head.map((h) => el("th", { text: h }))));
  table.tBodies[0].replaceChildren(...elite.map((e) => el("tr", { "data-id": String(e.id) },
    el("td", {}, el("a", { href: `/runs/${RUN_ID}/individuals/${e.id}`, text: String(e.id) })),
    ...genes.map((g) => el("td", { text: fmt(e.params[g], 4) })),
    ...COLUMNS.map((c) => el("td", { text: fmt(e[c]) })),
    ...(hasTest ? COLUMNS.slice(0, 3).map((c) => el("td", { text: e.test ? fmt(e.test[c]) : "–" })) : []))));
}

const short = (gene) => gene.split(".").slice(-2).join(".");

// Each gene's values in the population, generation by generation.
function drawEvolution() {
  const genes = Object.keys(summaries[summaries.length - 1].population_params || {});
  const traces = genes.map((gene, k) => ({
    x: summaries.flatMap((s) => (s.population_params[gene] || []).map(() => s.generation)),
    y: summaries.flatMap((s) => s.population_params[gene] || []),
    mode: "markers", name: short(gene), marker: { size: 4, opacity: 0.5 },
    xaxis: k === 0 ? "x" : `x${k + 1}`, yaxis: k === 0 ? "y" : `y${k + 1}`,
  }));
  const layout = { ...PLOT_LAYOUT, height: 120 + 110 * genes.length, title: { text: "Parameters per generation" },
                   grid: { rows: genes.length, columns: 1, pattern: "independent", ygap: 0.35 }, showlegend: false };
  genes.forEach((gene, k) => {
    layout[k === 0 ? "yaxis" : `yaxis${k + 1}`] = { title: { text: short(gene), font: { size: 10 } } };
  });
  Plotly.react("evolution", traces, layout, PLOT_CONFIG);
}

// The elite's genes, one line per member.
function drawParallel(elite) {
  if (!elite.length) return;
  const genes = Object.keys(elite[0].params);
  const dimensions = genes.map((gene) => ({ label: short(gene), values: elite.map((e) => e.params[gene]) }));
  dimensions.push({ label: "fitness 1", values: elite.map((e) => e.fitness[0]) });
  Plotly.react("parallel", [{ type: "parcoords", dimensions,
    line: { color: elite.map((e) => e.fitness[0]), colorscale: "Viridis", showscale: true } }],
    { ...PLOT_LAYOUT, margin: { l: 60, r: 60, t: 90, b: 30 }, title: { text: "Elite genes (parallel coordinates)" } },
    PLOT_CONFIG);
}

// Population (last generation) against elite, gene by gene.
function drawHistograms(elite) {
  const last = summaries[summaries.length - 1];
  const genes = Object.keys(last.population_params || {});
  const traces = [];
  genes.forEach((gene, k) => {
    const axis = { xaxis: k === 0 ? "x" : `x${k + 1}`, yaxis: k === 0 ? "y" : `y${k + 1}` };
    traces.push({ type: "histogram", x: last.population_params[gene], name: "population", opacity: 0.6,
                  marker: { color: "#0969da" }, showlegend: k === 0, ...axis });
    traces.push({ type: "histogram", x: elite.map((e) => e.params[gene]), name: "elite", opacity: 0.8,
                  marker: { color: "#cf222e" }, showlegend: k === 0, ...axis });
  });
  const layout = { ...PLOT_LAYOUT, barmode: "overlay", height: 160 + 90 * Math.ceil(genes.length / 2),
                   title: { text: "Population vs elite" },
                   grid: { rows: Math.ceil(genes.length / 2), columns: 2, pattern: "independent" } };
  genes.forEach((gene, k) => { layout[k === 0 ? "xaxis" : `xaxis${k + 1}`] = { title: { text: short(gene) } }; });
  Plotly.react("histograms", traces, layout, PLOT_CONFIG);
}

function refreshElite() {
  if (refreshingElite) return;
  refreshingElite = getJSON(`/api/runs/${RUN_ID}/elite`).then((elite) => {
    drawElite(elite);
    drawPareto(elite);
    drawParallel(elite);
    if (summaries.length) drawHistograms(elite);
  }).finally(() => { refreshingElite = null; });
}

for (const action of ["stop", "resume"]) {
  document.getElementById(action).addEventListener("click", () =>
    postJSON(`/api/runs/${RUN_ID}/${action}`).then(() => getJSON(`/api/runs/${RUN_ID}`)).then(setStatus, alertError));
}
function alertError(error) { const e = document.getElementById("error"); e.hidden = false; e.textContent = error.message; }

makeSortable(document.getElementById("elite"));
const socket = io({ transports: ["websocket"] });
socket.on("connect", async () => {
  const answer = await socket.emitWithAck("subscribe", { run_id: RUN_ID });
  if (answer.error) { alertError(new Error(answer.error)); return; }
  setStatus(answer.run);
  await catchUp();
});
socket.on("generation", apply);
socket.on("run_status", setStatus);
