"""Starts, stops, resumes and deletes runs, each in its own process.

Runs wait in the ``queued`` state until one of ``max_running`` slots is free.
A run process commits each generation, then sends a message on its pipe; the
manager's one supervisor thread forwards it to Socket.IO (through ``publish``),
reading what it sends from the database, so a live event carries exactly what
REST serves. The supervisor sleeps in `multiprocessing.connection.wait` on the
run processes' pipes and sentinels and on a wake-up pipe (written on every
submission, stop, resume, delete and on close): an idle dashboard reads nothing.

Nothing happens before `RunManager.start` (which marks runs a previous server
left unfinished as interrupted, then starts the supervisor); `close` ends it:
each run stops after its current generation (checkpointed, ``interrupted``),
and what has not within ``timeout`` seconds is killed.

The supervisor never dies of a storage error (a full disk, a locked or failing
database): it logs it and tries again with a growing delay (`Backoff`). A run
whose process is gone without a recorded end stays in ``_unsettled`` until its
state can be written (``interrupted``), so a recorded state always matches a
process. Each run process leads its own process group (its workers join it):
killing that group ends them all, even workers still starting. See docs/RUNS.md.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import shutil
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from visualization_apps import data_lock, run_lock
from visualization_apps.faults import Backoff, check_free_space, describe, is_storage_fault
from visualization_apps.run_process import RunProcess, exit_reason
from visualization_apps.run_states import RESUMABLE, STOPPABLE, UNFINISHED, RunState, TransitionError
from visualization_apps.run_status_board import Publish, StatusBoard
from visualization_apps.storage import Store

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 25.0
"""How long `RunManager.close` waits for runs to end their current generation
(seconds; under gunicorn's default graceful timeout of 30 s)."""
FORWARD_INTERVAL = 0.05
"""The least time between two forwardings of one run's messages (seconds): the
generations a fast run stored meanwhile are read in one query and published as
one batch (`visualization_apps.live_rooms`), each waiting at most this long."""
ORPHAN_GRACE_SECONDS = 5.0
"""How long `RunManager.start` waits for run processes of a previous server
(still holding their runs' locks) to notice it has gone and exit (seconds)."""


class RunError(Exception):
    """A run operation that does not apply to the run's state (answered with 409)."""


class RunManager:
    """The runs of one dashboard (see the module docstring)."""

    def __init__(
        self, store: Store, data_dir: Path, publish: Publish, *, max_running: int = 1, dask: str | None = None
    ) -> None:
        """``dask``: the Dask scheduler (``tcp://HOST:PORT``) every run evaluates on;
        None: each run on its own local pool."""
        self.store = store
        self.executor = f"dask://{dask}" if dask else None
        self.runs_dir = data_dir / "runs"
        self.publish = publish
        self.max_running = max_running
        self._ctx = mp.get_context("spawn")
        self._active: dict[int, RunProcess] = {}
        self._resume: set[int] = set()
        self._lock = threading.RLock()
        self.board = StatusBoard(store, publish)  # the last announced status of each run
        self._wake_reader, self._wake_writer = mp.Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._woken = False  # a byte is in the wake-up pipe: at most one ever is
        self._thread: threading.Thread | None = None
        self._closed = False
        self._recovered = False  # the runs a previous server left are marked interrupted
        self._unsettled: dict[int, str] = {}  # run id -> why its process ended, to record as interrupted
        self._forwarded: dict[int, float] = {}  # run id -> when its messages were last forwarded (monotonic)

    def folder(self, run_id: int) -> Path:
        """The run's own folder (its checkpoint)."""
        return self.runs_dir / str(int(run_id))

    # ------------------------------------------------------------- life cycle
    def start(self) -> RunManager:
        """Mark runs a previous server left unfinished as interrupted (resumable),
        start the supervisor thread and whatever is queued. Returns the manager.
        First holds the data folder (`data_lock.hold`; `DataDirInUse`: another server does)."""
        with self._lock:
            if self._thread is not None:
                return self
            data_lock.hold(self.runs_dir.parent)
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            try:
                self._recover()
            except Exception:  # the supervisor tries again before it starts any run
                log.exception("could not mark the runs a previous server left as interrupted; retrying")
            self._thread = threading.Thread(target=self._supervise, name="run-supervisor", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """End the supervisor and every run: each is asked to stop after its current
        generation (it checkpoints it and records itself ``interrupted``, or
        ``stopped`` if a user had asked); a run still going after ``timeout``
        seconds (or at a second Ctrl-C) is killed with its workers and recorded
        interrupted (resumable from its last checkpoint). Starts nothing new."""
        with self._lock:
            self._closed = True
            for active in self._active.values():
                active.stop.set()
            self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        deadline = time.monotonic() + timeout
        try:
            for active in list(self._active.values()):
                active.process.join(max(0.0, deadline - time.monotonic()))
        finally:  # also when a second signal interrupts the wait: nothing outlives the server
            with self._lock:
                for run_id, active in list(self._active.items()):
                    if active.process.is_alive():
                        log.warning("run %s did not end its generation in %.0f s: killed", run_id, timeout)
                        active.kill()
                    active.process.join()
                    active.pipe.close()
                    if not active.deleted:
                        self._settle(run_id, exit_reason(run_id, active.process.exitcode))
                self._active.clear()

    # ------------------------------------------------------------ operations
    def submit(self, config: dict[str, Any], dataset_id: str, versions: dict[str, str]) -> int:
        """Store a new run (queued) and start it when a slot is free."""
        run_id = self.store.create_run(config, dataset_id, versions)
        self.board.announce(run_id)
        self._wake()
        return run_id

    def stop(self, run_id: int) -> str:
        """Stop after the current generation (a queued run just stops: also one
        resumed while its previous process still exits, which is not its process)."""
        with self._lock:
            active = self._active.get(run_id)
            if active is not None and self._state(run_id) == RunState.QUEUED.value:
                active = None
            state = RunState.STOPPED if active is None else RunState.STOPPING
            self._user_transition(run_id, state, STOPPABLE, "be stopped")
            if active is not None:
                active.stop.set()  # after the state is stopping: the run then writes stopped
            else:
                self._resume.discard(run_id)  # not started from its checkpoint after all
        self.board.announce(run_id)
        return self._state(run_id)

    def resume(self, run_id: int) -> str:
        """Queue a stopped, interrupted or failed run to go on from its checkpoint."""
        with self._lock:
            holder = run_lock.holder(self.folder(run_id))
            if holder is not None:  # a process of an earlier server, still winding down
                raise RunError(f"run {run_id} is still worked on by process {holder or '?'}; resume it once that has exited")
            self._user_transition(run_id, RunState.QUEUED, RESUMABLE, "resume", error=None, finished_at=None)
            self._resume.add(run_id)
        self.board.announce(run_id)
        self._wake()
        return self._state(run_id)

    def delete(self, run_id: int) -> None:
        """Delete a run: stop its process if any, then its rows and its folder."""
        with self._lock:
            self._state(run_id)
            active = self._active.get(run_id)
            if active is not None:
                active.deleted = True  # the supervisor reaps it without a word
                active.kill()  # the run process and its workers, even those still starting
                active.process.join(timeout=10)
            self._resume.discard(run_id)
            try:
                self.store.delete_run(run_id)
            except Exception:  # not deleted after all: the run is interrupted once that can be written
                if active is not None:
                    active.deleted = False  # the supervisor records it interrupted
                self.board.forget(run_id)
                self._wake()
                raise
            self.board.forget(run_id)
        shutil.rmtree(self.folder(run_id), ignore_errors=True)
        self._wake()

    def status(self, run_id: int) -> dict[str, Any] | None:
        """A run's status: the last one announced (every change is announced), else
        read from the database. Answers without a database read while a run goes on.
        A run whose process ended while its end could not be written (a full disk)
        reads ``interrupted`` already."""
        found = self.board.get(run_id)
        if found is None:
            found = self.store.run(run_id)
            why = self._unsettled.get(run_id)
            if found is not None and why is not None:  # its process is gone; the database cannot say so yet
                found = {**found, "state": RunState.INTERRUPTED.value, "error": why}
        return found

    def refresh(self, run_id: int) -> None:
        """Re-read a run's record and announce it (after a change made outside the
        manager, such as a rename)."""
        self.board.announce(run_id)

    # ------------------------------------------------------------- internals
    def _state(self, run_id: int) -> str:
        record = self.store.run(run_id)
        if record is None:
            raise KeyError(run_id)
        return record["state"]

    def _set_state(self, run_id: int, state: RunState, **fields: Any) -> None:
        """A transition the manager makes itself; an illegal one is a bug, logged."""
        try:
            self.store.set_state(run_id, state, **fields)
        except TransitionError:
            log.exception("run %s: illegal state change", run_id)

    def _user_transition(
        self, run_id: int, state: RunState, allowed: tuple[RunState, ...], verb: str, **fields: Any
    ) -> None:
        """A transition a user asked for: `RunError` unless the run is in ``allowed``."""
        if run_id in self._unsettled:  # its process is gone: record that first (a storage error raises)
            self._settle(run_id, self._unsettled[run_id], again=True)
        current = self._state(run_id)
        if current not in allowed:
            names = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
            raise RunError(f"run {run_id} is {current}; only a {names} run can {verb}")
        try:
            self.store.set_state(run_id, state, **fields)
        except TransitionError as exc:  # its process changed it in between (e.g. it completed)
            raise RunError(f"run {run_id} is {self._state(run_id)}; it cannot {verb}") from exc

    def _wake(self) -> None:
        """Make the supervisor look again (a run to start, a process gone)."""
        with self._wake_lock:
            if not self._woken:
                self._woken = True
                self._wake_writer.send_bytes(b"!")

    def _recover(self) -> None:
        """Mark the runs a previous server was running as interrupted, once their old
        processes (if any still hold their locks) have had a moment to exit; its queued
        runs wait for this server's slots."""
        ids = self.store.runs_in(UNFINISHED)
        deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        for run_id in ids:
            while run_lock.holder(self.folder(run_id)) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
        interrupted = self.store.mark_interrupted()
        if interrupted:
            log.warning("runs %s were left running by a previous server: marked interrupted", interrupted)
        self._recovered = True

    def _catch_up(self) -> None:
        """What the supervisor does after each wake-up: the recovery if it failed at
        start, the ends of runs not recorded yet, then the queue."""
        if not self._recovered:
            self._recover()
        for run_id, why in list(self._unsettled.items()):
            self._settle(run_id, why, again=True)
        self._schedule()

    def _schedule(self) -> None:
        """Start queued runs while slots are free (the supervisor's thread only)."""
        with self._lock:
            if self._closed:
                return
            for run_id in self.store.runs_in((RunState.QUEUED,)):
                if sum(not a.deleted for a in self._active.values()) >= self.max_running:
                    return
                if run_id not in self._active:
                    check_free_space(self.runs_dir)  # a full disk: the queue waits (the supervisor retries)
                    self._start(run_id)

    def _start(self, run_id: int) -> None:
        record = self.store.run(run_id)
        dataset = self.store.dataset(record["dataset_id"])
        if dataset is None:
            error = f"dataset {record['dataset_id']!r} no longer exists"
            self._set_state(run_id, RunState.FAILED, error=error, finished_at=time.time())
            self.board.announce(run_id)
            return
        resume = run_id in self._resume
        folder = self.folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        # Running before its process starts: a failed write leaves it queued, started later.
        self.store.set_state(run_id, RunState.RUNNING, started_at=time.time(), error=None, finished_at=None)
        self._resume.discard(run_id)
        try:
            active = RunProcess.spawn(self._ctx, self.store.path, run_id, dataset["path"], str(folder), resume,
                                      executor=self.executor)  # fmt: skip
        except BaseException as exc:
            self._unsettled[run_id] = f"the run process could not start: {exc}"
            raise
        self._active[run_id] = active
        log.info("run %s started (pid %s%s)", run_id, active.process.pid, ", resuming" if resume else "")
        self.board.announce(run_id)

    def _supervise(self) -> None:
        """Forward run processes' messages, notice processes that ended (normally or
        killed) and start queued runs; asleep until one of those happens. A failure
        (storage) is logged and retried after a growing delay; it never ends the loop."""
        backoff = Backoff()
        retry_in: float | None = None
        while True:
            with self._lock:
                if self._closed:
                    return
            try:
                self._catch_up()
                backoff.reset()
                retry_in = None if not self._unsettled else backoff.step()
            except Exception as exc:
                retry_in = backoff.step()
                if is_storage_fault(exc):  # one line: it repeats until the storage works again
                    log.warning("run supervisor: %s; retrying in %.1f s", describe(exc), retry_in)
                else:
                    log.exception("run supervisor: retrying in %.1f s", retry_in)
            try:
                self._watch(retry_in)
            except Exception:
                log.exception("run supervisor: could not watch the run processes")
                time.sleep(backoff.step())

    def _watch(self, timeout: float | None) -> None:
        """Wait (at most ``timeout`` seconds; None: until something happens) for a
        message, a process end or a wake-up, and handle what came. A run's pipe is
        watched again `FORWARD_INTERVAL` after its last forwarding: what it sent
        meanwhile is forwarded together (a process's end at once, with all it sent)."""
        now = time.monotonic()
        with self._lock:
            watched: dict[Any, tuple[int, RunProcess]] = {}
            for run_id, active in self._active.items():
                watched[active.process.sentinel] = (run_id, active)
                if active.said_all:
                    continue
                due = self._forwarded.get(run_id, 0.0) + FORWARD_INTERVAL
                if due <= now:
                    watched[active.pipe] = (run_id, active)
                else:
                    timeout = due - now if timeout is None else min(timeout, due - now)
        ready = wait([self._wake_reader, *watched], timeout)
        if self._wake_reader in ready:
            with self._wake_lock:
                self._woken = False
                self._wake_reader.recv_bytes()
        for item in ready:
            if item in watched:
                run_id, active = watched[item]
                self._forwarded[run_id] = time.monotonic()
                self.board.forward(run_id, active)
                if item is active.process.sentinel or not active.process.is_alive():
                    self._ended(run_id, active)

    def _ended(self, run_id: int, active: RunProcess) -> None:
        """A run process is gone: reap it (no zombie), then, if it did not record how
        it ended (killed, or its storage failed), record the run interrupted."""
        with self._lock:
            if active.pipe.closed:
                return
            active.process.join()
            active.pipe.close()
            if self._active.get(run_id) is active:
                del self._active[run_id]
                self._forwarded.pop(run_id, None)
            if active.deleted:
                return
            self._settle(run_id, exit_reason(run_id, active.process.exitcode))
        self.board.announce(run_id)

    def _settle(self, run_id: int, why: str, *, again: bool = False) -> None:
        """Record a run whose process is gone as interrupted if its state says a
        process works on it (`Store.settle`); on a storage error, keep it in
        ``_unsettled`` for the supervisor to retry (``again``: it is such a retry)."""
        try:
            changed = self.store.settle(run_id, why)
        except Exception as exc:
            if not again:
                log.warning("run %s: could not record that its process ended (%s); will retry", run_id, describe(exc))
            self._unsettled[run_id] = why
            self.board.forget(run_id)
            if again:
                raise
            return
        self._unsettled.pop(run_id, None)
        if changed:
            log.warning("run %s interrupted: %s", run_id, why)
            if again:
                self.board.announce(run_id)
