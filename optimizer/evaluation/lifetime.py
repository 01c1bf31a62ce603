"""A process that ends with its parent: a watchdog thread polling ``os.getppid()``.

A process whose parent dies is re-parented (to init or a subreaper), so a parent
id that is no longer the one it started with means the parent is gone, however it
ended (SIGKILL included, which no handler sees). Run processes and pool workers
start one so that nothing keeps evaluating, or writing, for a parent that left.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
ORPHANED_EXIT = 75
"""The exit code of a process that ended because its parent had gone."""


def parent_alive(parent_pid: int) -> bool:
    """Whether this process's parent is still ``parent_pid`` (not re-parented)."""
    return os.getppid() == parent_pid


def _exit_now() -> None:
    os._exit(ORPHANED_EXIT)  # no cleanup, no flush: nothing more is written


def watch_parent(
    parent_pid: int, on_orphaned: Callable[[], None] = _exit_now, *, poll_seconds: float = POLL_SECONDS
) -> threading.Thread:
    """Start a daemon thread that calls ``on_orphaned`` (default: exit at once with
    `ORPHANED_EXIT`) within ``poll_seconds`` (seconds) of the parent ``parent_pid``
    going away. Returns the thread."""

    def watch() -> None:
        while parent_alive(parent_pid):
            time.sleep(poll_seconds)
        log.warning("process %s: parent %s is gone; exiting", os.getpid(), parent_pid)
        on_orphaned()
        _exit_now()

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread
