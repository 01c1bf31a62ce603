"use strict";
// The runs list, kept up to date by Socket.IO run_status events.

const tbody = document.querySelector("#runs tbody");

function row(run) {
  const progress = `${run.generation} / ${run.generations_total}`;
  return el("tr", { id: `run-${run.id}`, "data-state": run.state },
    el("td", {}, el("a", { href: `/runs/${run.id}`, text: String(run.id) })),
    el("td", {}, el("a", { href: `/runs/${run.id}`, text: run.name })),
    el("td", { text: run.dataset_id }),
    el("td", { class: `state ${run.state}`, text: run.state }),
    el("td", { text: progress }),
    el("td", { text: run.best ? run.best.map((v) => fmt(v)).join(", ") : "–" }),
    el("td", { text: run.started_at || "–" }),
    el("td", { text: run.finished_at || "–" }));
}

function show(run) {
  const existing = document.getElementById(`run-${run.id}`);
  const fresh = row(run);
  if (existing) existing.replaceWith(fresh);
  else tbody.prepend(fresh);
  document.getElementById("empty").hidden = tbody.rows.length > 0;
}

async function load() {
  const runs = await getJSON("/api/runs");
  tbody.replaceChildren(...runs.map(row));
  document.getElementById("empty").hidden = runs.length > 0;
}

const socket = io({ transports: ["websocket"] });
socket.on("connect", () => { socket.emit("subscribe", { runs: true }); load(); });
socket.on("run_status", show);
