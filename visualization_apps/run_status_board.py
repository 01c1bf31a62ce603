"""What the run manager last announced of each run, and the forwarding of a run
process's messages to Socket.IO.

A run process commits each generation, then sends ``("generation", run_id, G)``
on its pipe (and other messages when its state changes). `StatusBoard.forward`
publishes what those messages stand for, read from the database, so a live event
carries exactly what REST serves; the statuses it announced answer
`visualization_apps.run_manager.RunManager.status` without a database read while
a run goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from visualization_apps.run_process import RunProcess
from visualization_apps.storage import Store

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any], int], None]


class StatusBoard:
    """The last announced status of each run, and its announcements."""

    def __init__(self, store: Store, publish: Publish) -> None:
        self.store = store
        self.publish = publish
        self._status: dict[int, dict[str, Any]] = {}
        self._announced: dict[int, dict[str, Any]] = {}  # the last run_status published of each run
        # A status read from the database and kept is one step: a run deleted (and forgotten) by
        # a request thread meanwhile is not brought back by the supervisor's late announcement.
        self._lock = threading.Lock()

    def get(self, run_id: int) -> dict[str, Any] | None:
        """The run's last announced status (None: none, or forgotten)."""
        return self._status.get(run_id)

    def forget(self, run_id: int) -> None:
        """Drop the run's status: the next read goes to the database."""
        with self._lock:
            self._drop(run_id)

    def _drop(self, run_id: int) -> None:
        self._status.pop(run_id, None)
        self._announced.pop(run_id, None)

    def announce(self, run_id: int) -> None:
        """Read the run's record and publish it as its ``run_status`` (a deleted
        run: forgotten), unless it is the very record published last (a process's
        message and its end may both announce it). A storage error forgets the
        status and propagates."""
        with self._lock:
            try:
                record = self.store.run(run_id)
            except Exception:  # the manager's status() reads the database again, not an outdated copy
                self._drop(run_id)
                raise
            if record is None:
                self._drop(run_id)
                return
            self._status[run_id] = record
            if record == self._announced.get(run_id):
                return
            self._announced[run_id] = record
        self.publish("run_status", record, run_id)

    def forward(self, run_id: int, active: RunProcess) -> None:
        """Publish the messages waiting on a run's pipe. Generations that arrived
        together are read from the database in one query and published in order,
        and the run's status is read once after them; any other message announces
        the run's status. A closed pipe marks the process as having said all."""
        generations: list[int] = []
        while not active.pipe.closed and active.pipe.poll():
            try:
                message = active.pipe.recv()
            except (EOFError, OSError):
                active.said_all = True
                break
            if active.deleted:
                continue
            if message[0] == "generation":
                generations.append(message[2])
                continue
            self._publish_generations(run_id, generations)
            generations = []
            try:
                self.announce(run_id)
            except Exception:  # keep forwarding whatever one message did
                log.exception("could not publish %s of run %s", message[0], run_id)
        self._publish_generations(run_id, generations)

    def _publish_generations(self, run_id: int, generations: list[int]) -> None:
        """Publish the stored summaries of ``generations`` (in the order the run
        process stored them), then refresh the run's status."""
        if not generations:
            return
        try:
            wanted = set(generations)
            summaries = [s for s in self.store.generations_after(run_id, min(generations) - 1)
                         if s["generation"] in wanted]  # fmt: skip
            if summaries:  # one event for the clients that take batches, one each for the others
                self.publish("generations", {"generations": summaries}, run_id)
            with self._lock:
                self._status[run_id] = self.store.run(run_id) or self._status.get(run_id)
        except Exception:  # keep forwarding whatever these generations did
            log.exception("could not publish generations %s to %s of run %s", generations[0], generations[-1], run_id)
