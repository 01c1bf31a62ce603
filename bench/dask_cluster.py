"""A Dask cluster of separate processes on this machine, for the benchmarks:
``dask scheduler`` and one ``dask worker --nworkers N --nthreads 1``, on loopback
and free ports, started with Dask's own command lines and killed by the pids
recorded here (never by name: other clusters may run on the same machine)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psutil

from bench.common import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalDaskProcesses:
    """A scheduler and ``workers`` single-threaded worker processes; a context manager
    whose ``address`` is the scheduler's."""

    def __init__(self, workers: int) -> None:
        dask = shutil.which("dask")
        if dask is None:
            raise SystemExit("the dask command line is not installed (pip install 'dask[distributed]')")
        self.workers = workers
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self._folder = tempfile.TemporaryDirectory(prefix="bench-dask-")
        folder = Path(self._folder.name)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log = (folder / "dask.log").open("w")
        port = self.address.rsplit(":", 1)[1]
        commands = [
            [dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--dashboard-address", ":0"],
            [dask, "worker", self.address, "--nworkers", str(workers), "--nthreads", "1", "--host", "127.0.0.1",
             "--no-dashboard", "--local-directory", str(folder)],
        ]  # fmt: skip
        self._processes = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for command in commands
        ]
        log.close()

    def __enter__(self) -> LocalDaskProcesses:
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self._processes:
            children = []
            with contextlib.suppress(psutil.NoSuchProcess):
                children = psutil.Process(process.pid).children(recursive=True)
            process.kill()
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            process.wait(timeout=30)
            psutil.wait_procs(children, timeout=30)
        self._folder.cleanup()
