"""docs/DEPLOY.md's commands, run as written (the scheduler's host and ports
substituted for free ones on loopback): its scheduler and worker command lines
start a cluster, and its check says whether the scheduler and each worker import
the project. ``PYTHONPATH`` pointing at the source stands in for ``pip install .``;
a process without it is a machine where the project was never installed. Every
process is started in a session of its own and killed by its recorded pid."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.server import free_port

pytestmark = pytest.mark.slow  # real Dask processes

DEPLOY = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
CHECK = "cd / && python -c"
BLOCKS = re.findall(r"```sh\n(.*?)```", DEPLOY, flags=re.S)


def command(prefix: str) -> str:
    """The one command of DEPLOY.md's shell blocks that starts with ``prefix``: a
    line, or a whole block (the check: one ``python -c`` over several lines)."""
    commands = {c for b in BLOCKS for c in ([b.strip()] if b.startswith(CHECK) else b.strip().splitlines())}
    (found,) = {c for c in commands if c.startswith(prefix)}
    return found


class Doc:
    """DEPLOY.md's commands run on this machine: ``SCHEDULER-HOST`` is 127.0.0.1,
    8786 and 8787 are free ports."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port, self.dashboard = free_port(), free_port()
        self.started: list[subprocess.Popen] = []

    def text(self, doc_command: str) -> str:
        return (doc_command.replace("SCHEDULER-HOST", "127.0.0.1").replace("8786", str(self.port))
                .replace("8787", str(self.dashboard)))  # fmt: skip

    def env(self, with_project: bool) -> dict[str, str]:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        env.pop("PYTHONPATH", None)
        return {**env, "PYTHONPATH": str(ROOT)} if with_project else env

    def start(self, doc_command: str, *, with_project: bool) -> subprocess.Popen:
        log = (self.tmp / f"process-{len(self.started)}.log").open("a")
        process = subprocess.Popen(["bash", "-c", f"exec {self.text(doc_command)}"], cwd=self.tmp,
                                   env=self.env(with_project), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        log.close()
        self.started.append(process)
        return process

    def run(self, doc_command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", self.text(doc_command)], env=self.env(True), capture_output=True,
                              text=True, timeout=120)  # fmt: skip

    def workers(self) -> int:
        from distributed import Client

        with Client(f"tcp://127.0.0.1:{self.port}", timeout=60, set_as_default=False) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def wait_for_workers(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while (seen := self.workers()) < n:
            assert time.monotonic() < deadline, f"{seen} of {n} workers joined"
            time.sleep(0.5)

    def stop(self) -> None:
        for process in self.started:  # each its own session: its group is this test's processes only
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def doc(tmp_path):
    running = Doc(tmp_path)
    yield running
    running.stop()


@pytest.mark.parametrize("scheduler", ["dask scheduler", "python -m distributed.cli.dask_scheduler"])
def test_each_scheduler_line_starts_one_and_the_check_says_whether_it_imports_the_project(doc, scheduler):
    doc.start(command(scheduler), with_project=False)  # the project not installed there
    doc.wait_for_workers(0)
    checked = doc.run(command(CHECK))
    assert checked.returncode == 1 and "ModuleNotFoundError: No module named 'optimizer'" in checked.stderr, checked
    doc.stop()
    doc.started.clear()
    doc.start(command(scheduler), with_project=True)
    doc.wait_for_workers(0)
    checked = doc.run(command(CHECK))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "0 workers; each imports the project\n"


def test_the_worker_lines_join_and_the_check_names_each_worker_that_cannot_import(doc):
    cores = os.cpu_count() or 1
    doc.start(command("dask scheduler"), with_project=True)
    doc.wait_for_workers(0)
    doc.start(command("dask worker"), with_project=True)
    doc.wait_for_workers(cores)
    checked = doc.run(command(CHECK))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == f"{cores} workers; each imports the project\n"
    doc.start(command("python -m distributed.cli.dask_worker"), with_project=False)  # never installed there
    doc.wait_for_workers(2 * cores)
    checked = doc.run(command(CHECK))
    assert checked.returncode == 0, checked.stderr
    failing = re.findall(r"'(tcp://127\.0\.0\.1:\d+)': \"ModuleNotFoundError: No module named 'optimizer'\"",
                         checked.stdout)  # fmt: skip
    assert checked.stdout.startswith(f"{2 * cores} workers; {{") and len(failing) == cores, checked.stdout


def test_a_scheduler_without_the_project_refuses_a_run_in_one_line_naming_it(doc):
    from optimizer.config import parse_config
    from optimizer.data import load_candles
    from optimizer.evaluation.dask_cluster import DaskExecutor, WorkerCannotImport
    from optimizer.evaluation.worker import RunSpec
    from tests.conftest import EURUSD
    from tests.test_optimizer import _config

    doc.start(command("dask scheduler"), with_project=False)  # its task graphs would not unpickle
    doc.wait_for_workers(0)
    spec = RunSpec(parse_config(_config()).raw, None)
    with pytest.raises(WorkerCannotImport) as refused:
        DaskExecutor.connect(f"dask://127.0.0.1:{doc.port}", spec, load_candles(EURUSD))
    message = str(refused.value)
    assert f"the Dask scheduler at tcp://127.0.0.1:{doc.port} cannot import the optimizer" in message
    assert "No module named 'optimizer'" in message and "\n" not in message
