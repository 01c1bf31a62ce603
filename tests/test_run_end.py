"""How a run's end is recorded (real SQLite), the run lock (real flock), and how
storage faults are told (a real SQLITE_FULL, made with ``max_page_count``)."""

from __future__ import annotations

import errno
import os
import sqlite3

import pytest

from tests.test_api import run_config
from visualization_apps import run_lock
from visualization_apps.faults import is_disk_full, is_storage_fault, storage_fault
from visualization_apps.run_states import RunState
from visualization_apps.storage import Store


def _run_in(tmp_path, state: RunState) -> tuple[Store, int]:
    store = Store(tmp_path / "dashboard.sqlite")
    run_id = store.create_run(run_config(), "EURUSD-1h", {})
    with store.transaction() as db:  # the state as a fixture, directly
        db.execute("UPDATE runs SET state = ? WHERE id = ?", (state.value, run_id))
    return store, run_id


@pytest.mark.parametrize(
    ("state", "finished", "error", "ends"),
    [
        (RunState.RUNNING, True, None, RunState.COMPLETED),
        (RunState.RUNNING, False, None, RunState.INTERRUPTED),  # the server asked it to end
        (RunState.STOPPING, False, None, RunState.STOPPED),
        (RunState.STOPPING, True, None, RunState.STOPPED),  # a stop accepted in the last generation
        (RunState.RUNNING, False, "boom", RunState.FAILED),
        (RunState.STOPPING, True, "boom", RunState.FAILED),
    ],
)
def test_end_run_decides_from_the_recorded_state(tmp_path, state, finished, error, ends):
    store, run_id = _run_in(tmp_path, state)
    assert store.end_run(run_id, finished=finished, error=error) == ends
    record = store.run(run_id)
    assert record["state"] == ends
    assert bool(record["finished_at"]) == (ends in (RunState.COMPLETED, RunState.FAILED))  # resumable: unfinished
    assert (record["error"] == "boom") == (error is not None)


@pytest.mark.parametrize("state", [RunState.COMPLETED, RunState.INTERRUPTED, RunState.QUEUED, RunState.STOPPED])
def test_end_run_writes_nothing_for_a_run_no_process_works_on(tmp_path, state):
    store, run_id = _run_in(tmp_path, state)
    before = store.run(run_id)
    assert store.end_run(run_id, finished=True) is None
    assert store.settle(run_id, "gone") is False
    assert store.run(run_id) == before
    assert store.end_run(run_id + 1, finished=True) is None  # deleted


@pytest.mark.parametrize("state", [RunState.RUNNING, RunState.STOPPING])
def test_settle_records_a_vanished_process_as_interrupted(tmp_path, state):
    store, run_id = _run_in(tmp_path, state)
    assert store.settle(run_id, "run process exited with code -9") is True
    record = store.run(run_id)
    assert record["state"] == "interrupted" and record["error"] == "run process exited with code -9"


def test_the_run_lock_admits_one_holder(tmp_path):
    assert run_lock.holder(tmp_path) is None  # no lock file yet
    fd = run_lock.acquire(tmp_path)
    assert fd is not None
    try:
        assert run_lock.holder(tmp_path) == os.getpid()
        assert run_lock.acquire(tmp_path) is None  # a second open file cannot take it
    finally:
        os.close(fd)
    assert run_lock.holder(tmp_path) is None
    again = run_lock.acquire(tmp_path)
    assert again is not None
    os.close(again)


def test_a_real_full_database_is_told_as_507(tmp_path):
    db = sqlite3.connect(tmp_path / "small.sqlite")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute("PRAGMA max_page_count = 8")
    with pytest.raises(sqlite3.OperationalError) as full:
        for _ in range(100):
            db.execute("INSERT INTO t VALUES (?)", (b"\0" * 4096,))
    db.close()
    assert is_disk_full(full.value) and is_storage_fault(full.value)
    status, message = storage_fault(full.value)
    assert status == 507 and "full" in message
    assert storage_fault(OSError(errno.ENOSPC, "No space left on device"))[0] == 507
    locked = sqlite3.OperationalError("database is locked")
    assert not is_disk_full(locked) and is_storage_fault(locked) and storage_fault(locked)[0] == 503
    assert not is_storage_fault(sqlite3.OperationalError("no such table: nope"))
