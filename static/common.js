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

// Sorts a table's body by the clicked column (numbers numerically, "–" last).
function makeSortable(table) {
  table.querySelector("thead").addEventListener("click", (event) => {
    const th = event.target.closest("th");
    if (!th) return;
    const index = [...th.parentNode.children].indexOf(th);
    const ascending = th.dataset.sort !== "asc";
    table.querySelectorAll("th").forEach((h) => delete h.dataset.sort);
    th.dataset.sort = ascending ? "asc" : "desc";
    const rows = [...table.tBodies[0].rows];
    const key = (row) => {
      const text = row.cells[index].textContent;
      const number = parseFloat(text);
      return Number.isNaN(number) ? (text === "–" ? Infinity : text) : number;
    };
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    table.tBodies[0].append(...rows);
  });
}

const PLOT_LAYOUT = { margin: { l: 50, r: 20, t: 40, b: 40 }, height: 320 };
const PLOT_CONFIG = { displaylogo: false, responsive: true };
