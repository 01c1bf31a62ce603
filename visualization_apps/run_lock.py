"""One process per run: an exclusive `fcntl.flock` on ``run.lock`` in the run's folder.

The run process takes the lock before it reads or writes anything and holds it
until it exits (the kernel releases it however the process ends, SIGKILL
included), so a second process on the same run and checkpoint folder cannot
start: it finds the lock taken and exits without writing. The server asks
`holder` before it resumes a run (a live holder: 409) and when it starts (runs a
previous server left behind may still be winding down).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_NAME = "run.lock"


def acquire(folder: str | Path) -> int | None:
    """Take the run's lock: the open descriptor that holds it (keep it open as long
    as the run goes on), or None if another process holds it. The holder's pid is
    written into the file (for messages; best effort on a full disk)."""
    fd = os.open(Path(folder) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def holder(folder: str | Path) -> int | None:
    """The pid of the process that holds the run's lock (0 if it could not say
    which), or None if nobody holds it."""
    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
