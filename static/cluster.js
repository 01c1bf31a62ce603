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

// What keeps a connected cluster from evaluating: the scheduler, or workers, that
// cannot import the project ("" when nothing does).
function importProblems(info) {
  if (info.scheduler_import_error) {
    return ` The scheduler cannot import the optimizer (${info.scheduler_import_error}): no run can start; install the project there (pip install .) and restart it.`;
  }
  const bad = (info.workers || []).filter((w) => w.import_error);
  if (!bad.length) return "";
  const first = `${bad[0].address} (${bad[0].import_error})${bad.length > 1 ? ` and ${bad.length - 1} more` : ""}`;
  if (!info.usable_worker_count) {
    return ` No worker can import the optimizer: ${first}; a run fails to start; install the project on the workers (pip install .) and restart them.`;
  }
  return ` ${plural(bad.length, "worker")} cannot import the optimizer and ${bad.length === 1 ? "is" : "are"} left out of runs: ${first}.`;
}

// One line: where a run submitted now evaluates.
function whereText(info) {
  if (info.mode === "local") {
    return `Evaluates on this machine: a local pool of worker processes (the run's “workers”; at most ${info.max_workers}, ${plural(info.cores, "core")} here).`;
  }
  if (info.state === "connected") {
    const age = info.refreshing ? ` (${readingAge(info)})` : "";
    const usable = info.usable_worker_count ?? info.worker_count;
    const count = usable === info.worker_count ? plural(info.worker_count, "worker") : `${usable} of ${plural(info.worker_count, "worker")} usable`;
    return `Evaluates on the Dask cluster at ${info.scheduler}: ${count}, ${plural(info.cores, "core")}${age}; the configuration's “workers” is not used on the cluster.${importProblems(info)}`;
  }
  if (info.state === "connecting") {
    return `Evaluates on the Dask cluster at ${info.scheduler} (connecting…); the configuration's “workers” is not used on the cluster.`;
  }
  return `Evaluates on the Dask cluster at ${info.scheduler}, which was unreachable at ${info.failed_at}: ${info.error}. ` +
    "Runs under way wait for it; a run submitted now fails to start within seconds (resume it once the scheduler answers).";
}

// On a cluster the form's "workers" field (local worker processes) is not used: its help says so.
const WORKERS_NOT_USED = "not used on the Dask cluster: a run evaluates on the cluster's workers (this field sets local worker processes)";
function workersHelp(info) {
  const input = document.querySelector("[data-path='workers']");
  const help = input && input.closest("label").querySelector(".help");
  if (info.mode !== "dask" || !help || help.textContent === WORKERS_NOT_USED) return;
  help.textContent = WORKERS_NOT_USED;
  help.parentNode.title = WORKERS_NOT_USED;
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
      const row = el("tr", { "data-address": worker.address },
        el("td", { text: worker.address },
          worker.import_error ? el("small", { class: "error cannot-import", text: ` cannot import the optimizer: ${worker.import_error}; left out of runs` }) : ""),
        el("td", { text: worker.name }),
        numberCell(worker.cores, 3, { class: "cores" }),
        el("td", { text: fmtBytes(worker.memory_bytes) }), el("td", { text: fmtBytes(worker.memory_limit_bytes) }),
        numberCell(worker.tasks_in_flight, 3, { class: "in-flight" }));
      if (worker.import_error) row.classList.add("cannot-import");
      body.append(row);
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
  const workers = info.mode === "dask" && info.state === "connected" ? info.usable_worker_count ?? info.worker_count : null;
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
        workersHelp(info);
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
