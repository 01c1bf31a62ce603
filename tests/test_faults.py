"""Faults through real processes: the server terminated or killed mid-run, a run
deleted while its workers start, and a second process on one run (the run lock).

Each test serves the dashboard in a subprocess (`tests.server`), runs real run
processes with real worker pools, finds them as the server's descendants
(psutil), and reads the SQLite file itself to see that nothing is written after.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import psutil
import pytest

from tests.server import SERVERS, Server
from tests.test_api import PLUGIN_ENV, run_config
from tests.test_security import ServerWith
from visualization_apps import run_lock

pytestmark = pytest.mark.slow  # real servers, run processes and workers

ENV = {**PLUGIN_ENV, "FAULTY_SLEEP": "0.02"}
GENERATIONS = 8
GONE_SECONDS = 10  # the bound: no process of the run alive after this
VOLATILE = ("seconds", "elapsed_seconds", "evals_per_second", "eta_seconds", "replay", "completed_at")


def fault_config() -> dict:
    """A run on a real two-worker pool, slow enough to act between generations."""
    doc = run_config(generations=GENERATIONS, slow=True)
    doc["workers"] = 2
    return doc


def strip(generations: list[dict]) -> list[dict]:
    return [{k: v for k, v in g.items() if k not in VOLATILE} for g in generations]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[list[dict], object]:
    """The uninterrupted run: its generations (without timings) and its elite."""
    server = Server(tmp_path_factory.mktemp("reference"), env=ENV).start()
    try:
        run_id = server.post("/api/runs", json=fault_config()).json()["id"]
        server.wait_for(run_id, ("completed",), timeout=300)
        return strip(server.get(f"/api/runs/{run_id}/generations").json()), server.get(f"/api/runs/{run_id}/elite").json()
    finally:
        server.stop()


def snapshot(data_dir: Path, run_id: int) -> tuple:
    """What the database holds of a run: its row and its generations' summaries."""
    db = sqlite3.connect(data_dir / "dashboard.sqlite", timeout=30)
    try:
        row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        generations = db.execute("SELECT generation, summary FROM generations WHERE run_id = ? ORDER BY generation",
                                 (run_id,)).fetchall()  # fmt: skip
        individuals = db.execute("SELECT count(*), sum(length(stats)) FROM individuals WHERE run_id = ?",
                                 (run_id,)).fetchone()  # fmt: skip
    finally:
        db.close()
    return row, generations, individuals


def state_in_db(data_dir: Path, run_id: int) -> str:
    row = snapshot(data_dir, run_id)[0]
    return row[7]  # runs.state (the schema's eighth column)


def wait_generation(server: Server, run_id: int, at_least: int) -> dict:
    deadline = time.monotonic() + 300
    while (status := server.get(f"/api/runs/{run_id}").json())["generation"] < at_least:
        assert status["state"] in ("queued", "running"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    return status


def run_processes(server: Server) -> list[psutil.Process]:
    """The server's descendants that work on runs: run processes and their workers
    (and their helpers), not the server's own resource tracker."""
    own = {p.pid for p in server.descendants() if "resource_tracker" in " ".join(_cmdline(p))
           and p.ppid() == server.process.pid}  # fmt: skip
    found = [p for p in server.descendants() if p.pid not in own]
    return [p for p in found if _is_python(p)]


def run_leaders(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The run processes among ``processes``: each leads its own process group."""
    leaders = []
    for process in processes:
        try:
            if os.getpgid(process.pid) == process.pid:
                leaders.append(process)
        except ProcessLookupError:
            pass
    return leaders


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


def _is_python(process: psutil.Process) -> bool:
    return any("python" in part for part in _cmdline(process)[:1])


def assert_all_gone(processes: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(processes, timeout=GONE_SECONDS)
    assert not alive, [(p.pid, _cmdline(p)) for p in alive]


def resume_to_the_reference(server: Server, run_id: int, reference: tuple[list[dict], object]) -> None:
    """One resume completes the run to the uninterrupted result; a second answers 409."""
    first = server.post(f"/api/runs/{run_id}/resume")
    assert first.status_code == 202, first.text
    second = server.post(f"/api/runs/{run_id}/resume")
    assert second.status_code == 409, second.text
    server.wait_for(run_id, ("completed",), timeout=300)
    generations = server.get(f"/api/runs/{run_id}/generations").json()
    assert [g["generation"] for g in generations] == list(range(1, GENERATIONS + 1))
    assert strip(generations) == reference[0]
    assert server.get(f"/api/runs/{run_id}/elite").json() == reference[1]


@pytest.mark.parametrize("kind", SERVERS)
def test_sigterm_ends_runs_after_their_generation_and_one_resume_completes_them(tmp_path, kind, reference):
    server = Server(tmp_path, env=ENV, kind=kind).start()
    run_id = server.post("/api/runs", json=fault_config()).json()["id"]
    wait_generation(server, run_id, 2)
    processes = run_processes(server)
    assert len(run_leaders(processes)) == 1 and len(processes) >= 3, processes  # the run process and its workers
    server.terminate()
    assert_all_gone(processes)
    row, generations, individuals = snapshot(tmp_path, run_id)
    assert state_in_db(tmp_path, run_id) == "interrupted"
    assert generations[-1][0] >= 2 and [g for g, _ in generations] == list(range(1, len(generations) + 1))
    time.sleep(1)
    assert snapshot(tmp_path, run_id) == (row, generations, individuals)  # nothing written after
    server = Server(tmp_path, port=server.port, env=ENV, kind=kind).start()
    try:
        assert server.get(f"/api/runs/{run_id}").json()["state"] == "interrupted"
        resume_to_the_reference(server, run_id, reference)
    finally:
        server.stop()


@pytest.mark.parametrize("kind", SERVERS)
def test_a_killed_server_leaves_no_run_process_and_one_resume_completes_the_run(tmp_path, kind, reference):
    server = Server(tmp_path, env=ENV, kind=kind).start()
    run_id = server.post("/api/runs", json=fault_config()).json()["id"]
    wait_generation(server, run_id, 2)
    processes = run_processes(server)
    assert len(run_leaders(processes)) == 1 and len(processes) >= 3, processes
    server.kill_alone()  # SIGKILL: no handler runs; the run processes must notice
    assert_all_gone(processes)
    before = snapshot(tmp_path, run_id)
    time.sleep(1)
    assert snapshot(tmp_path, run_id) == before  # nothing written after
    server = Server(tmp_path, port=server.port, env=ENV, kind=kind).start()
    try:
        assert server.get(f"/api/runs/{run_id}").json()["state"] == "interrupted"
        resume_to_the_reference(server, run_id, reference)
    finally:
        server.stop()


def test_a_second_process_on_one_run_is_impossible(tmp_path, reference):
    """Another process holding a run's lock (as a run process of an earlier server
    still winding down does): resume answers 409, and a run process started on a
    locked run exits without writing a thing."""
    server = Server(tmp_path, env=ENV).start()
    try:
        run_id = server.post("/api/runs", json=fault_config()).json()["id"]
        wait_generation(server, run_id, 2)
        assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
        server.wait_for(run_id, ("stopped",), timeout=300)
        held = run_lock.acquire(tmp_path / "runs" / str(run_id))  # the other process: this one
        assert held is not None
        try:
            refused = server.post(f"/api/runs/{run_id}/resume")
            assert refused.status_code == 409 and str(os.getpid()) in refused.json()["error"], refused.text
            assert server.get(f"/api/runs/{run_id}").json()["state"] == "stopped"
            # The run process's own check: a new run whose folder is locked already.
            other = tmp_path / "runs" / str(run_id + 1)
            other.mkdir(parents=True)
            held_other = run_lock.acquire(other)
            try:
                new_id = server.post("/api/runs", json=fault_config()).json()["id"]
                assert new_id == run_id + 1
                status = server.wait_for(new_id, ("interrupted",), timeout=120)
                assert "lock" in status["error"] and status["generation"] == 0, status
                assert snapshot(tmp_path, new_id)[1:] == ([], (0, None))  # no generation, no individual
            finally:
                os.close(held_other)
        finally:
            os.close(held)
        resume_to_the_reference(server, run_id, reference)  # the lock released: it goes on
    finally:
        server.stop()


def test_a_run_deleted_while_its_workers_start_leaves_no_worker(tmp_path):
    server = ServerWith(tmp_path, "--max-workers", "6", env=ENV).start()  # more workers than cores, on purpose
    try:
        doc = run_config(generations=50, slow=True)
        doc["workers"] = 6
        run_id = server.post("/api/runs", json=doc).json()["id"]
        server.wait_for(run_id, ("running",))
        deadline = time.monotonic() + 120
        while not any(leader.children() for leader in run_leaders(run_processes(server))):
            assert time.monotonic() < deadline, run_processes(server)
            time.sleep(0.05)  # the run process has begun to spawn its workers
        time.sleep(0.5)
        processes = run_processes(server)
        assert server.delete(f"/api/runs/{run_id}").status_code == 204
        assert_all_gone(processes)
        assert run_processes(server) == []  # nor any started after the look above
        assert server.get(f"/api/runs/{run_id}").status_code == 404
        assert not (tmp_path / "runs" / str(run_id)).exists()
    finally:
        server.stop()
