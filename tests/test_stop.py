"""``stopped`` means stopped: POST /stop in every phase of a run (queued, starting,
first generation, mid-run, last generation) is accepted (202) and the run ends
``stopped``, every time (20 trials through a real server, run processes and
workers); a resume then completes the run."""

from __future__ import annotations

import random
import time

import pytest

from tests.server import Server, module_server
from tests.test_api import PLUGIN_ENV, run_config

pytestmark = pytest.mark.slow  # twenty real runs

GENERATIONS = 5
PHASES = ("queued", "starting", "first generation", "mid-run", "last generation")
TRIALS = 20


def stop_config() -> dict:
    doc = run_config(generations=GENERATIONS, population=16, slow=True)
    doc["workers"] = 2  # a real pool: "starting" includes the workers' start
    return doc


server = module_server("stop", env={**PLUGIN_ENV, "FAULTY_SLEEP": "0.03"})


def wait_until(server: Server, run_id: int, ready, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while not ready(status := server.get(f"/api/runs/{run_id}").json()):
        assert status["state"] in ("queued", "running"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.01)
    return status


def reach(server: Server, run_id: int, phase: str, rng: random.Random) -> None:
    """Wait until the run is in ``phase`` (a random moment inside it)."""
    if phase == "starting":  # its process is importing, loading the data, spawning workers
        wait_until(server, run_id, lambda s: s["state"] == "running")
        time.sleep(rng.uniform(0, 0.5))
    elif phase == "first generation":
        wait_until(server, run_id, lambda s: s["state"] == "running")
        time.sleep(rng.uniform(1.0, 2.5))  # its workers ready, its first generation under way
    elif phase == "mid-run":
        wait_until(server, run_id, lambda s: s["generation"] >= 2)
        time.sleep(rng.uniform(0, 0.3))
    elif phase == "last generation":
        wait_until(server, run_id, lambda s: s["generation"] == GENERATIONS - 1)
        time.sleep(rng.uniform(0, 0.1))


def test_a_stop_in_any_phase_ends_stopped_every_time(server):
    rng = random.Random(13)
    outcomes: list[tuple[str, str, int]] = []
    for trial in range(TRIALS):
        phase = PHASES[trial % len(PHASES)]
        blocker = None
        if phase == "queued":  # one run at a time: the second waits for the first
            blocker = server.post("/api/runs", json=stop_config()).json()["id"]
            wait_until(server, blocker, lambda s: s["state"] == "running")
        run_id = server.post("/api/runs", json=stop_config()).json()["id"]
        if phase == "queued":
            assert server.get(f"/api/runs/{run_id}").json()["state"] == "queued"
        else:
            reach(server, run_id, phase, rng)
        answer = server.post(f"/api/runs/{run_id}/stop")
        assert answer.status_code == 202, (phase, answer.text)
        assert answer.json()["state"] in ("stopping", "stopped"), (phase, answer.json())
        final = server.wait_for(run_id, ("stopped", "completed", "failed", "interrupted"), timeout=300)
        outcomes.append((phase, final["state"], final["generation"]))
        if blocker is not None:
            assert server.post(f"/api/runs/{blocker}/stop").status_code == 202
            outcomes.append(("mid-run", server.wait_for(blocker, ("stopped", "completed", "failed", "interrupted"),
                                                       timeout=300)["state"], -1))  # fmt: skip
    assert [state for _, state, _ in outcomes] == ["stopped"] * len(outcomes), outcomes
    last = [generation for phase, _, generation in outcomes if phase == "last generation"]
    assert last == [GENERATIONS] * len(last)  # stopped after its last generation: all of it stored
    # A run stopped at its last generation completes on resume without evaluating again.
    assert phase == "last generation"
    assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
    assert server.wait_for(run_id, ("completed", "failed", "interrupted"), timeout=300)["state"] == "completed"


def test_a_stop_right_after_a_resume_ends_stopped(server):
    """Resumed the moment it reads ``stopped`` (its process still exiting), then
    stopped at once: the stop is accepted and the run stays stopped (an outside trial:
    409 "run is queued; it cannot be stopped", and the run then ran)."""
    doc = run_config(generations=40, population=16, slow=True)
    run_id = server.post("/api/runs", json=doc).json()["id"]
    for _ in range(3):
        wait_until(server, run_id, lambda s: s["state"] == "running" and s["generation"] >= 1)
        assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
        server.wait_for(run_id, ("stopped",), timeout=120)
        resumed = server.post(f"/api/runs/{run_id}/resume")
        assert resumed.status_code == 202, resumed.json()
        stopped = server.post(f"/api/runs/{run_id}/stop")
        assert stopped.status_code == 202, stopped.json()
        # stopped at once while still queued, or stopping if the supervisor had started
        # it already (its previous process gone): either way it ends stopped, never ran on
        assert stopped.json()["state"] in ("stopped", "stopping"), stopped.json()
        status = server.wait_for(run_id, ("stopped", "completed", "failed", "interrupted"), timeout=120)
        assert status["state"] == "stopped", status
        assert server.post(f"/api/runs/{run_id}/resume").status_code == 202  # and it goes on from there
