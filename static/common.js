"use strict";
// Helpers shared by the pages: JSON over fetch, number formatting, live updates.

// What the server tells the page (data- attributes of this script's tag; no inline
// scripts): the run-state groups, and the run and individual the page shows.
const PAGE = document.currentScript.dataset;
const RUN_STATES = JSON.parse(PAGE.runStates); // {states, stoppable, resumable, final, transitions}
const RUN_ID = PAGE.runId === undefined ? null : Number(PAGE.runId);
const IND_ID = PAGE.indId === undefined ? null : Number(PAGE.indId);

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { details: body.details || [] });
  return body;
}

async function postJSON(url, payload) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: payload === undefined ? "{}" : JSON.stringify(payload),
  });
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { details: body.details || [] });
  return body;
}

function fmt(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  return value.toPrecision(digits);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// Sorts a table's body by the clicked column: numbers numerically, by a cell's
// `data-value` where it has one (the stored value, not its rounded text), and empty
// cells ("–") last in either direction. The sort is kept on the table (column header
// and direction), so that a page that redraws the table can apply it again (`resort`).
function makeSortable(table) {
  table.querySelector("thead").addEventListener("click", (event) => {
    const th = event.target.closest("th");
    if (!th) return;
    const ascending = th.dataset.sort !== "asc";
    table.dataset.sortColumn = th.dataset.column || th.textContent;
    table.dataset.sortOrder = ascending ? "asc" : "desc";
    resort(table);
  });
}

function resort(table) {
  const name = table.dataset.sortColumn;
  if (!name) return;
  const headers = [...table.tHead.querySelectorAll("th")];
  const th = headers.find((h) => (h.dataset.column || h.textContent) === name);
  headers.forEach((h) => delete h.dataset.sort);
  if (!th) return;
  const ascending = table.dataset.sortOrder === "asc";
  th.dataset.sort = ascending ? "asc" : "desc";
  const index = headers.indexOf(th);
  const key = (row) => {
    const cell = row.cells[index];
    const text = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
    if (text === "–" || text === "") return null;
    const number = Number(text);
    return Number.isNaN(number) ? text : number;
  };
  const rows = [...table.tBodies[0].rows];
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === null || y === null) return (x === null) - (y === null);  // empty cells last, either way
    const order = x < y ? -1 : x > y ? 1 : 0;
    return ascending ? order : -order;
  });
  table.tBodies[0].append(...rows);
}

// A table cell showing `value` rounded, sorting by the value itself.
function numberCell(value, digits = 3, attrs = {}) {
  return el("td", { ...attrs, text: fmt(value, digits), ...(typeof value === "number" ? { "data-value": String(value) } : {}) });
}

// Text a user wrote (a run's name) as Plotly shows it: Plotly reads trace names,
// titles and hover texts as a subset of HTML (<b>, <a href>...), so the markup
// characters go as entities, which it shows as the characters themselves.
function plotlyText(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const PLOT_LAYOUT = { margin: { l: 50, r: 20, t: 40, b: 40 }, height: 320 };
const PLOT_CONFIG = { displaylogo: false, responsive: true };

// Gene labels a trader can read: the rule of optimizer/labels.py (tested against it).
// 1. A name's unique suffix: its shortest run of last dotted parts no other name ends
//    with (all its parts if another name ends with it entirely).
// 2. Of that suffix keep the first and last parts, and each middle part that tells the
//    gene apart from another gene ending with the same parts after it.
// 3. Labels that still coincide take their whole unique suffix (until all differ).
function geneLabels(names) {
  const split = names.map((n) => n.split("."));
  const endsWith = (parts, tail) => parts.length >= tail.length
    && tail.every((p, k) => parts[parts.length - tail.length + k] === p);
  const others = (i) => split.filter((_, j) => j !== i);
  const suffixes = split.map((parts, i) => {
    for (let k = 1; k <= parts.length; k++) {
      const tail = parts.slice(-k);
      if (!others(i).some((o) => endsWith(o, tail))) return tail;
    }
    return parts;
  });
  const labels = suffixes.map((suffix, i) => {
    const kept = [suffix[0]];
    for (let m = 1; m < suffix.length - 1; m++) {
      const after = suffix.slice(m + 1);
      const position = after.length + 1;
      const rivals = others(i).filter((o) => endsWith(o, after));
      if (rivals.some((o) => o.length < position || o[o.length - position] !== suffix[m])) kept.push(suffix[m]);
    }
    if (suffix.length > 1) kept.push(suffix[suffix.length - 1]);
    return kept.join(".");
  });
  for (;;) {
    const counts = new Map();
    for (const label of labels) counts.set(label, (counts.get(label) || 0) + 1);
    const clashing = labels.map((l, i) => i).filter((i) => counts.get(labels[i]) > 1 && labels[i] !== suffixes[i].join("."));
    if (!clashing.length) break;
    for (const i of clashing) labels[i] = suffixes[i].join(".");
  }
  return Object.fromEntries(names.map((n, i) => [n, labels[i]]));
}

// Each value's name -> label, for the genes of a list of individuals' params.
function labelsOf(params) { return geneLabels(Object.keys(params || {})); }

// A duration in seconds, as a person reads it (the run process's figure, not recomputed).
function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// A tick step for whole counts up to ``max``: 1, 2 or 5 times a power of ten, about five ticks.
function countStep(max) {
  const raw = Math.max(1, max / 5);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw);
}

// An x axis of generations ``first``..``last``: whole-number ticks, every 1, 2 or 5
// times a power of ten (about six), from the first generation to the last.
function generationAxis(first, last, extra = {}) {
  if (first === undefined || last === undefined) return { title: { text: "generation" }, automargin: true, ...extra };
  const raw = Math.max(1, (last - first) / 6);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const dtick = [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw);
  return { title: { text: "generation" }, range: first === last ? [first - 0.5, last + 0.5] : [first, last],
    tickmode: "linear", tick0: 0, dtick, tickformat: "d", tickangle: 0, automargin: true, ...extra };
}

// A y axis of whole counts (histograms): integer ticks only, from zero.
function countAxis(max, title) {
  return { title: { text: title }, rangemode: "tozero", tickformat: "d", dtick: countStep(max), automargin: true };
}
