"""A real dashboard server in a subprocess, for the API, Socket.IO and browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = ("embedded", "gunicorn")
"""How the dashboard is served: ``python app.py`` (Werkzeug), or gunicorn's threaded
worker on the WSGI entry (the production deployment in the README)."""
GUNICORN_WORKER = "visualization_apps.gunicorn_worker.JsonErrorWorker"


def _gunicorn_has_control_socket() -> bool:
    import gunicorn.config

    return any(setting.name == "control_socket" for setting in gunicorn.config.KNOWN_SETTINGS)


class Server:
    """The dashboard on a free port and its own data folder, served by ``kind``
    (one of `SERVERS`)."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        kind: str = "embedded",
        log_dir: Path | None = None,
    ) -> None:
        assert kind in SERVERS, kind
        self.kind = kind
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.process: subprocess.Popen | None = None
        self.log = (log_dir or data_dir) / f"server-{self.port}.log"

    def start(self, timeout: float = 60) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("a")
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if requests.get(self.url + "/api/health", timeout=1).ok:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening, or not yet answering
                time.sleep(0.1)
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def command(self) -> list[str]:
        if self.kind == "embedded":
            return [sys.executable, "app.py", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        self.env["DASHBOARD_DATA_DIR"] = str(self.data_dir)
        command = [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "100", "-k", GUNICORN_WORKER,
                   "--bind", f"127.0.0.1:{self.port}"]  # fmt: skip
        if _gunicorn_has_control_socket():  # gunicorn >= 27: one per server, not the shared ~/.gunicorn one
            command += ["--control-socket", str(self.data_dir / f"gunicorn-{self.port}.ctl")]
        return [*command, "visualization_apps.wsgi:app"]

    def kill(self) -> None:
        """SIGKILL the server and everything it started (its process group, and the
        run processes' own groups), all at once."""
        if self.process is not None and self.process.poll() is None:
            others = self.descendants()
            os.killpg(self.process.pid, signal.SIGKILL)
            for process in others:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            self.process.wait(timeout=30)
            psutil.wait_procs(others, timeout=30)

    def kill_alone(self) -> None:
        """SIGKILL the server only (with gunicorn: its master and its worker, which
        holds the run manager): the run processes it started must notice by themselves."""
        assert self.process is not None
        server = [psutil.Process(self.process.pid)]
        if self.kind == "gunicorn":
            server += server[0].children()
        for process in server:
            process.kill()
        self.process.wait(timeout=30)
        psutil.wait_procs(server, timeout=30)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def descendants(self) -> list[psutil.Process]:
        """Every live process the server started, and theirs (run processes, workers)."""
        assert self.process is not None
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Ctrl-C, as a user stops it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, timeout=30, **kw)

    def patch(self, path: str, **kw) -> requests.Response:
        return requests.patch(self.url + path, timeout=30, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return requests.delete(self.url + path, timeout=30, **kw)

    def wait_for(self, run_id: int, states: tuple[str, ...], timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/api/runs/{run_id}").json()
            if status["state"] in states:
                return status
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} never reached {states}: {status}")


def module_server(name: str, env: dict[str, str] | None = None):
    """A module-scoped pytest fixture: a real dashboard server (`Server`) in a
    fresh folder named ``name``, with ``env``, stopped after the module."""
    import pytest

    @pytest.fixture(scope="module")
    def server(tmp_path_factory):
        running = Server(tmp_path_factory.mktemp(name), env=env).start()
        yield running
        running.stop()

    return server
