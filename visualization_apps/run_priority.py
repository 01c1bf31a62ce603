"""The CPU priority of a run's worker processes: a batch computation that yields
every core at once to anything interactive.

A run's workers keep every core busy for hours; the server, a trader's charts
and broker terminal, an editor, must still answer at once. At niceness 10 (the
run process's own priority) a worker only gets a tenth of a normal task's share,
but a normal task that wakes (a status request arriving at the server) still
waits for the worker's time slice to end before it gets the core, and each
request wakes a few threads. With ``SCHED_IDLE`` (Linux), the scheduler preempts
a worker as soon as any normal task wakes, and gives the workers every cycle
nothing else wants: on an otherwise idle machine a run is as fast as before; on
a busy one it waits for the cores to be free. The run process itself (it
collects the workers' results, writes each generation to SQLite and tells the
server) stays a normal task at niceness 10: it holds the database's write lock
briefly per generation, and at idle priority a busy machine could starve it
while the server waits on that lock.

``DASHBOARD_RUN_PRIORITY`` (``--run-priority``) chooses: ``idle`` (default; where
``SCHED_IDLE`` is missing, niceness 19) or ``low`` (the workers stay at the run
process's niceness 10: they take their share of a machine busy with other work).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

log = logging.getLogger(__name__)
PRIORITY_ENV = "DASHBOARD_RUN_PRIORITY"
PRIORITIES = ("idle", "low")
DEFAULT_PRIORITY = "idle"
IDLE_NICENESS = 19
"""Where ``SCHED_IDLE`` is not available: the lowest priority of the normal class."""


def chosen_priority() -> str:
    """The priority ``DASHBOARD_RUN_PRIORITY`` asks for (one of `PRIORITIES`); an
    unknown value is logged and the default used."""
    value = os.environ.get(PRIORITY_ENV, DEFAULT_PRIORITY).strip().lower() or DEFAULT_PRIORITY
    if value not in PRIORITIES:
        log.warning("%s=%r is not one of %s; using %s", PRIORITY_ENV, value, ", ".join(PRIORITIES), DEFAULT_PRIORITY)
        return DEFAULT_PRIORITY
    return value


def _threads(pid: int) -> list[int]:
    """The thread ids of process ``pid`` (Linux's ``/proc``), or the process alone."""
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except (OSError, ValueError):
        return [pid]


def lower(pid: int) -> bool:
    """Put every thread of process ``pid`` at idle priority (threads and children
    it starts later inherit it): ``SCHED_IDLE``, else niceness 19. False if it is
    gone or may not be changed."""
    try:
        if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
            for tid in _threads(pid):  # a policy is a thread's, not its process's
                os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        else:  # pragma: no cover - not Linux
            os.setpriority(os.PRIO_PROCESS, pid, IDLE_NICENESS)
    except OSError as exc:  # gone (ProcessLookupError), not ours (PermissionError)
        log.debug("could not lower the priority of process %s: %s", pid, exc)
        return False
    return True


class WorkerPriority:
    """Lowers each new worker of a run once (`lower`), as `PRIORITIES` says: call
    `update` with the executor's current worker ids after its start and after each
    generation (a worker that died is replaced by a new one)."""

    def __init__(self, priority: str | None = None) -> None:
        self.priority = priority or chosen_priority()
        self._done: set[int] = set()

    def update(self, pids: Iterable[int]) -> None:
        """Lower the workers among ``pids`` not lowered yet (nothing for ``low``)."""
        if self.priority != "idle":
            return
        for pid in pids:
            if pid not in self._done:
                lower(pid)
                self._done.add(pid)
