"""A submission's limits and estimate when runs evaluate on a real Dask cluster
(``dask scheduler`` and two ``dask worker`` processes, a dashboard with ``--dask``
and ``--max-workers 1``): the configuration's ``workers`` is not used there, so it
is neither refused against ``--max-workers`` nor against this machine's cores; the
estimate counts the cluster's workers as the monitor last read them, and says so
when it does not know them. The local behaviour: tests/test_limits.py."""

from __future__ import annotations

import os

import pytest

from tests.dask_processes import DaskCluster, module_cluster
from tests.test_api import run_config
from tests.test_dask_dashboard import panel
from tests.test_security import ServerWith

pytestmark = pytest.mark.slow  # a real Dask cluster and a real server


cluster = module_cluster(workers=2)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, cluster):
    server = ServerWith(tmp_path_factory.mktemp("dashboard"), "--dask", cluster.address, "--max-workers", "1",
                        "--max-evaluations", "5000").start()  # fmt: skip
    yield server
    server.stop()


def _config(workers: int) -> dict:
    doc = run_config(generations=2, population=8)
    doc["workers"] = workers
    return doc


@pytest.mark.parametrize("workers", [2, 4 * (os.cpu_count() or 1), 0])
def test_the_configs_workers_is_not_refused_on_a_cluster(dashboard, cluster, workers):
    assert panel(dashboard)["state"] == "connected"
    response = dashboard.post("/api/runs/estimate", json=_config(workers))
    assert response.status_code == 200, response.text
    estimate = response.json()
    assert (estimate["mode"], estimate["scheduler"]) == ("dask", cluster.address), estimate
    assert estimate["workers"] == 2 and "note" not in estimate, estimate  # the cluster's workers, not the config's
    assert estimate["evaluations"] == 16 and estimate["seconds"] > 0


def test_a_submission_on_a_cluster_is_accepted_with_the_clusters_estimate(dashboard):
    assert panel(dashboard)["state"] == "connected"
    created = dashboard.post("/api/runs", json=_config(8))
    assert created.status_code == 201, created.text
    assert created.json()["estimate"]["workers"] == 2
    status = dashboard.wait_for(created.json()["id"], ("completed", "failed", "interrupted"), timeout=300)
    assert status["state"] == "completed", status


def test_the_evaluation_budget_still_applies_on_a_cluster(dashboard):
    doc = run_config(generations=51, population=100)
    doc["workers"] = 8
    details = dashboard.post("/api/runs/estimate", json=doc).json()["details"]
    assert details == ["ga: population 100 x generations 51 = 5,100 evaluations is more than this server allows per run "
                       "(5,000; its administrator sets --max-evaluations)"]  # and nothing of its workers


def test_an_unknown_worker_count_is_said_and_estimated_for_one_worker(tmp_path):
    nowhere = DaskCluster(tmp_path / "dask")  # an address, nothing listening
    server = ServerWith(tmp_path / "dashboard", "--dask", nowhere.address, "--max-workers", "1").start()
    try:
        response = server.post("/api/runs/estimate", json=_config(8))
        assert response.status_code == 200, response.text
        estimate = response.json()
        assert (estimate["mode"], estimate["workers"]) == ("dask", 1), estimate
        assert estimate["note"].startswith(f"the worker count of the Dask cluster at {nowhere.address} is unknown ("), estimate
        assert panel(server)["state"] == "unreachable"
        estimate = server.post("/api/runs/estimate", json=_config(8)).json()
        assert "unreachable at " in estimate["note"] and estimate["note"].endswith("the time is for 1 worker"), estimate
    finally:
        server.stop()
