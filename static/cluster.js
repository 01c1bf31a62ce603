"use strict";
// Where runs evaluate (GET /api/cluster): the cluster panel (/cluster) and the run
// form's "where it evaluates" line (#where). Read again every few seconds while the
// page is visible; the server answers its last reading at once, so a slow or dead
// scheduler never holds the page. A reading that is merely old (nobody looked for a
// while) is the last known state, "updated 40 s ago, refreshing"; "unreachable"
// only when a read failed, with the reason and when.

const CLUSTER_PANEL = document.getElementById("cluster-panel");
const WHERE_LINE = document.getElementById("where");
const CLUSTER_EVERY_MS = CLUSTER_PANEL ? 2000 : 5000;

function fmtBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

// How old the reading is: "read 2026-12-01T17:40:02Z", or "updated 40 s ago, refreshing".
function readingAge(info) {
  if (info.refreshing) return `updated ${Math.round(info.age_seconds)} s ago, refreshing`;
  return info.checked_at ? `read ${info.checked_at}` : "not read yet";
}

// One line: where a run submitted now evaluates.
function whereText(info) {
  if (info.mode === "local") {
    return `Evaluates on this machine: a local pool of worker processes (the run's “workers”; at most ${info.max_workers}, ${plural(info.cores, "core")} here).`;
  }
  if (info.state === "connected") {
    const age = info.refreshing ? ` (${readingAge(info)})` : "";
    return `Evaluates on the Dask cluster at ${info.scheduler}: ${plural(info.worker_count, "worker")}, ${plural(info.cores, "core")}${age}; the configuration's “workers” is not used on the cluster.`;
  }
  if (info.state === "connecting") {
    return `Evaluates on the Dask cluster at ${info.scheduler} (connecting…); the configuration's “workers” is not used on the cluster.`;
  }
  return `Evaluates on the Dask cluster at ${info.scheduler}, which was unreachable at ${info.failed_at}: ${info.error}. A run submitted now fails to start (resume it once the scheduler is back).`;
}

function drawPanel(info) {
  document.getElementById("cluster-where").textContent = whereText(info);
  const error = document.getElementById("cluster-error");
  const table = document.getElementById("cluster-workers");
  const totals = document.getElementById("cluster-totals");
  const link = document.getElementById("cluster-dashboard");
  error.hidden = !(info.mode === "dask" && info.state === "unreachable");
  error.textContent = error.hidden ? "" : `Scheduler ${info.scheduler} unreachable: ${info.error} ` +
    `(the read failed at ${info.failed_at}${info.refreshing ? "; refreshing" : ""})`;
  const connected = info.mode === "dask" && info.state === "connected";
  table.hidden = !connected;
  const body = table.tBodies[0];
  body.replaceChildren();
  if (connected) {
    for (const worker of info.workers) {
      body.append(el("tr", { "data-address": worker.address },
        el("td", { text: worker.address }), el("td", { text: worker.name }),
        numberCell(worker.cores, 3, { class: "cores" }),
        el("td", { text: fmtBytes(worker.memory_bytes) }), el("td", { text: fmtBytes(worker.memory_limit_bytes) }),
        numberCell(worker.tasks_in_flight, 3, { class: "in-flight" })));
    }
    totals.textContent = `${plural(info.worker_count, "worker")}, ${plural(info.cores, "core")}, ` +
      `${fmtBytes(info.memory_limit_bytes)} of memory; ${plural(info.tasks_in_flight, "task")} in flight ` +
      `(${readingAge(info)})`;
  } else {
    totals.textContent = info.mode === "local" ? "Start the dashboard with --dask tcp://HOST:PORT to evaluate on a Dask cluster (docs/DEPLOY.md)." : "";
  }
  link.hidden = !(info.mode === "dask" && info.dashboard_url);
  if (!link.hidden) link.href = info.dashboard_url;
}

// The form's estimate counts the cluster's workers: ask it again when their count
// (or whether it is known) changes (scheduleEstimate: new_run.js).
let estimatedWith = null;
function reestimate(info) {
  const workers = info.mode === "dask" && info.state === "connected" ? info.worker_count : null;
  if (info.mode === "dask" && workers !== estimatedWith && typeof scheduleEstimate === "function") scheduleEstimate();
  estimatedWith = workers;
}

async function refreshCluster() {
  if (document.visibilityState === "visible") {
    try {
      const info = await getJSON("/api/cluster");
      if (CLUSTER_PANEL) drawPanel(info);
      if (WHERE_LINE) {
        WHERE_LINE.textContent = whereText(info);
        reestimate(info);
      }
    } catch (failure) {
      const text = `Cannot read where runs evaluate: ${failure.message}`;
      if (CLUSTER_PANEL) document.getElementById("cluster-where").textContent = text;
      if (WHERE_LINE) WHERE_LINE.textContent = text;
    }
  }
  setTimeout(refreshCluster, CLUSTER_EVERY_MS);
}

refreshCluster();
