"use strict";
// Where runs evaluate (GET /api/cluster): the cluster panel (/cluster) and the run
// form's "where it evaluates" line (#where). Read again every few seconds while the
// page is visible; the server answers its last reading at once, so a slow or dead
// scheduler shows here as "unreachable" and never holds the page.

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

// One line: where a run submitted now evaluates.
function whereText(info) {
  if (info.mode === "local") {
    return `Evaluates on this machine: a local pool of worker processes (the run's “workers”; at most ${info.max_workers}, ${plural(info.cores, "core")} here).`;
  }
  if (info.state === "connected") {
    return `Evaluates on the Dask cluster at ${info.scheduler}: ${plural(info.worker_count, "worker")}, ${plural(info.cores, "core")} (the run's “workers” is not used).`;
  }
  if (info.state === "connecting") return `Evaluates on the Dask cluster at ${info.scheduler} (connecting…).`;
  return `Evaluates on the Dask cluster at ${info.scheduler}, which is unreachable now: ${info.error}. A run submitted now fails to start (resume it once the scheduler is back).`;
}

function drawPanel(info) {
  document.getElementById("cluster-where").textContent = whereText(info);
  const error = document.getElementById("cluster-error");
  const table = document.getElementById("cluster-workers");
  const totals = document.getElementById("cluster-totals");
  const link = document.getElementById("cluster-dashboard");
  error.hidden = !(info.mode === "dask" && info.state === "unreachable");
  error.textContent = error.hidden ? "" : `Scheduler ${info.scheduler} unreachable: ${info.error}` +
    (info.checked_at ? ` (last read ${info.checked_at})` : "");
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
      `(read ${info.checked_at})`;
  } else {
    totals.textContent = info.mode === "local" ? "Start the dashboard with --dask tcp://HOST:PORT to evaluate on a Dask cluster (docs/DEPLOY.md)." : "";
  }
  link.hidden = !(info.mode === "dask" && info.dashboard_url);
  if (!link.hidden) link.href = info.dashboard_url;
}

async function refreshCluster() {
  if (document.visibilityState === "visible") {
    try {
      const info = await getJSON("/api/cluster");
      if (CLUSTER_PANEL) drawPanel(info);
      if (WHERE_LINE) WHERE_LINE.textContent = whereText(info);
    } catch (failure) {
      const text = `Cannot read where runs evaluate: ${failure.message}`;
      if (CLUSTER_PANEL) document.getElementById("cluster-where").textContent = text;
      if (WHERE_LINE) WHERE_LINE.textContent = text;
    }
  }
  setTimeout(refreshCluster, CLUSTER_EVERY_MS);
}

refreshCluster();
