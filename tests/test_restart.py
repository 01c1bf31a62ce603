"""A restart of the dashboard keeps its queue: the runs a stopped server was
running are interrupted (resumable), the ones still waiting stay queued and the
next server starts them by itself (found by an outsider's trial: they all ended
``interrupted``, each to be resumed by hand)."""

from __future__ import annotations

import pytest

from tests.server import Server
from tests.test_api import run_config
from tests.test_faults import ENV, fault_config, state_in_db, wait_generation

pytestmark = pytest.mark.slow  # real servers and runs


def test_queued_runs_stay_queued_across_a_restart_and_start_by_themselves(tmp_path):
    server = Server(tmp_path, env=ENV).start()  # one run at a time: the second waits
    running = server.post("/api/runs", json=fault_config()).json()["id"]
    waiting = server.post("/api/runs", json=run_config(generations=2)).json()["id"]
    wait_generation(server, running, 1)
    assert server.get(f"/api/runs/{waiting}").json()["state"] == "queued"
    server.terminate()
    assert (state_in_db(tmp_path, running), state_in_db(tmp_path, waiting)) == ("interrupted", "queued")
    server = Server(tmp_path, port=server.port, env=ENV).start()
    try:
        assert server.wait_for(waiting, ("completed", "failed", "interrupted"))["state"] == "completed"
        status = server.get(f"/api/runs/{running}").json()
        assert status["state"] == "interrupted" and "resume" in status["error"], status
    finally:
        server.stop()
