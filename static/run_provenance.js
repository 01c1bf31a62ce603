"use strict";
// The run page's "Evaluated on" line and its provenance block, from the stored
// provenance (GET /api/runs/<id>: `versions`, with `evaluated_on`, one entry per start
// of the run: a first start or a resume). From run.js's read of the status, then drawn again from each
// `run_status` event of the run page's socket (run.js), which carries the stored record:
// a queued run's start, or a resume, shows up without polling the server.

// One start, as a sentence: the local pool with its workers, or the Dask cluster.
function evaluatedOnText(start) {
  const workers = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  if (start.executor === "dask") {
    return `the Dask cluster at ${start.scheduler}: ${workers(start.workers, "worker")}, ${workers(start.cores, "core")}`;
  }
  if (start.executor === "sequential") return "this machine, in the run's own process (no pool)";
  return `a local pool of ${workers(start.workers, "worker process", "worker processes")} on the dashboard's machine`;
}

function drawProvenance(versions) {
  const starts = versions.evaluated_on || [];
  const line = document.getElementById("evaluated-on");
  line.hidden = starts.length === 0;
  if (starts.length) {
    const last = starts[starts.length - 1];
    const more = starts.length > 1 ? ` (the last of ${starts.length} starts; all in Provenance below)` : "";
    line.textContent = `Evaluated on ${evaluatedOnText(last)}${more}.`;
  }
  const list = document.getElementById("provenance-evaluated-on");
  list.replaceChildren(...starts.map((start) => el("li", { text: `${start.started_at}: ${evaluatedOnText(start)}` })));
  if (!starts.length) list.append(el("li", { text: "not started yet" }));
  const packages = document.getElementById("provenance-versions");
  packages.replaceChildren();
  for (const [name, version] of Object.entries(versions)) {
    if (name !== "evaluated_on") packages.append(el("dt", { text: name }), el("dd", { text: String(version) }));
  }
}

statusRead.then((run) => drawProvenance(run.versions || {}), alertError);  // run.js's read of the run's status
socket.on("run_status", (run) => { if (run.versions) drawProvenance(run.versions); });
