"""A run's life: the state table, the one write that checks it (real SQLite), and a
run manager that does nothing until started and then nothing while idle."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from tests.test_api import run_config
from visualization_apps import create_app
from visualization_apps.run_states import RESUMABLE, STOPPABLE, TRANSITIONS, RunState, TransitionError
from visualization_apps.storage import Store

PAIRS = [(old, new) for old in RunState for new in RunState]
_connects: list[str] = []
_counting = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if event == "sqlite3.connect" and _counting.is_set():
        _connects.append(threading.current_thread().name)


sys.addaudithook(_audit)


def _store_with_run(tmp_path, state: RunState) -> tuple[Store, int]:
    store = Store(tmp_path / "dashboard.sqlite")  # the file create_app opens
    run_id = store.create_run(run_config(), "EURUSD-1h", {})
    with store.transaction() as db:  # put the run in ``state`` directly, as a test fixture
        db.execute("UPDATE runs SET state = ? WHERE id = ?", (state.value, run_id))
    return store, run_id


def test_the_states_are_the_contract_strings():
    assert [s.value for s in RunState] == [
        "queued", "running", "stopping", "stopped", "completed", "failed", "interrupted"]  # fmt: skip
    assert STOPPABLE == (RunState.QUEUED, RunState.RUNNING)
    assert set(RESUMABLE) == {RunState.STOPPED, RunState.INTERRUPTED, RunState.FAILED}


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{o}-{n}" for o, n in PAIRS])
def test_set_state_writes_exactly_the_allowed_transitions(tmp_path, old, new):
    store, run_id = _store_with_run(tmp_path, old)
    if new in TRANSITIONS[old]:
        assert store.set_state(run_id, new, error="why") == old
        assert store.run(run_id)["state"] == new and store.run(run_id)["error"] == "why"
    else:
        with pytest.raises(TransitionError, match=f"run {run_id} is {old}; it cannot become {new}"):
            store.set_state(run_id, new, error="why")
        assert store.run(run_id)["state"] == old and store.run(run_id)["error"] is None  # nothing written


def test_unknown_states_and_runs_are_refused(tmp_path):
    store, run_id = _store_with_run(tmp_path, RunState.QUEUED)
    with pytest.raises(TransitionError, match="cannot become paused"):
        store.set_state(run_id, "paused")
    with pytest.raises(KeyError):
        store.set_state(run_id + 1, RunState.RUNNING)


@pytest.mark.slow  # a real run process
def test_the_app_factory_changes_nothing_until_the_manager_starts(tmp_path):
    store, left_running = _store_with_run(tmp_path, RunState.RUNNING)  # as a killed server leaves it
    threads = set(threading.enumerate())
    app = create_app({"DATA_DIR": str(tmp_path)})
    store = app.extensions["dashboard"].store
    manager = app.extensions["dashboard"].manager
    client = app.test_client()
    assert set(threading.enumerate()) <= threads  # none started (an earlier test's may have ended)
    assert store.run(left_running)["state"] == "running"
    run_id = client.post("/api/runs", json=run_config(generations=1, population=8)).get_json()["id"]
    time.sleep(0.5)
    assert store.run(run_id)["state"] == "queued"  # nobody started it
    try:
        manager.start()  # what a previous server was running becomes interrupted; the queued run starts
        assert store.run(left_running)["state"] == "interrupted"
        assert store.run(run_id)["state"] in ("queued", "running", "completed")
        deadline = time.monotonic() + 120
        while store.run(run_id)["state"] != "completed":
            assert time.monotonic() < deadline, store.run(run_id)
            time.sleep(0.1)
        time.sleep(0.5)  # the supervisor has seen the process end
        _counting.set()
        time.sleep(1.5)
        _counting.clear()
        assert _connects == []  # idle: the supervisor sleeps, no database reads
        assert client.post(f"/api/runs/{run_id}/stop").status_code == 409
        assert client.post(f"/api/runs/{left_running}/stop").status_code == 409
    finally:
        manager.close()
    assert all(t.name != "run-supervisor" for t in threading.enumerate())
