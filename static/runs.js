"use strict";
// The runs list, kept up to date by Socket.IO run_status events: select runs to
// compare, rename or delete a run; the datasets, with delete.

const tbody = document.querySelector("#runs tbody");
const selected = new Set();     // run ids ticked for comparison
const bestById = new Map();     // run id -> best_member (from GET /api/runs)
const walkForwardById = new Map();  // run id -> its walk-forward verdict (GET /api/walk-forward)
const latest = new Map();       // run id -> last status seen
const datasetNames = new Map(); // dataset id -> its name (GET /api/datasets): an upload's file name
const MAX_COMPARED = 4;

// "net profit 12.3 %, max drawdown 4.1 %, Sharpe 1.41 · test: net profit -2.0 %"
// (after "#123: ", the individual's id, a link to it).
function bestText(best) {
  const metrics = best.objectives.map((o) => o.metric);
  if (!metrics.includes("sharpe")) metrics.push("sharpe");
  const train = metrics.map((m) => metricText(m, best.train[m])).join(", ");
  const test = best.test ? ` · test: ${metricText(metrics[0], best.test[metrics[0]])}` : "";
  return `${train}${test}`;
}

// A walk-forward run's cell: its verdict, labelled, linked to its page, and its
// stitched out-of-sample figures (never the last fold's best member as the run's).
function walkForwardCell(run, verdict) {
  const link = el("a", { href: `/runs/${run.id}/walk-forward`, class: "walk-forward", text: verdict.label,
    "data-passed": verdict.passed === null ? "" : String(verdict.passed) });
  const title = "the walk-forward's stitched out-of-sample statistics: every fold's test window, compounded fold after fold";
  if (!verdict.finished) {
    return el("td", { class: "best walk-forward", title }, link,
      `: out-of-sample figures once all ${verdict.folds} folds have run`);
  }
  const s = verdict.stitched;
  const figures = [metricText("total_return_pct", s.total_return_pct), metricText("max_drawdown_pct", s.max_drawdown_pct),
    metricText("sharpe", s.sharpe)].join(", ");
  return el("td", { class: "best walk-forward", title }, link, `: out of sample ${figures}`,
    ...(verdict.flat_note ? [el("span", { class: "hint flat-folds", text: ` (${verdict.flat_note})` })] : []));
}

function row(run) {
  const progress = `${run.generation} / ${run.generations_total}`;
  const tick = el("input", { type: "checkbox", class: "select", "aria-label": `compare run ${run.id}` });
  tick.checked = selected.has(run.id);
  tick.addEventListener("change", () => { if (tick.checked) selected.add(run.id); else selected.delete(run.id); updateCompare(); });
  const best = bestById.get(run.id);
  const verdict = walkForwardById.get(run.id);
  const bestCell = verdict ? walkForwardCell(run, verdict) : best
    ? el("td", { class: "best" }, el("a", { href: `/runs/${run.id}/individuals/${best.id}`, text: `#${best.id}` }), `: ${bestText(best)}`)
    : el("td", { class: "best", text: "–" });
  const name = el("td", { class: "name" }, el("a", { href: `/runs/${run.id}`, text: run.name }));
  const rename = el("button", { type: "button", class: "rename", text: "Rename" });
  const remove = el("button", { type: "button", class: "delete", text: "Delete" });
  const tr = el("tr", { id: `run-${run.id}`, "data-state": run.state, "data-id": String(run.id) },
    el("td", {}, tick),
    el("td", {}, el("a", { href: `/runs/${run.id}`, text: String(run.id) })),
    name,
    datasetCell(run.dataset_id),
    el("td", { class: `state ${run.state}`, text: run.state }),
    el("td", { text: progress }),
    bestCell,
    el("td", { text: run.started_at || "–" }),
    el("td", { text: run.finished_at || "–" }),
    el("td", { class: "actions" }, rename, " ", remove));
  rename.addEventListener("click", () => startRename(tr, run));
  remove.addEventListener("click", () => deleteRun(run));
  return tr;
}

// A run's dataset by its name (what the datasets list shows), its id in the title;
// the id until the datasets are read.
function datasetCell(id) {
  const cell = el("td", { class: "dataset", "data-dataset": id });
  nameDataset(cell);
  return cell;
}

function nameDataset(cell) {
  const id = cell.dataset.dataset;
  const name = datasetNames.get(id);
  cell.textContent = name === undefined ? id : name;
  cell.title = name === undefined || name === id ? `dataset ${id}` : `dataset ${id}: ${name}`;
}

// "run 3", "runs 3, 5 and 8".
function runsWords(ids) {
  if (ids.length === 1) return `run ${ids[0]}`;
  return `runs ${ids.slice(0, -1).join(", ")} and ${ids[ids.length - 1]}`;
}

function startRename(tr, run) {
  tr.dataset.editing = "true";
  const input = el("input", { class: "new-name", value: run.name, maxlength: "200", "aria-label": "new name" });
  const save = el("button", { type: "button", class: "save", text: "Save" });
  const cancel = el("button", { type: "button", class: "cancel", text: "Cancel" });
  const error = el("span", { class: "field-error" });
  tr.querySelector("td.name").replaceChildren(input, " ", save, " ", cancel, error);
  const done = () => { delete tr.dataset.editing; show(latest.get(run.id) || run); };
  const submit = async () => {
    const response = await fetch(`/api/runs/${run.id}`, {
      method: "PATCH", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name: input.value }),
    });
    const body = await response.json();
    if (!response.ok) { error.textContent = [body.error, ...(body.details || [])].join(": "); return; }
    latest.set(run.id, body);
    done();
  };
  save.addEventListener("click", submit);
  cancel.addEventListener("click", done);
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") submit(); if (event.key === "Escape") done(); });
  input.focus();
  input.select();
}

async function deleteRun(run) {
  if (!window.confirm(`Delete run ${run.id} (“${run.name}”), its results and its checkpoint?`)) return;
  const response = await fetch(`/api/runs/${run.id}`, { method: "DELETE" });
  const out = document.getElementById("runs-error");
  if (!response.ok) {
    const body = await response.json();
    out.textContent = [body.error, ...(body.details || [])].join(": ");
    return;
  }
  out.textContent = "";
  selected.delete(run.id);
  latest.delete(run.id);
  const existing = document.getElementById(`run-${run.id}`);
  if (existing) existing.remove();
  updateCompare();
  document.getElementById("empty").hidden = tbody.rows.length > 0;
  loadDatasets();  // its dataset may be deletable now
}

function updateCompare() {
  const button = document.getElementById("compare");
  button.disabled = selected.size < 2 || selected.size > MAX_COMPARED;
  document.getElementById("compare-hint").textContent = selected.size > MAX_COMPARED
    ? `at most ${MAX_COMPARED} runs at once` : selected.size ? `${selected.size} selected` : "tick 2 to 4 runs to compare them";
}

document.getElementById("compare").addEventListener("click", () => {
  window.location = `/compare?runs=${[...selected].sort((a, b) => a - b).join(",")}`;
});

function show(run) {
  const before = latest.get(run.id);
  latest.set(run.id, run);
  const existing = document.getElementById(`run-${run.id}`);
  if (existing && existing.dataset.editing) return;  // redrawn when the rename ends
  const fresh = row(run);
  if (existing) existing.replaceWith(fresh);
  else tbody.prepend(fresh);
  document.getElementById("empty").hidden = tbody.rows.length > 0;
  if (!before || before.generation !== run.generation || before.state !== run.state) refreshBestSoon();
  if (!before) loadDatasets();  // a new run: its dataset (perhaps new) is in use now
}

// The best members are read with the list; a new generation re-reads it (at most
// once every two seconds, however many runs are going on).
let refreshTimer = null;
function refreshBestSoon() {
  if (refreshTimer === null) refreshTimer = setTimeout(() => { refreshTimer = null; load(); }, 2000);
}

async function load() {
  const [runs, verdicts] = await Promise.all([getJSON("/api/runs"), getJSON("/api/walk-forward")]);
  bestById.clear();
  for (const run of runs) if (run.best_member) bestById.set(run.id, run.best_member);
  walkForwardById.clear();
  for (const verdict of verdicts) walkForwardById.set(verdict.run_id, verdict);
  const editing = new Map([...tbody.querySelectorAll("tr[data-editing]")].map((tr) => [Number(tr.dataset.id), tr]));
  tbody.replaceChildren(...runs.map((run) => { latest.set(run.id, run); return editing.get(run.id) || row(run); }));
  for (const id of [...selected]) if (!latest.has(id) || !runs.some((r) => r.id === id)) selected.delete(id);
  updateCompare();
  document.getElementById("empty").hidden = runs.length > 0;
  document.body.dataset.ready = "true";
}

function barSize(seconds) {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

async function loadDatasets() {
  const datasets = await getJSON("/api/datasets");
  datasetNames.clear();
  for (const d of datasets) datasetNames.set(d.id, d.name);
  for (const cell of tbody.querySelectorAll("td.dataset")) nameDataset(cell);
  document.querySelector("#datasets tbody").replaceChildren(...datasets.map((d) => {
    const remove = el("button", { type: "button", class: "delete-dataset", text: "Delete" });
    if (d.bundled) { remove.disabled = true; remove.title = "bundled with the application"; }
    else if (d.run_ids.length) {
      remove.disabled = true;
      remove.title = `used by ${runsWords(d.run_ids)}: delete ${d.run_ids.length === 1 ? "it" : "them"} first`;
    }
    remove.addEventListener("click", () => deleteDataset(d));
    return el("tr", { id: `dataset-${d.id}` },
      el("td", { text: d.id }), el("td", { text: d.name }), el("td", { text: barSize(d.bar_seconds) }),
      el("td", { text: d.first_time }), el("td", { text: d.last_time }), el("td", { text: String(d.rows) }),
      el("td", { class: "hash", title: `SHA-256 of the candles: ${d.fingerprint}`, text: d.fingerprint.slice(0, 12) }),
      el("td", {}, remove));
  }));
}

async function deleteDataset(dataset) {
  if (!window.confirm(`Delete dataset ${dataset.id} (“${dataset.name}”)?`)) return;
  const response = await fetch(`/api/datasets/${encodeURIComponent(dataset.id)}`, { method: "DELETE" });
  const out = document.getElementById("datasets-error");
  if (!response.ok) {
    const body = await response.json();
    out.textContent = body.error;
    return;
  }
  out.textContent = "";
  loadDatasets();
}

const socket = io({ transports: ["websocket"] });
socket.on("connect", () => { socket.emit("subscribe", { runs: true }); load(); });
socket.on("run_status", show);
loadDatasets();
