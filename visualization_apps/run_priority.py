"""The CPU priority of a run: a batch computation that gives a core back at once
to anything interactive (the dashboard's server first).

A run's workers keep every core busy for hours; the server, a trader's charts and
broker terminal, an editor must still answer at once. Two things stood in the way:

* Linux's autogroups (``/proc/sys/kernel/sched_autogroup_enabled``, on in most
  desktop and server distributions) share the CPU fairly between *sessions*
  first, and apply niceness only within one. A run process started by the server
  was in the server's session: its workers' niceness 10 ranked them below the
  server only inside the group they shared, and that group had always used its
  share (the workers are always runnable) when a server thread woke for a
  request, which then waited behind other sessions' tasks. So a run process
  starts a session of its own (`detach`; it also leads the process group its
  workers join): the server's group is charged for the server's work alone. The
  run's session keeps the default weight: against other programs a run takes a
  session's fair share, as before (with its autogroup at niceness 19, a run on
  a machine busy with other sessions' work made 15 generations in the time the
  same run at the default made 606).
* Inside one group (the run's, or everything where there are no autogroups), at
  niceness 10 a worker keeps its core until its time slice ends when a normal
  task wakes (the run process, to collect results; the server, to answer). The
  workers run at ``SCHED_IDLE`` (`WorkerPriority`): preempted as soon as a normal
  task of their group wakes, and given every cycle nothing else wants. The run
  process stays a normal task at niceness 10: it holds the database's write lock
  briefly per generation, and at idle priority it could be starved while the
  server waits on that lock.

Neither slows a run on an otherwise idle machine: priorities only decide who
waits when tasks want more cores than there are. ``DASHBOARD_RUN_PRIORITY``
(``--run-priority``) chooses: ``idle`` (the default, above) or ``low`` (the
previous behaviour: the run in the server's session at niceness 10).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

log = logging.getLogger(__name__)
PRIORITY_ENV = "DASHBOARD_RUN_PRIORITY"
PRIORITIES = ("idle", "low")
DEFAULT_PRIORITY = "idle"
RUN_NICENESS = 10
"""The run process's own niceness (and, with ``low``, its workers')."""
IDLE_NICENESS = 19
"""The workers' niceness where ``SCHED_IDLE`` is missing."""


def chosen_priority() -> str:
    """The priority ``DASHBOARD_RUN_PRIORITY`` asks for (one of `PRIORITIES`); an
    unknown value is logged and the default used."""
    value = os.environ.get(PRIORITY_ENV, DEFAULT_PRIORITY).strip().lower() or DEFAULT_PRIORITY
    if value not in PRIORITIES:
        log.warning("%s=%r is not one of %s; using %s", PRIORITY_ENV, value, ", ".join(PRIORITIES), DEFAULT_PRIORITY)
        return DEFAULT_PRIORITY
    return value


def detach(priority: str | None = None) -> None:
    """Make this process (a run process, before any worker starts) the leader of a
    process group its workers join, below the server's priority: with ``idle``
    (`chosen_priority` when None) in a session of its own (with autogroups, a
    scheduling group of its own); then niceness `RUN_NICENESS`, which the workers
    inherit."""
    if (priority or chosen_priority()) == "idle":
        os.setsid()  # a new session: a new process group too (pgid = pid), and a new autogroup
    else:
        os.setpgrp()
    os.nice(RUN_NICENESS)


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
    """Lowers each new worker of a run once (`lower`) with ``idle`` (nothing with
    ``low``): call `update` with the executor's current worker ids after its start
    and after each generation (a worker that died is replaced by a new one)."""

    def __init__(self, priority: str | None = None) -> None:
        self.priority = priority or chosen_priority()
        self._done: set[int] = set()

    def update(self, pids: Iterable[int]) -> None:
        """Lower the workers among ``pids`` not lowered yet."""
        if self.priority != "idle":
            return
        for pid in pids:
            if pid not in self._done:
                lower(pid)
                self._done.add(pid)
