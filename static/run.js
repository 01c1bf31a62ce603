"use strict";
// The live run page: status, one chart per objective, Pareto front, the elite's genes (drawn by run_genes.js),
// the population's genes per generation, and the elite table.
//
// It stays fast on large runs: it reads summaries only (no trades or equity: those load
// on the individual page), generations light (`?fields=summary`: quartiles of each gene
// instead of the whole population), and applies each generation as a change: the
// generation event carries the elite's ids, so only the summaries of new members are
// fetched (`/individuals?ids=`) and members that left are dropped, and the entries whose
// ties grew (`tie_changes`, with their new counts and ranges) are updated in place; the
// whole elite is read once, at load. Charts are redrawn at most once a second and at most 5 % of the
// time (a redraw that took d, to the end of its frame, waits 20 d for the next), not
// while the tab is hidden, and while the run is watched only those on screen: the
// browser must not take the run's CPU. The elite table is drawn by run_elite.js. The run's robustness (after its last
// generation) comes without its per-split arrays in the summaries; the "Is it real?"
// panel reads them once from their own route (static/robustness.js draws it).

const summaries = [];        // light generation summaries, in order
let lastGeneration = 0;
// The last generation applied whole (its elite's members and the robustness panel read): what
// `data-drawn` reports, so that a draw scheduled by an earlier generation, run while this one's
// reads are still out, does not claim it.
let settled = 0;
let population = {};         // the last generation's population: gene -> values
let eliteIds = [];           // best first
const members = new Map();   // id -> summary statistics
let membersVersion = 0;      // bumped whenever members' summaries are stored
let genes = [];              // gene names, in the run's order
let labels = {};             // gene name -> label (optimizer/labels.py's rule)
let ranges = {};             // gene name -> [min, max]: its range in the run's configuration
const label = (gene) => labels[gene] || gene;

const DRAW_INTERVAL_MS = 1000;
let drawTimer = null;
let lastDraw = 0;
let ended = false;           // the run ended while the page watched it: no more waiting to redraw

function setStatus(run) {
  document.getElementById("title").textContent = `Run ${run.id} · ${run.name}`;
  document.getElementById("state").textContent = run.state;
  showProgress(run);
  document.getElementById("stop").disabled = !RUN_STATES.stoppable.includes(run.state);
  document.getElementById("resume").disabled = !RUN_STATES.resumable.includes(run.state);
  const error = document.getElementById("error");
  error.hidden = !run.error;
  error.textContent = run.error || "";
  const was = document.body.dataset.state;
  document.body.dataset.state = run.state;
  showOverallRate(run);
  if (was && !RUN_STATES.final.includes(was) && RUN_STATES.final.includes(run.state)) {
    ended = true;  // the run ended while watched: its charts as they end, at once
    drawNow();
  }
}

// Rate and ETA as the run process reports them (wall time, moving average): never recomputed here.
// Once the run no longer runs, the rate is the whole run's (`showOverallRate`), not the last generations'.
function showProgress(report) {
  document.getElementById("generation").textContent = report.generation;
  document.getElementById("total").textContent = report.generations_total;
  const progress = document.getElementById("progress");
  progress.max = report.generations_total;
  progress.value = report.generation;
  if (report.evals_per_second !== null && report.evals_per_second !== undefined && !overallRate) {
    document.getElementById("rate").textContent = fmt(report.evals_per_second, 4);
  }
  document.getElementById("eta").textContent = isOver(report) ? "–" : fmtDuration(report.eta_seconds);
  showStarting(report.state || document.body.dataset.state, report.generation);
}

// Before the first generation the page has nothing to draw: say what the run is doing.
function showStarting(state, generation) {
  const note = document.getElementById("starting");
  const words = generation > 0 ? "" : state === "queued"
    ? "Queued: it starts when a running run ends (the server runs a set number of runs at once)."
    : state === "running"
      ? "Starting: the workers start and evaluate generation 1 (the first run of a new strategy shape compiles its kernel first, some seconds); the charts appear with it."
      : "";
  note.hidden = !words;
  note.textContent = words;
}

// The whole run's evaluations per second (its evaluations over its generations' wall time, the
// end-of-run analysis included: the status's overall_evals_per_second) once the run is not running:
// the moving average of its last generations (evals_per_second) says how fast it went lately, and a
// last generation that did the robustness analysis reads far slower than the run was.
let overallRate = false;  // the rate shown is the whole run's
const RATE_WORDS = { recent: "Evaluations/s", overall: "Evaluations/s (whole run)" };
function showOverallRate(run) {
  overallRate = !RUN_STATES.stoppable.includes(run.state) && typeof run.overall_evals_per_second === "number";
  const words = document.getElementById("rate-words");
  words.textContent = overallRate ? RATE_WORDS.overall : RATE_WORDS.recent;
  words.parentElement.title = overallRate
    ? "the whole run's: its evaluations over the wall time of its generations (the end-of-run robustness analysis included)"
    : "as the run process reports it: evaluations per wall second, a moving average of the recent generations";
  if (overallRate) document.getElementById("rate").textContent = fmt(run.overall_evals_per_second, 4);
}

// One rule with the runs list and the walk-forward page: no ETA once the run is
// final (its status) or its last generation is in (a generation event).
function isOver(report) {
  const state = report.state || document.body.dataset.state;
  return RUN_STATES.final.includes(state) || (report.generations_total > 0 && report.generation >= report.generations_total);
}

// A walk-forward's fold boundaries on a per-generation chart (its generations are
// numbered over all folds): a dashed line before each fold's first generation,
// labelled "fold k"; nothing for a plain run. `xref`: the chart's x axis.
function foldBoundaries(xref = "x") {
  const starts = summaries.filter((s, i) => s.fold && (i === 0 || summaries[i - 1].fold !== s.fold));
  const shapes = starts.filter((s, i) => i > 0).map((s) => ({ type: "line", xref, yref: "paper", x0: s.generation - 0.5,
    x1: s.generation - 0.5, y0: 0, y1: 1, line: { color: "#bf8700", width: 1, dash: "dash" } }));
  const annotations = starts.map((s, i) => ({ xref, yref: "paper", x: s.generation - (i ? 0.5 : 0), y: 1, xanchor: "left",
    yanchor: "top", showarrow: false, text: `fold ${s.fold}`, font: { size: 10, color: "#9a6700" } }));
  return starts.length ? { shapes, annotations } : {};
}

// The elite table's words for a walk-forward (walk_forward_link.js sets the scope):
// its trials are those of one fold's search. Draws the elite again if it is drawn.
function setEliteScope(scope) {
  document.getElementById("elite").dataset.scope = scope;
  delete drawnKeys.elite;
  if (summaries.length) draw();
}

// Quartiles as visualization_apps/storage.py's `quantiles` (linear interpolation).
function quantiles(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (!sorted.length) return null;
  return [0, 0.25, 0.5, 0.75, 1].map((q) => {
    const position = q * (sorted.length - 1), low = Math.floor(position), high = Math.min(low + 1, sorted.length - 1);
    return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
  });
}

// A live event as the light REST summaries: its stored quartiles (computed here only
// for a generation stored without them) instead of the population.
function light(summary) {
  const out = { ...summary };
  if (!out.population_quantiles) {
    out.population_quantiles = {};
    for (const [gene, values] of Object.entries(summary.population_params || {})) out.population_quantiles[gene] = quantiles(values);
  }
  delete out.population_params; delete out.population; delete out.pareto_front;
  return lightRobustness(out);
}

// A summary's run robustness without its per-split arrays (as the light REST summaries).
function lightRobustness(summary) {
  if (!summary.robustness) return summary;
  const { logits, is_sharpe, oos_sharpe, ...figures } = summary.robustness;
  return { ...summary, robustness: figures };
}

let robustness = null;  // the run's figures (light), once its last generation has them
let robustnessRead = null;
// Read and drawn before the page is marked ready, so that the layout no longer moves after it.
function showRobustness(summary) {
  if (!summary || !summary.robustness) return Promise.resolve();
  robustness = summary.robustness;
  robustnessRead = robustnessRead || showRobustnessArrays(getJSON(ROBUSTNESS_READ));
  return robustnessRead;
}

// The "Is it real?" panel drawn from a read of its arrays (`read`, a promise; read again
// if it answered null: it was served before the run's end that the status reports).
function showRobustnessArrays(read) {
  return read.then((full) => full || getJSON(ROBUSTNESS_READ))
    .then((full) => { if (full) drawRobustnessPanel(full); })
    .catch((error) => { robustnessRead = null; alertError(error); });
}

// A generation event (or a REST summary) applied once, in order.
async function apply(summary) {
  if (summary.generation <= lastGeneration) return;  // already shown
  if (summary.generation !== lastGeneration + 1) {  // a gap: read it over REST, then this one if still new
    await catchUp();
    if (summary.generation === lastGeneration + 1) await apply(summary);
    return;
  }
  summaries.push(light(summary));
  lastGeneration = summary.generation;
  if (summary.population_params) population = summary.population_params;
  showProgress(summary);
  document.body.dataset.generations = String(lastGeneration);
  await updateElite(summary.elite);
  if (applyTies(summary.tie_changes)) membersVersion += 1;
  await readRobustMembers(summary);
  await showRobustness(summary);
  settled = Math.max(settled, summary.generation);
  scheduleDraw();
}

let catching = null;
// Read what was stored after the last generation shown. The first time, every read
// starts at once (from the run's status: its last generation and whether it has its
// robustness): the summaries, that generation's population, the elite and the
// robustness panel's arrays, so the page waits for the slowest read, not their sum.
function catchUp() {
  catching = catching || (async () => {
    const early = lastGeneration === 0 ? takeFirstReads() : null;  // run_reads.js's, started before Plotly.js
    const first = lastGeneration === 0;
    const status = early ? await early.status : first ? await getJSON(`/api/runs/${RUN_ID}?fields=summary`) : null;
    const summariesRead = early ? early.summaries : getJSON(`/api/runs/${RUN_ID}/generations?after=${lastGeneration}&fields=summary`);
    const populationOf = (g) => getJSON(`/api/runs/${RUN_ID}/generations?after=${g - 1}&fields=population`);
    const populationAt = early ? early.populationGeneration : status ? status.generation : 0;
    const populationRead = early ? early.population : status && status.generation > 0 ? populationOf(status.generation) : null;
    const eliteRead = early ? early.elite : status && status.generation > 0 ? getJSON(`/api/runs/${RUN_ID}/elite?fields=summary`) : null;
    if (early && early.robustness && status.robustness) robustnessRead = robustnessRead || showRobustnessArrays(early.robustness);
    if (status) setStatus(status);
    if (status && status.robustness) showRobustness(status);
    const missed = await summariesRead;
    if (!missed.length) return;
    for (const summary of missed) summaries.push(summary);
    lastGeneration = missed[missed.length - 1].generation;
    showProgress(missed[missed.length - 1]);
    // The last population, whole, for the population-vs-elite histograms: one generation.
    const [last] = await (populationRead && populationAt === lastGeneration ? populationRead : populationOf(lastGeneration));
    if (last) population = last.population_params || {};
    const elite = await eliteRead;
    if (elite) for (const member of elite) members.set(member.id, member);
    membersVersion += 1;
    document.body.dataset.generations = String(lastGeneration);
    await updateElite(missed[missed.length - 1].elite);
    // Every generation's tie changes: the elite was read at once with the summaries, maybe
    // before the last of them was stored (applyTies keeps what is newer either way).
    let tied = false;
    for (const summary of missed) tied = applyTies(summary.tie_changes) || tied;
    if (tied) membersVersion += 1;
    await readRobustMembers(missed[missed.length - 1]);
    await showRobustness(missed[missed.length - 1]);
    settled = Math.max(settled, missed[missed.length - 1].generation);
    await ready;
    scheduleDraw();
  })().finally(() => { catching = null; });
  return catching;
}

// The elite as a change: drop members that left, fetch the summaries of new ones only.
async function updateElite(ids) {
  if (!ids) return;
  await readMembers(ids.filter((id) => !members.has(id)));
  const keep = new Set(ids);
  for (const id of [...members.keys()]) if (!keep.has(id)) members.delete(id);
  eliteIds = ids.filter((id) => members.has(id));
}

// These members' summaries read (again) and stored.
async function readMembers(ids) {
  if (!ids.length) return;
  const found = ids.length > 200  // a large change: the whole elite in one request
    ? await getJSON(`/api/runs/${RUN_ID}/elite?fields=summary`)
    : (await getJSON(`/api/runs/${RUN_ID}/individuals?ids=${ids.join(",")}`)).individuals;
  for (const member of found) members.set(member.id, member);
  membersVersion += 1;
}

// The elite members' robustness figures are stored with the run's last generation (the
// summary that carries the run's `robustness`); members read before it (at load, or as
// they joined the elite) have none: those are read again, once each, so that a watched
// page ends with the robustness columns a fresh load shows.
const robustRead = new Set();  // ids read again after the run's robustness arrived
async function readRobustMembers(summary) {
  if (!summary || !summary.robustness) return;
  const stale = eliteIds.filter((id) => !members.get(id).robustness && !robustRead.has(id));
  for (const id of stale) robustRead.add(id);
  await readMembers(stale);
}

// A generation's `tie_changes` (the elite entries whose ties or tie ranges changed, with
// their new values) applied to the members held; whether any changed. Ties only grow (a
// count, ranges that only widen: docs/OPTIMIZER.md, Events), so the larger count and the
// wider range are kept: a change older than a member's read (the first reads and a
// catch-up's run at once) changes nothing, and the page ends as a fresh load reads it.
function applyTies(changes) {
  let changed = false;
  for (const change of changes || []) {
    const member = members.get(change.id);
    if (!member) continue;  // not in the elite the page holds (or left it)
    const ties = Math.max(member.ties || 0, change.ties);
    const ranges = { ...(member.tie_ranges || {}) };
    let widened = false;
    for (const [gene, [low, high]] of Object.entries(change.tie_ranges || {})) {
      const held = ranges[gene];
      const range = held ? [Math.min(held[0], low), Math.max(held[1], high)] : [low, high];
      if (!held || range[0] !== held[0] || range[1] !== held[1]) { ranges[gene] = range; widened = true; }
    }
    if (ties === member.ties && !widened) continue;
    members.set(change.id, { ...member, ties, tie_ranges: ranges });
    changed = true;
  }
  return changed;
}

// The page may spend at most 1/DRAW_SHARE of the time drawing: after a redraw that
// took d ms, the next waits max(DRAW_INTERVAL_MS, d * DRAW_SHARE), so a slow machine or
// a large elite redraws less often instead of taking the run's CPU; but never more than
// DRAW_MAX_WAIT_MS (charts lagging the header by more than that read as stuck), and
// once the run has ended at once.
const DRAW_SHARE = 20;
const DRAW_MAX_WAIT_MS = 5000;
let drawCost = 0;
function scheduleDraw() {
  if (drawTimer !== null) return;
  const gap = Math.min(DRAW_MAX_WAIT_MS, Math.max(DRAW_INTERVAL_MS, drawCost * DRAW_SHARE));
  const wait = lastDraw === 0 || ended ? 0  // the first draw, and those after the run ended, at once
    : Math.max(0, lastDraw + gap - performance.now());
  drawTimer = setTimeout(() => {
    drawTimer = null;
    if (document.hidden) { document.addEventListener("visibilitychange", scheduleDraw, { once: true }); return; }
    draw();
  }, wait);
}

// Draw now what arrived (a pending redraw is replaced): the run has ended, or a chart
// that is behind scrolled into view.
function drawNow() {
  if (drawTimer !== null) { clearTimeout(drawTimer); drawTimer = null; }
  ready.then(() => { if (summaries.length) draw(); });
}

// A draw's cost runs to the end of the frame that paints it (the style, layout and paint
// after the script are the browser's CPU too); on a loaded machine it reads longer, and
// the page redraws less often: what the run's workers need.
function draw() {
  const start = lastDraw = performance.now();
  if (!summaries.length) return;
  try { drawAll(); } finally {
    drawCost = performance.now() - start;
    requestAnimationFrame(() => setTimeout(() => { drawCost = Math.max(drawCost, performance.now() - start); }));
  }
}

// A chart is drawn again only when what it shows changed: the elite's table and charts
// when the elite, a member's statistics or the run's robustness did (late in a run the
// elite rarely changes), the per-generation charts when a generation arrived. While a
// run is watched, a chart off screen waits until it scrolls into view (static/in_view.js);
// the first draw (`data-ready`) and those once the run is over draw every chart.
const drawnKeys = {};
function changed(name, key) {
  if (drawnKeys[name] === key) return false;
  drawnKeys[name] = key;
  return true;
}

const CHARTS = ["objectives", "evolution", "elite", "pareto", "parallel", "histograms"];

function drawAll() {
  const elite = eliteIds.map((id) => members.get(id));
  const eliteKey = `${eliteIds.join(",")}|${membersVersion}|${robustness ? robustness.trials : ""}`;
  const every = document.body.dataset.ready !== "true" || ended || RUN_STATES.final.includes(document.body.dataset.state);
  const due = (name, key) => (every || isInView(name)) && changed(name, key);
  if (due("objectives", lastGeneration)) drawObjectives();
  if (due("evolution", lastGeneration)) drawEvolution();
  if (due("elite", eliteKey)) drawElite(elite);
  if (due("pareto", eliteKey)) drawPareto(elite);
  if (due("parallel", eliteKey)) drawParallel(elite);
  if (due("histograms", `${lastGeneration}|${eliteKey}`)) drawHistograms(elite);
  document.body.dataset.drawn = String(settled);  // every chart in view shows this generation, read whole
  document.body.dataset.ready = "true";
}

// A chart that scrolls into view is drawn at once if it is behind.
watchInView(CHARTS, drawNow);

const SMALL = { margin: { l: 60, r: 15, t: 36, b: 40 }, height: 230 };
// The run page's charts have fixed margins: Plotly's automargin draws a chart again
// whenever its labels move a margin, which doubled the page's first draw.
const FIXED = { automargin: false };
const GOAL = { max: "higher is better", min: "lower is better" };

// One small chart per objective: best and mean lines over the population's min–max band.
function drawObjectives() {
  const container = document.getElementById("objectives");
  const objectives = summaries[0].objectives;
  while (container.children.length > objectives.length) container.lastChild.remove();
  while (container.children.length < objectives.length) container.append(el("div", { class: "small-chart" }));
  const x = summaries.map((s) => s.generation);
  objectives.forEach((objective, k) => {
    const column = (stat) => summaries.map((s) => s.objectives[k][stat]);
    Plotly.react(container.children[k], [
      { x, y: column("min"), mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false },
      { x, y: column("max"), mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(9,105,218,0.15)",
        name: "population min–max", hovertemplate: "max %{y:.4g}<extra></extra>" },
      { x, y: column("mean"), mode: "lines", name: "mean", line: { color: "#57606a", dash: "dot" } },
      { x, y: column("best"), mode: "lines+markers", name: "best", marker: { size: 4 }, line: { color: "#0969da" } },
    ], { ...SMALL, title: { text: `${metricHeading(objective.metric)}, ${GOAL[objective.goal] || objective.goal}`, font: { size: 13 } },
         xaxis: generationAxis(x[0], x[x.length - 1], FIXED),
         legend: { orientation: "h", y: -0.35, font: { size: 10 } }, height: 260, ...foldBoundaries() }, PLOT_CONFIG);
  });
}

function individualUrl(id) { return `/runs/${RUN_ID}/individuals/${id}`; }

// A member's objectives and parameters, for hovers.
function describe(member, metrics) {
  const lines = [`<b>#${member.id}</b>`];
  metrics.forEach((metric, k) => lines.push(`${metricHeading(metric)}: ${fmt(member.fitness[k], 4)}`));
  if (member.test) lines.push(`test ${metricHeading(metrics[0])}: ${fmt(member.test[metrics[0]], 4)}`);
  for (const gene of genes) lines.push(`${label(gene)}: ${fmt(member.params[gene], 4)}`);
  if (member.ties > 1) lines.push(`ties: ${member.ties}`);
  return lines.join("<br>");
}

function drawPareto(elite) {
  const metrics = summaries[0].objectives.map((o) => o.metric);
  const div = document.getElementById("pareto");
  const common = { customdata: elite.map((e) => e.id), text: elite.map((e) => describe(e, metrics)),
                   hovertemplate: "%{text}<extra></extra>" };
  if (metrics.length < 2) {
    // By rank, the member in the hover (textposition "none": a bar draws its `text`, and fitting each
    // member's description into its bar, like fifty rotated "#id" labels, was most of the chart's time).
    Plotly.react(div, [{ ...common, x: elite.map((e, k) => k + 1), y: elite.map((e) => e.fitness[0]), type: "bar",
                         textposition: "none" }],
      { ...PLOT_LAYOUT, title: { text: `Elite by ${metricLabel(metrics[0])} (click to open)` }, margin: { l: 65, r: 20, t: 40, b: 55 },
        xaxis: { title: { text: "rank in the elite (hover: the member)" }, ...FIXED },
        yaxis: { title: { text: metricHeading(metrics[0]) }, ...FIXED } }, PLOT_CONFIG);
  } else {
    Plotly.react(div, [{ ...common, x: elite.map((e) => e.fitness[0]), y: elite.map((e) => e.fitness[1]),
      mode: "markers", type: "scatter", marker: { size: 9, color: "#0969da" } }],
      { ...PLOT_LAYOUT, title: { text: "Pareto front (click a point to open it)" }, hovermode: "closest",
        margin: { l: 65, r: 20, t: 40, b: 55 }, xaxis: { title: { text: metricHeading(metrics[0]) }, ...FIXED },
        yaxis: { title: { text: metricHeading(metrics[1]) }, ...FIXED } },
      PLOT_CONFIG);
  }
  if (!div.dataset.clickable) {
    div.on("plotly_click", (event) => { const point = event.points[0]; if (point) location.href = individualUrl(point.customdata); });
    div.dataset.clickable = "true";
  }
}

for (const action of ["stop", "resume"]) {
  document.getElementById(action).addEventListener("click", () =>
    postJSON(`/api/runs/${RUN_ID}/${action}`).then(() => getJSON(`/api/runs/${RUN_ID}?fields=summary`)).then(setStatus, alertError));
}
function alertError(error) { const e = document.getElementById("error"); e.hidden = false; e.textContent = error.message; }

makeSortable(document.getElementById("elite"));
const ready = Promise.all([labelsRead, configRead])  // started by run_reads.js
  .then(([answer, config]) => { genes = answer.genes; labels = answer.labels; ranges = geneRanges(config, genes); });
const firstRead = catchUp().catch(alertError);  // at once, not after the socket's handshake
const socket = io({ transports: ["websocket"] });
socket.on("connect", async () => {
  // batch: the generations published together come as one "generations" event
  const answer = await socket.emitWithAck("subscribe", { run_id: RUN_ID, batch: true });
  if (answer.error) { alertError(new Error(answer.error)); return; }
  setStatus(answer.run);
  await firstRead;
  await ready;
  await catchUp();
  if (!summaries.length) document.body.dataset.ready = "true";  // nothing to draw yet
});
let queue = Promise.resolve();  // events applied one after the other (each may fetch)
socket.on("generation", (summary) => { queue = queue.then(() => ready).then(() => apply(summary)).catch(alertError); });
socket.on("generations", (batch) => {
  queue = queue.then(() => ready).then(async () => { for (const summary of batch) await apply(summary); }).catch(alertError);
});
socket.on("run_status", setStatus);
