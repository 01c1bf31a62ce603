"""A real Dask cluster for the tests: ``dask scheduler`` and ``dask worker``
processes started with their command lines, on loopback, on free ports.

Every process started is recorded (its pid) and killed at `DaskCluster.stop` by
that pid (with the worker processes each ``dask worker`` nanny started), never by
name: other people's Dask clusters run on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil

from tests.conftest import ROOT
from tests.server import free_port

DASK = shutil.which("dask")


class DaskCluster:
    """A scheduler on ``127.0.0.1:port`` and its workers, each a ``dask worker``
    (a nanny and its worker process), with ``env`` (the project importable through
    ``PYTHONPATH``, unless a worker is started ``with_project=False``)."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None, port: int | None = None) -> None:
        assert DASK, "the dask command line is not installed (pip install 'dask[distributed]')"
        self.port = port or free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.dashboard_port = free_port()
        self.log_dir = log_dir
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._started: list[subprocess.Popen] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
        handle = (self.log_dir / f"{name}.log").open("a")
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        handle.close()
        self._started.append(process)
        return process

    def start_scheduler(self) -> DaskCluster:
        self.scheduler = self._spawn(
            f"scheduler-{len(self._started)}",
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
             "--dashboard-address", f"127.0.0.1:{self.dashboard_port}"],
            self.env, ROOT,
        )  # fmt: skip
        return self

    def start_worker(self, *, with_project: bool = True) -> subprocess.Popen:
        env = dict(self.env)
        cwd = ROOT
        if not with_project:  # a machine where the project was never installed
            env.pop("PYTHONPATH", None)
            cwd = self.log_dir
        worker = self._spawn(
            f"worker-{len(self._started)}",
            [DASK, "worker", self.address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
             "--no-dashboard", "--local-directory", str(self.log_dir / "scratch")],
            env, cwd,
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def start(self, workers: int = 2) -> DaskCluster:
        """The scheduler and ``workers`` workers, once they have all joined."""
        self.start_scheduler()
        for _ in range(workers):
            self.start_worker()
        self.wait_for_workers(workers)
        return self

    def client(self, timeout: float = 30):
        from distributed import Client

        return Client(self.address, timeout=timeout, set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = 120) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=timeout)

    def processed(self, prefix: str = "evaluate_on_worker") -> int:
        """Tasks of ``prefix`` (a key prefix as Dask splits it: no leading underscore)
        that the scheduler has seen finish (reach memory), since it started."""
        with self.client() as client:
            return client.run_on_scheduler(
                lambda dask_scheduler: dask_scheduler.task_prefixes[prefix].state_counts["memory"]
                if prefix in dask_scheduler.task_prefixes else 0
            )  # fmt: skip

    def worker_processes(self, nanny: subprocess.Popen) -> list[psutil.Process]:
        """Every process a ``dask worker`` nanny started (its worker, multiprocessing's helpers)."""
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(nanny.pid).children(recursive=True)
        return []

    def worker_process(self, nanny: subprocess.Popen) -> psutil.Process:
        """The worker process a ``dask worker`` nanny runs (spawned by multiprocessing)."""
        (worker,) = [p for p in psutil.Process(nanny.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        return worker

    def kill_scheduler(self) -> None:
        assert self.scheduler is not None
        self.scheduler.send_signal(signal.SIGKILL)
        self.scheduler.wait(timeout=30)

    def wait_gone(self, process: subprocess.Popen, timeout: float = 60) -> None:
        """Until a process this cluster started has exited (a worker whose scheduler died)."""
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL a process started here (a ``dask worker`` nanny: with its worker
        processes), by its recorded pid, and wait until they are gone."""
        if process.poll() is None:
            children = self.worker_processes(process)
            process.kill()
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            process.wait(timeout=30)
            psutil.wait_procs(children, timeout=30)

    def stop(self) -> None:
        """SIGKILL every process started here (and the worker processes of each nanny)."""
        for process in self._started:
            self.kill(process)


def module_cluster(workers: int = 2):
    """A module-scoped pytest fixture: a `DaskCluster` of ``workers`` workers (each
    one process of one thread) in a fresh folder, stopped after the module."""
    import pytest

    @pytest.fixture(scope="module")
    def cluster(tmp_path_factory):
        running = DaskCluster(tmp_path_factory.mktemp("dask")).start(workers=workers)
        yield running
        running.stop()

    return cluster
