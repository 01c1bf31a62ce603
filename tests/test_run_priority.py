"""The CPU priority of a run's workers (`visualization_apps.run_priority`): real
processes, their scheduling policy read back from the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server import Server
from tests.test_api import PLUGIN_ENV, run_config
from tests.test_faults import run_leaders, run_processes, wait_generation
from visualization_apps import run_priority
from visualization_apps.run_priority import (
    PRIORITY_ENV,
    RUN_NICENESS,
    WorkerPriority,
    chosen_priority,
    lower,
)

linux = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")

AUTOGROUPS = os.path.exists("/proc/self/autogroup")
THREADED = "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); print('up', flush=True); time.sleep(60)"


def policies(pid: int) -> set[int]:
    """The scheduling policy of every thread of process ``pid``."""
    return {os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.fixture
def threaded():
    """A real process with two threads, at normal priority."""
    process = subprocess.Popen([sys.executable, "-c", THREADED], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "up\n"
    yield process
    process.kill()
    process.wait()
    process.stdout.close()


@linux
def test_idle_puts_every_thread_of_a_worker_at_idle_priority_once(threaded):
    assert policies(threaded.pid) == {os.SCHED_OTHER}
    assert len(os.listdir(f"/proc/{threaded.pid}/task")) == 2
    priority = WorkerPriority("idle")
    priority.update([threaded.pid])
    assert policies(threaded.pid) == {os.SCHED_IDLE}
    os.sched_setscheduler(threaded.pid, os.SCHED_OTHER, os.sched_param(0))  # not ours to undo: not touched again
    priority.update([threaded.pid])
    assert os.sched_getscheduler(threaded.pid) == os.SCHED_OTHER


@linux
def test_low_leaves_the_workers_as_they_are(threaded):
    WorkerPriority("low").update([threaded.pid])
    assert policies(threaded.pid) == {os.SCHED_OTHER}


def test_a_process_gone_is_no_error():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert lower(process.pid) is False


def test_the_priority_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(PRIORITY_ENV, raising=False)
    assert chosen_priority() == "idle"
    monkeypatch.setenv(PRIORITY_ENV, "LOW")
    assert chosen_priority() == "low"
    monkeypatch.setenv(PRIORITY_ENV, "realtime")
    assert chosen_priority() == "idle"  # unknown: the default, with a warning


def autogroup(pid: int) -> str:
    """Process ``pid``'s autogroup: ``/autogroup-N nice K``."""
    return Path(f"/proc/{pid}/autogroup").read_text()


def run_and_workers(server: Server) -> tuple[int, list[int]]:
    """The run process of the server's one run and its workers' process ids."""
    processes = run_processes(server)
    leaders = run_leaders(processes)
    assert len(leaders) == 1, processes
    workers = [p.pid for p in leaders[0].children() if "resource_tracker" not in " ".join(p.cmdline())]
    return leaders[0].pid, workers


@linux
@pytest.mark.slow
@pytest.mark.parametrize("choice", ["idle", "low", None])
def test_a_runs_workers_run_at_the_priority_asked_and_the_run_process_below_the_server(tmp_path, choice):
    env = {**PLUGIN_ENV, "FAULTY_SLEEP": "0.02"}
    if choice is not None:
        env[PRIORITY_ENV] = choice
    server = Server(tmp_path, env=env).start()
    try:
        doc = run_config(generations=200, slow=True)
        doc["workers"] = 2
        run_id = server.post("/api/runs", json=doc).json()["id"]
        wait_generation(server, run_id, 1)
        time.sleep(0.2)
        run_pid, workers = run_and_workers(server)
        assert len(workers) == 2, workers
        assert os.sched_getscheduler(run_pid) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, run_pid) == RUN_NICENESS
        assert os.getpgid(run_pid) == run_pid  # its workers' group, killed as one
        server_session = os.getsid(server.process.pid)
        assert (os.getsid(run_pid) == run_pid) == (choice != "low")  # idle: a session of its own
        assert all(os.getsid(pid) == os.getsid(run_pid) for pid in workers)
        if choice != "low" and AUTOGROUPS:  # a scheduling group of its own, at the default weight
            assert autogroup(run_pid) != autogroup(server.process.pid)
            assert autogroup(run_pid).split()[-1] == "0"
        if choice == "low":
            assert os.getsid(run_pid) == server_session
        expected = os.SCHED_OTHER if choice == "low" else os.SCHED_IDLE
        for pid in workers:
            assert policies(pid) == {expected}, (pid, choice)
        assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
        assert server.wait_for(run_id, ("stopped", "completed"), timeout=120)["state"] in ("stopped", "completed")
    finally:
        server.stop()


DETACH = (
    "import importlib.util, json, os, sys; from pathlib import Path; "
    "spec = importlib.util.spec_from_file_location('run_priority', sys.argv[2]); "  # not the package: no Flask to import
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
    "module.detach(sys.argv[1]); group = Path('/proc/self/autogroup'); "
    "print(json.dumps([os.getsid(0), os.getpgid(0), os.getpid(), os.nice(0), "
    "group.read_text() if group.exists() else None]))"
)


@pytest.mark.parametrize("choice", ["idle", "low"])
def test_detach_makes_a_group_leader_below_the_server(choice):
    done = subprocess.run([sys.executable, "-c", DETACH, choice, run_priority.__file__], capture_output=True, text=True, check=True)
    session, group, pid, niceness, autogroup_line = json.loads(done.stdout)
    assert group == pid and niceness == RUN_NICENESS
    assert (session == pid) == (choice == "idle")
    if autogroup_line is not None:  # idle: a scheduling group of its own; low: the server's (this test's)
        assert (autogroup_line == autogroup(os.getpid())) == (choice == "low")
