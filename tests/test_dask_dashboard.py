"""The dashboard as the front end of a real Dask cluster (``--dask``).

A ``dask scheduler`` and two ``dask worker`` processes started with their command
lines on loopback (`tests.dask_processes`), the dashboard in a subprocess: a run
evaluated there gives exactly the generations and elite of the same run on the
local pool; a worker killed mid-run changes nothing; a scheduler killed mid-run
leaves the run interrupted, and a resume on a new cluster at the same address
completes it identically; no scheduler fails a run at its start naming the address
(resumable once it is there, saying so). Workers lost or without the project:
tests/test_dask_worker_faults.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT
from tests.dask_processes import DaskCluster
from tests.server import Server, free_port
from tests.test_api import run_config
from tests.test_faults import ENV, fault_config, strip, wait_generation
from tests.test_security import ServerWith

pytestmark = pytest.mark.slow  # a real Dask cluster, real servers and run processes


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[list[dict], list[dict]]:
    """The run on a local two-worker pool: its generations (without timings) and elite."""
    server = Server(tmp_path_factory.mktemp("local"), env=ENV).start()
    try:
        run_id = server.post("/api/runs", json=fault_config()).json()["id"]
        assert server.wait_for(run_id, ("completed", "failed"), timeout=300)["state"] == "completed"
        return strip(server.get(f"/api/runs/{run_id}/generations").json()), server.get(f"/api/runs/{run_id}/elite").json()
    finally:
        server.stop()


@pytest.fixture
def cluster(tmp_path):
    running = DaskCluster(tmp_path / "dask", env=ENV).start(workers=2)
    yield running
    running.stop()


@pytest.fixture
def dashboard(tmp_path, cluster):
    server = ServerWith(tmp_path / "dashboard", "--dask", cluster.address, env=ENV).start()
    yield server
    server.stop()


def panel(server: Server, timeout: float = 60) -> dict:
    """``GET /api/cluster`` once it holds a reading (the first read starts the monitor,
    and answers ``connecting`` at once)."""
    deadline = time.monotonic() + timeout
    while (answer := server.get("/api/cluster").json())["state"] == "connecting":
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    return answer


def outcome(server: Server, run_id: int) -> tuple[list[dict], list[dict]]:
    return strip(server.get(f"/api/runs/{run_id}/generations").json()), server.get(f"/api/runs/{run_id}/elite").json()


def test_a_run_on_the_cluster_is_the_run_on_the_local_pool(reference, cluster, dashboard):
    before = cluster.processed()
    response = dashboard.post("/api/runs", json=fault_config())
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    status = dashboard.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=300)
    assert status["state"] == "completed", status
    assert outcome(dashboard, run_id) == reference
    assert cluster.processed() > before  # the cluster's workers evaluated it
    (where,) = status["versions"]["evaluated_on"]  # the run's provenance says where
    assert (where["executor"], where["scheduler"], where["workers"], where["cores"]) == ("dask", cluster.address, 2, 2)
    shown = panel(dashboard)
    assert (shown["mode"], shown["scheduler"], shown["worker_count"]) == ("dask", cluster.address, 2), shown
    # The panel counts a run's tasks in flight: a run whose generations are mostly
    # evaluation (about 2 s each), watched from a monitor already connected (it reads the
    # scheduler every 2 s; the run above is over in a few short generations, which a CI
    # run under load once sampled between every time).
    doc = run_config(generations=3, population=200, slow=True)
    doc["workers"] = 2
    busy = dashboard.post("/api/runs", json=doc).json()["id"]
    in_flight = 0
    while dashboard.get(f"/api/runs/{busy}").json()["state"] in ("queued", "running"):
        in_flight = max(in_flight, dashboard.get("/api/cluster").json().get("tasks_in_flight", 0))
        time.sleep(0.3)
    assert dashboard.get(f"/api/runs/{busy}").json()["state"] == "completed"
    assert in_flight > 0


def test_a_stopped_scheduler_never_holds_the_panel_or_a_page(cluster, dashboard):
    assert panel(dashboard)["state"] == "connected"
    cluster.scheduler.send_signal(signal.SIGSTOP)  # alive, listening, answering nothing
    try:
        deadline = time.monotonic() + 60
        while (shown := requests.get(dashboard.url + "/api/cluster", timeout=15).json())["state"] == "connected":
            assert requests.get(dashboard.url + "/", timeout=15).ok  # the pages answer meanwhile
            assert time.monotonic() < deadline, shown
            time.sleep(0.5)
        assert shown["state"] == "unreachable" and shown["error"], shown
        assert requests.get(dashboard.url + "/cluster", timeout=15).ok
    finally:
        cluster.scheduler.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + 60
    while (shown := dashboard.get("/api/cluster").json())["state"] != "connected":  # back once it answers again
        assert time.monotonic() < deadline, shown
        time.sleep(0.5)
    assert shown["worker_count"] == 2


def test_a_worker_killed_mid_run_leaves_the_result_identical(reference, cluster, dashboard):
    run_id = dashboard.post("/api/runs", json=fault_config()).json()["id"]
    wait_generation(dashboard, run_id, 2)
    victim = cluster.worker_process(cluster.workers[0])  # the worker process under its nanny
    victim.send_signal(signal.SIGKILL)
    status = dashboard.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=300)
    assert status["state"] == "completed", status
    assert outcome(dashboard, run_id) == reference
    assert status["failed_evaluations"] == 0


def test_the_scheduler_killed_mid_run_interrupts_it_and_a_resume_completes_it(reference, tmp_path, cluster, dashboard):
    run_id = dashboard.post("/api/runs", json=fault_config()).json()["id"]
    queued = dashboard.post("/api/runs", json=fault_config()).json()["id"]  # waits for the one slot
    wait_generation(dashboard, run_id, 2)
    cluster.kill_scheduler()
    status = dashboard.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=120)
    assert status["state"] == "interrupted", status
    assert cluster.address in status["error"] and "resume" in status["error"], status
    assert "client" not in status["error"] and "connecting" not in status["error"], status  # no Dask jargon
    # The queued run starts now, with no scheduler: it fails to start, naming the address and the reason.
    status = dashboard.wait_for(queued, ("completed", "failed", "interrupted"), timeout=120)
    assert status["state"] == "failed", status
    assert status["error"].startswith(f"cannot reach the Dask scheduler at {cluster.address}: "), status
    for worker in cluster.workers:  # the old workers leave once their scheduler is gone
        cluster.wait_gone(worker)
    cluster.start_scheduler()  # the same address
    cluster.start_worker()
    cluster.start_worker()
    cluster.wait_for_workers(2)
    for run in (run_id, queued):
        assert dashboard.post(f"/api/runs/{run}/resume").status_code == 202
    for run in (run_id, queued):
        status = dashboard.wait_for(run, ("completed", "failed", "interrupted"), timeout=300)
        assert status["state"] == "completed", status
        assert outcome(dashboard, run) == reference
    assert [w["executor"] for w in status["versions"]["evaluated_on"]] == ["dask"]  # the queued run's one start
    starts = dashboard.get(f"/api/runs/{run_id}").json()["versions"]["evaluated_on"]
    assert [(w["executor"], w["scheduler"]) for w in starts] == [("dask", cluster.address)] * 2


def test_no_scheduler_listening_fails_the_run_naming_it_and_it_resumes_once_there(reference, tmp_path):
    cluster = DaskCluster(tmp_path / "dask", env=ENV)  # its address, nothing listening yet
    server = ServerWith(tmp_path / "dashboard", "--dask", cluster.address, env=ENV).start()
    try:
        response = server.post("/api/runs", json=fault_config())
        assert response.status_code == 201, response.text
        run_id = response.json()["id"]
        status = server.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=120)
        assert status["state"] == "failed", status
        assert status["error"].startswith(f"cannot reach the Dask scheduler at {cluster.address}: "), status
        assert status["error"].endswith("then resume the run") and "start it" in status["error"], status
        assert "\n" not in status["error"] and ".." not in status["error"]
        shown = panel(server)
        assert (shown["state"], shown["workers"]) == ("unreachable", []) and shown["error"], shown
        cluster.start(workers=2)
        assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
        status = server.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=300)
        assert status["state"] == "completed", status
        assert outcome(server, run_id) == reference
    finally:
        server.stop()
        cluster.stop()


def test_the_command_line_names_the_address_it_cannot_reach(tmp_path):
    config = tmp_path / "config.json"
    doc = fault_config()
    doc["data"] = {"path": str(ROOT / "data" / "EURUSD-1h.csv")}
    config.write_text(json.dumps(doc))
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "optimizer", "run", str(config), "--executor", f"dask://127.0.0.1:{port}",
         "--json", str(tmp_path / "out.json")],
        cwd=ROOT, env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: " in done.stderr
