"""One run process as the run manager sees it: started, watched, ended, killed.

`RunProcess.spawn` starts `runner.run_main` in a fresh (spawned) process with a
stop event and a pipe it writes its messages on; the run process makes itself
the leader of a process group that its workers join, so `RunProcess.kill` ends
them all at once, even workers still starting.
"""

from __future__ import annotations

import contextlib
import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from visualization_apps import run_lock
from visualization_apps.runner import LOCKED_EXIT, UNRECORDED_EXIT, run_main


class RunProcess:
    """A run process, the event that asks it to stop, and the pipe it talks on."""

    def __init__(self, process: Any, stop: Any, pipe: Connection) -> None:
        self.process = process
        self.stop = stop
        self.pipe = pipe
        self.said_all = False  # its pipe is at its end (the process closed it)
        self.deleted = False

    @classmethod
    def spawn(
        cls, ctx: Any, db_path: str, run_id: int, data_path: str, folder: str, resume: bool, executor: str | None = None
    ) -> RunProcess:
        """Start the process of run ``run_id`` (``ctx``: a spawn context); ``executor``:
        where it evaluates (``dask://HOST:PORT``; None: its local pool)."""
        stop = ctx.Event()
        reader, writer = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=run_main,
            args=(db_path, run_id, data_path, folder, resume, stop, writer, os.getpid()),
            kwargs={"executor": executor},
            name=f"run-{run_id}",
            daemon=False,
        )
        try:
            process.start()
        except BaseException:
            reader.close()
            raise
        finally:
            writer.close()  # the run process holds its end: its exit closes the pipe
        return cls(process, stop, reader)

    def kill(self) -> None:
        """SIGKILL the run process and its workers (its process group; the process
        alone if it has not made its group yet, when it has no workers either)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.kill()


def exit_reason(run_id: int, code: int | None) -> str:
    """Why a run process that did not record its end ended (a run's ``error``)."""
    if code == LOCKED_EXIT:
        return f"another process holds run {run_id}'s lock (see {run_lock.LOCK_NAME} in its folder)"
    if code == UNRECORDED_EXIT:
        return "the run process could not record its end (storage failed); resume to go on"
    return f"run process exited with code {code}"
