"""One server per data folder: an exclusive `fcntl.flock` on ``server.lock`` in it.

The server takes it at start, before it reads or changes any run, and holds it
for its life (the kernel releases it however the process ends, SIGKILL
included; run processes are spawned, so they do not inherit it). A second server
on the same folder would take the first one's running and queued runs for a
previous server's leftovers and mark them ``interrupted``: it finds the lock
taken and stops with `DataDirInUse`, naming the folder and the holder's pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

LOCK_NAME = "server.lock"

_held: dict[Path, int] = {}  # folder -> the descriptor holding its lock, in this process
_guard = threading.Lock()


class DataDirInUse(RuntimeError):
    """Another process holds the data folder (``folder``; ``pid`` 0 if unknown)."""

    def __init__(self, folder: Path, pid: int) -> None:
        self.folder = folder
        self.pid = pid
        holder = f"pid {pid}" if pid else "another process"
        super().__init__(f"the data folder {folder} is in use by another dashboard server ({holder}): stop it, "
                         "or give this one another --data-dir")  # fmt: skip


def hold(folder: str | Path) -> Path:
    """Take the data folder's lock for the rest of this process's life (again in
    the same process: nothing to do). Returns the lock file's path; raises
    `DataDirInUse` if another process holds it."""
    folder = Path(folder).resolve()
    with _guard:
        if folder in _held:
            return folder / LOCK_NAME
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirInUse(folder, int(text) if text.isdigit() else 0) from None
        with contextlib.suppress(OSError):  # the pid is for messages only (best effort on a full disk)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[folder] = fd
        return folder / LOCK_NAME
