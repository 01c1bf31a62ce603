"""One server per data folder: a second server (embedded or gunicorn) on a folder
another one serves exits at once, naming the folder and the holder's pid, and
leaves the first server's running and queued runs as they are."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import ROOT
from tests.server import Server, free_port
from tests.test_api import PLUGIN_ENV, run_config

pytestmark = pytest.mark.slow  # real server processes and a real run


@pytest.fixture
def busy(tmp_path):
    """A server with a running run and a queued one (``--max-running`` 1)."""
    server = Server(tmp_path / "data", env=PLUGIN_ENV).start()
    running = server.post("/api/runs", json=run_config(generations=200, slow=True)).json()["id"]
    server.wait_for(running, ("running",))
    queued = server.post("/api/runs", json=run_config(generations=2)).json()["id"]
    assert server.get(f"/api/runs/{queued}").json()["state"] == "queued"
    yield server, running, queued
    server.stop()


@pytest.mark.parametrize("kind", ["embedded", "gunicorn"])
def test_a_second_server_on_a_held_folder_exits_and_changes_nothing(busy, kind):
    first, running, queued = busy
    second = Server(first.data_dir, env=PLUGIN_ENV, kind=kind)
    done = subprocess.run(second.command(), cwd=ROOT, env=second.env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    output = done.stdout + done.stderr
    assert str(first.data_dir.resolve()) in output and f"pid {first.process.pid}" in output, output
    if kind == "embedded":
        assert done.returncode == 2, output
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert lines == [f"strategy-optimizer-dashboard: the data folder {first.data_dir.resolve()} is in use by "
                         f"another dashboard server (pid {first.process.pid}): stop it, or give this one another "
                         "--data-dir"], output  # fmt: skip
        assert "Traceback" not in output
    else:
        assert done.returncode != 0, output
    time.sleep(1)
    assert first.get(f"/api/runs/{running}").json()["state"] == "running"
    assert first.get(f"/api/runs/{queued}").json()["state"] == "queued"
    assert "marked interrupted" not in first.log.read_text()


def test_the_folder_is_free_again_once_its_server_ended(tmp_path):
    first = Server(tmp_path / "data").start()
    first.kill_alone()  # SIGKILL: the kernel releases the lock
    second = Server(tmp_path / "data", port=free_port()).start()
    try:
        assert second.get("/api/health").ok
    finally:
        second.stop()
