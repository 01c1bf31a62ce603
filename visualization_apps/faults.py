"""Storage faults: which errors are worth waiting out, and how they are told.

SQLite reports a full disk as ``sqlite3.OperationalError: database or disk is
full`` (``SQLITE_FULL``) and a failed write as ``disk I/O error``; file writes
(checkpoints, uploads) raise `OSError` with ``ENOSPC``. `storage_fault` turns them
into the status and message the API answers with (507 for a full disk, 503 for
a busy or failing database); `Backoff` paces the retries of whoever waits them out.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
import time
from pathlib import Path

FULL = ("database or disk is full", "disk is full")
BUSY = ("database is locked", "database is busy", "disk i/o error", "unable to open database")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the file-size limit) is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(text in str(exc).lower() for text in FULL)


def is_storage_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is a storage error that may go away (full, busy, I/O)."""
    if is_disk_full(exc):
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(text in str(exc).lower() for text in BUSY)


def storage_fault(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and the message for a storage error: 507 when the disk is
    full, 503 otherwise (the database is busy or cannot be written)."""
    if is_disk_full(exc):
        return 507, "the disk holding the dashboard's data is full: nothing was changed; free space and try again"
    return 503, "the dashboard's database cannot be written just now: nothing was changed; try again"


def describe(exc: BaseException) -> str:
    """A run's error text for a storage fault (``storage: ...``)."""
    what = "the disk is full" if is_disk_full(exc) else "the database failed"
    return f"storage: {what} ({type(exc).__name__}: {exc})"


MIN_FREE_BYTES = 16 * 2**20
"""Free space (bytes) a queued run waits for before it starts: a run started on a
full disk fails at its first checkpoint, and every run queued behind it with it
(an outside trial: fourteen queued runs failed within a minute)."""


def check_free_space(folder: Path, needed: int = MIN_FREE_BYTES) -> None:
    """Raise `OSError` (``ENOSPC``: a storage fault, waited out) when the file system
    of ``folder`` has less than ``needed`` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise OSError(errno.ENOSPC, f"the disk is full: {free:,} bytes free, a run needs {needed:,} to start "
                      "(a queued run waits for them)")  # fmt: skip


class Backoff:
    """Delays between retries (seconds): ``first``, doubling up to ``most``;
    `reset` after a success."""

    def __init__(self, first: float = 0.1, most: float = 5.0) -> None:
        self.first = first
        self.most = most
        self.next = first

    def step(self) -> float:
        """The next delay (seconds), without sleeping it; the one after is longer."""
        delay = self.next
        self.next = min(self.most, delay * 2)
        return delay

    def wait(self) -> float:
        """Sleep the next delay; returns it (seconds)."""
        delay = self.step()
        time.sleep(delay)
        return delay

    def reset(self) -> None:
        self.next = self.first
