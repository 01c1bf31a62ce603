"""Where runs evaluate: this machine's pools, or the Dask cluster of ``--dask``.

* ``GET /api/cluster``: ``mode`` ``local`` (with ``max_workers``, the most worker
  processes a run may ask for, and ``cores``), or ``dask`` with the monitor's
  snapshot (`ClusterMonitor.snapshot`: the scheduler, its workers with their cores,
  memory and tasks in flight, Dask's own dashboard link). Never waits on the
  scheduler: it answers the last reading.
* `on_cluster`: what a submission's limits and estimate know of the cluster
  (`visualization_apps.limits`: a cluster run's ``workers`` is not used).
* ``/cluster``: the cluster panel (``templates/cluster_panel.html``,
  ``static/cluster.js``), refreshed every 2 s while the page is open.

A run submitted (or resumed) while the scheduler cannot be reached is stored as
any other; its process fails to start it, with the address and the reason
(``failed``, resumable once the scheduler is back). A scheduler lost mid-run
interrupts the run (resumable). See `optimizer.evaluation.dask_cluster`.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template
from flask.blueprints import BlueprintSetupState

from visualization_apps.cluster_monitor import ClusterMonitor
from visualization_apps.limits import OnCluster
from visualization_apps.openapi import operation

cluster = Blueprint("cluster", __name__)
FRESH_SECONDS = 4.0
"""How long a submission or an estimate waits for a new reading of the cluster when the last is old (seconds)."""
OLD_SECONDS = 5.0
"""A reading older than this is read again for a submission or an estimate (seconds)."""


@cluster.record_once
def _make_monitor(state: BlueprintSetupState) -> None:
    """The app's monitor (None without ``DASK_SCHEDULER``); no thread until a first read."""
    address = state.app.config.get("DASK_SCHEDULER")
    state.app.extensions["cluster"] = ClusterMonitor(address) if address else None


def monitor(app: Flask) -> ClusterMonitor | None:
    """The app's `ClusterMonitor`, or None when runs evaluate on local pools."""
    return app.extensions.get("cluster")


def where(app: Flask) -> dict:
    """What ``GET /api/cluster`` answers."""
    watcher = monitor(app)
    if watcher is None:
        return {"mode": "local", "max_workers": int(app.config["MAX_WORKERS"]), "cores": os.cpu_count() or 1}
    return {"mode": "dask", **watcher.snapshot()}


def on_cluster(app: Flask) -> OnCluster | None:
    """What a submission's limits and estimate know of the cluster (None: local pools):
    its usable worker count (those that can import the project), read again when the
    last reading is old (waiting `FRESH_SECONDS` at most; a reading still old says when
    it was taken); one that failed or none yet leaves it unknown, saying why."""
    watcher = monitor(app)
    if watcher is None:
        return None
    shot = watcher.snapshot()
    if shot["state"] == "connecting" or shot["refreshing"] or (shot["age_seconds"] or 0) > OLD_SECONDS:
        shot = watcher.fresh(FRESH_SECONDS)
    if shot["state"] == "connected":
        old = shot["refreshing"] or (shot["age_seconds"] or 0) > OLD_SECONDS
        return OnCluster(watcher.address, int(shot["usable_worker_count"]), read_at=shot["checked_at"] if old else None)
    if shot["state"] == "connecting":
        return OnCluster(watcher.address, None, "not read yet")
    return OnCluster(watcher.address, None, f"unreachable at {shot['failed_at']}: {shot['error']}")


@cluster.get("/api/cluster")
@operation("Where runs evaluate: the local pools, or the Dask cluster as last seen", ok=(200, "ok", {"type": "object"}))
def cluster_status() -> Response:
    return jsonify(where(current_app))


@cluster.get("/cluster")
def cluster_page() -> str:
    return render_template("cluster.html")
