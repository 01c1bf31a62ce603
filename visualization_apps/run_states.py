"""A run's life: its states and the transitions between them, in one place.

The state strings are the contract's (``GET /api/runs/<id>`` ``state``). Every write
of a run's state goes through `Store.set_state`, which checks the transition here
inside the same transaction as the write; an illegal one raises `TransitionError`
(a bug, or a race the caller must answer, e.g. stopping a run that just completed).
The API, the OpenAPI document and the pages read the lists below.

The table `TRANSITIONS` is the whole of it: from each state, where a run may go.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class RunState(StrEnum):
    """The state of a run (the values are the contract's strings)."""

    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


S = RunState
TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    # A queued run starts, is stopped before it starts, cannot start (its dataset is
    # gone), or was left queued by a server that went away.
    S.QUEUED: frozenset({S.RUNNING, S.STOPPED, S.FAILED, S.INTERRUPTED}),
    # Interrupted: its process ended without finishing (the server shut down and
    # asked it to, or it was killed); resumable from the last checkpoint.
    S.RUNNING: frozenset({S.STOPPING, S.COMPLETED, S.FAILED, S.INTERRUPTED}),
    # Asked to stop: it stops after the current generation - also when that was the
    # last one (a stop that was accepted ends stopped; a resume then completes it).
    S.STOPPING: frozenset({S.STOPPED, S.FAILED, S.INTERRUPTED}),
    S.STOPPED: frozenset({S.QUEUED}),
    S.FAILED: frozenset({S.QUEUED}),
    S.INTERRUPTED: frozenset({S.QUEUED}),
    S.COMPLETED: frozenset(),
}

STOPPABLE: tuple[RunState, ...] = (S.QUEUED, S.RUNNING)
"""States a user can stop (``POST /api/runs/<id>/stop``)."""
RESUMABLE: tuple[RunState, ...] = tuple(s for s in RunState if S.QUEUED in TRANSITIONS[s])
"""States a user can resume from the checkpoint (``POST /api/runs/<id>/resume``)."""
FINAL: tuple[RunState, ...] = (S.STOPPED, S.COMPLETED, S.FAILED, S.INTERRUPTED)
"""States in which no process works on the run (nothing changes until a user acts)."""
UNFINISHED: tuple[RunState, ...] = (S.QUEUED, S.RUNNING, S.STOPPING)
"""States a server that went away leaves behind: they become ``interrupted``."""


class TransitionError(Exception):
    """A state change the run's life does not allow."""

    def __init__(self, run_id: int, old: str, new: str) -> None:
        super().__init__(f"run {run_id} is {old}; it cannot become {new}")
        self.run_id = run_id
        self.old = old
        self.new = new


def check_transition(run_id: int, old: str, new: str) -> RunState:
    """``new`` as a `RunState` if a run in state ``old`` may go there, else `TransitionError`."""
    try:
        target = RunState(new)
    except ValueError:
        raise TransitionError(run_id, old, new) from None
    if target not in TRANSITIONS[RunState(old)]:
        raise TransitionError(run_id, old, new)
    return target


def describe() -> dict[str, Any]:
    """The states and their groups as JSON (for the pages and the API)."""
    return {
        "states": [s.value for s in RunState],
        "stoppable": [s.value for s in STOPPABLE],
        "resumable": [s.value for s in RESUMABLE],
        "final": [s.value for s in FINAL],
        "transitions": {s.value: sorted(t.value for t in TRANSITIONS[s]) for s in RunState},
    }
