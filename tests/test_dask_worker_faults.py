"""Workers lost or unusable under a run on a real Dask cluster (``dask scheduler`` and
``dask worker`` processes started with their command lines, killed by their recorded
pids), the dashboard in front of it with ``--dask``:

* every worker lost mid-run: the run waits for one (``OPTIMIZER_DASK_WAIT_SECONDS``),
  goes on when workers come back within the wait, and otherwise ends
  ``interrupted`` saying so; a resume once workers are back completes it identically;
* a worker that cannot import the project, joining mid-run or there from the start:
  left out, with a warning naming it and its reason, the run identical; the cluster
  panel flags it; a run fails only when no worker can import the project.
"""

from __future__ import annotations

import time

import pytest

from optimizer.evaluation.dask_faults import WAIT_ENV
from tests import test_dask_dashboard
from tests.dask_processes import DaskCluster
from tests.test_dask_dashboard import outcome, panel
from tests.test_faults import ENV, fault_config, wait_generation
from tests.test_security import ServerWith

pytestmark = pytest.mark.slow  # a real Dask cluster, real servers and run processes

reference = test_dask_dashboard.reference  # the run on a local pool
WAIT = 15  # seconds a run waits for a worker here (120 by default)


@pytest.fixture
def cluster(tmp_path):
    running = DaskCluster(tmp_path / "dask", env=ENV).start(workers=2)
    yield running
    running.stop()


def _dashboard(tmp_path, cluster: DaskCluster, wait: int | None = WAIT) -> ServerWith:
    env = {**ENV, WAIT_ENV: str(wait)} if wait is not None else ENV
    return ServerWith(tmp_path / "dashboard", "--dask", cluster.address, env=env).start()


def _panel_with(server: ServerWith, workers: int, usable: int, timeout: float = 60) -> dict:
    """``GET /api/cluster`` once it lists ``workers`` workers, ``usable`` of them able to
    import the project (the monitor asks a new worker just after the reading that lists it)."""
    deadline = time.monotonic() + timeout
    while ((shown := panel(server))["state"], len(shown["workers"]), shown.get("usable_worker_count")) != (
        "connected",
        workers,
        usable,
    ):
        assert time.monotonic() < deadline, shown
        time.sleep(0.5)
    return shown


def _lose_every_worker_mid_run(server: ServerWith, cluster: DaskCluster) -> int:
    """A run started, and every worker of the cluster killed at its second generation: its id."""
    run_id = server.post("/api/runs", json=fault_config()).json()["id"]
    wait_generation(server, run_id, 2)
    for worker in list(cluster.workers):
        cluster.kill(worker)
    return run_id


def _completes_as_the_reference(server: ServerWith, run_id: int, reference: tuple) -> dict:
    """The run's final status, once it has completed with the reference's generations and elite."""
    status = server.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=300)
    assert status["state"] == "completed", status
    assert outcome(server, run_id) == reference
    assert status["failed_evaluations"] == 0
    return status


def test_every_worker_lost_mid_run_interrupts_it_after_the_wait_and_a_resume_completes_it(reference, tmp_path, cluster):
    server = _dashboard(tmp_path, cluster)
    try:
        run_id = _lose_every_worker_mid_run(server, cluster)
        status = server.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=180)
        assert status["state"] == "interrupted", status
        error = status["error"]
        assert (
            f"the Dask cluster at {cluster.address} has no worker (waited {WAIT} s): start workers, then resume"
            in error
        )
        assert "\n" not in error and ".." not in error, error
        cluster.start_worker()
        cluster.start_worker()
        cluster.wait_for_workers(2)
        assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
        _completes_as_the_reference(server, run_id, reference)
    finally:
        server.stop()


def test_workers_back_within_the_wait_let_the_run_go_on_to_the_same_result(reference, tmp_path, cluster):
    server = _dashboard(tmp_path, cluster, wait=None)  # the documented 120 s
    try:
        run_id = _lose_every_worker_mid_run(server, cluster)
        time.sleep(3)  # no worker for a while: the run's batches fail, its candles are lost
        cluster.start_worker()
        cluster.start_worker()
        _completes_as_the_reference(server, run_id, reference)
    finally:
        server.stop()


def test_a_worker_without_the_project_joining_mid_run_is_left_out_with_a_warning(reference, tmp_path, cluster):
    server = _dashboard(tmp_path, cluster)
    try:
        run_id = server.post("/api/runs", json=fault_config()).json()["id"]
        wait_generation(server, run_id, 1)
        cluster.start_worker(with_project=False)
        cluster.wait_for_workers(3)
        _completes_as_the_reference(server, run_id, reference)
        shown = _panel_with(server, 3, usable=2)
        (bad,) = [w for w in shown["workers"] if w["import_error"]]
        assert "No module named 'optimizer'" in bad["import_error"], shown
        assert (shown["worker_count"], shown["usable_worker_count"], shown["scheduler_import_error"]) == (3, 2, None)
        log = server.log.read_text()
        assert f"Dask worker {bad['address']} cannot import the optimizer (ModuleNotFoundError: No module named " \
               "'optimizer'): it is left out of this run" in log, log[-3000:]  # fmt: skip
    finally:
        server.stop()


def test_a_worker_without_the_project_is_left_out_and_without_a_usable_one_a_run_fails_naming_it(
    reference,
    tmp_path,
    cluster,
):
    cluster.start_worker(with_project=False)
    cluster.wait_for_workers(3)
    server = _dashboard(tmp_path, cluster)
    try:
        shown = _panel_with(server, 3, usable=2)
        (bad,) = [w["address"] for w in shown["workers"] if w["import_error"]]
        assert shown["usable_worker_count"] == 2, shown
        estimate = server.post("/api/runs/estimate", json=fault_config()).json()
        assert (estimate["mode"], estimate["workers"]) == ("dask", 2), estimate
        run_id = server.post("/api/runs", json=fault_config()).json()["id"]
        status = _completes_as_the_reference(server, run_id, reference)
        (where,) = status["versions"]["evaluated_on"]
        assert (where["workers"], list(where["left_out"])) == (2, [bad]), where
        assert "No module named 'optimizer'" in where["left_out"][bad]

        for worker in cluster.workers[:2]:  # only the worker without the project is left
            cluster.kill(worker)
        shown = _panel_with(server, 1, usable=0)
        assert shown["usable_worker_count"] == 0, shown
        run_id = server.post("/api/runs", json=fault_config()).json()["id"]
        status = server.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=120)
        assert status["state"] == "failed", status
        error = status["error"]
        assert error.startswith(f"Dask worker {bad} cannot import the optimizer: ModuleNotFoundError: No module "
                                "named 'optimizer'; install the project there (pip install .)"), error  # fmt: skip
        assert "\n" not in error
    finally:
        server.stop()


def test_an_old_reading_is_read_again_for_the_estimate(tmp_path):
    cluster = DaskCluster(tmp_path / "dask", env=ENV)
    server = None
    try:
        cluster.start_scheduler()  # no worker yet
        server = _dashboard(tmp_path, cluster)
        deadline = time.monotonic() + 60
        while (shown := panel(server))["state"] != "connected":  # the scheduler up, with no worker
            assert time.monotonic() < deadline, shown
            time.sleep(0.5)
        assert shown["worker_count"] == 0  # then nobody looks: the monitor stops reading
        from visualization_apps.cluster_monitor import REFRESH_SECONDS, WATCHED_SECONDS

        time.sleep(WATCHED_SECONDS + 2 * REFRESH_SECONDS)
        cluster.start_worker()
        cluster.start_worker()
        cluster.wait_for_workers(2)
        estimate = server.post("/api/runs/estimate", json=fault_config()).json()
        assert (estimate["mode"], estimate["workers"]) == ("dask", 2), estimate
        assert "note" not in estimate, estimate
    finally:
        if server is not None:
            server.stop()
        cluster.stop()
