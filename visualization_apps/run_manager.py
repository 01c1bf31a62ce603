"""Starts, stops, resumes and deletes runs, each in its own process.

Runs wait in the ``queued`` state until one of ``max_running`` slots is free.
A run process commits each generation, then sends a message on its pipe; the
manager's one supervisor thread forwards it to Socket.IO (through ``publish``),
reading what it sends from the database, so a live event carries exactly what
REST serves. The supervisor sleeps in `multiprocessing.connection.wait` on the
run processes' pipes and sentinels and on a wake-up pipe (written on every
submission, stop, resume, delete and on close): an idle dashboard reads nothing.

Nothing happens before `RunManager.start` (which marks runs a previous server
left unfinished as interrupted, then starts the supervisor); `close` ends it.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import shutil
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from visualization_apps.run_states import RESUMABLE, STOPPABLE, RunState, TransitionError
from visualization_apps.runner import run_main
from visualization_apps.storage import Store

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any], int], None]


class RunError(Exception):
    """A run operation that does not apply to the run's state (answered with 409)."""


class _Active:
    """A run process, the event that asks it to stop, and the pipe it talks on."""

    def __init__(self, process: Any, stop: Any, pipe: Connection) -> None:
        self.process = process
        self.stop = stop
        self.pipe = pipe
        self.said_all = False  # its pipe is at its end (the process closed it)
        self.deleted = False


class RunManager:
    """The runs of one dashboard (see the module docstring)."""

    def __init__(self, store: Store, data_dir: Path, publish: Publish, *, max_running: int = 1) -> None:
        self.store = store
        self.runs_dir = data_dir / "runs"
        self.publish = publish
        self.max_running = max_running
        self._ctx = mp.get_context("spawn")
        self._active: dict[int, _Active] = {}
        self._resume: set[int] = set()
        self._lock = threading.RLock()
        self._status: dict[int, dict[str, Any]] = {}  # the last announced status of each run
        self._wake_reader, self._wake_writer = mp.Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._woken = False  # a byte is in the wake-up pipe: at most one ever is
        self._thread: threading.Thread | None = None
        self._closed = False

    def folder(self, run_id: int) -> Path:
        """The run's own folder (its checkpoint)."""
        return self.runs_dir / str(int(run_id))

    # ------------------------------------------------------------- life cycle
    def start(self) -> RunManager:
        """Mark runs a previous server left unfinished as interrupted (resumable),
        start the supervisor thread and whatever is queued. Returns the manager."""
        with self._lock:
            if self._thread is not None:
                return self
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            interrupted = self.store.mark_interrupted()
            if interrupted:
                log.warning("runs %s were left unfinished by a previous server: marked interrupted", interrupted)
            self._thread = threading.Thread(target=self._supervise, name="run-supervisor", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop every run process (they stay resumable: marked interrupted) and the
        supervisor."""
        with self._lock:
            self._closed = True
            for run_id, active in list(self._active.items()):
                active.process.kill()
                active.process.join(timeout=10)
                if not active.deleted:
                    self._set_state(run_id, RunState.INTERRUPTED)
            self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        with self._lock:
            for active in self._active.values():
                active.pipe.close()
            self._active.clear()

    # ------------------------------------------------------------ operations
    def submit(self, config: dict[str, Any], dataset_id: str, versions: dict[str, str]) -> int:
        """Store a new run (queued) and start it when a slot is free."""
        run_id = self.store.create_run(config, dataset_id, versions)
        self._announce(run_id)
        self._wake()
        return run_id

    def stop(self, run_id: int) -> str:
        """Stop after the current generation (a queued run just stops)."""
        with self._lock:
            active = self._active.get(run_id)
            state = RunState.STOPPED if active is None else RunState.STOPPING
            self._user_transition(run_id, state, STOPPABLE, "be stopped")
            if active is not None:
                active.stop.set()  # after the state is stopping: the run then writes stopped
        self._announce(run_id)
        return self._state(run_id)

    def resume(self, run_id: int) -> str:
        """Queue a stopped, interrupted or failed run to go on from its checkpoint."""
        with self._lock:
            self._user_transition(run_id, RunState.QUEUED, RESUMABLE, "resume", error=None, finished_at=None)
            self._resume.add(run_id)
        self._announce(run_id)
        self._wake()
        return self._state(run_id)

    def delete(self, run_id: int) -> None:
        """Delete a run: stop its process if any, then its rows and its folder."""
        with self._lock:
            self._state(run_id)
            active = self._active.get(run_id)
            if active is not None:
                active.deleted = True  # the supervisor reaps it without a word
                active.process.kill()
                active.process.join(timeout=10)
            self._resume.discard(run_id)
            self.store.delete_run(run_id)
            self._status.pop(run_id, None)
        shutil.rmtree(self.folder(run_id), ignore_errors=True)
        self._wake()

    def status(self, run_id: int) -> dict[str, Any] | None:
        """A run's status: the last one announced (every change is announced), else
        read from the database. Answers without a database read while a run goes on."""
        found = self._status.get(run_id)
        return found if found is not None else self.store.run(run_id)

    def refresh(self, run_id: int) -> None:
        """Re-read a run's record and announce it (after a change made outside the
        manager, such as a rename)."""
        self._announce(run_id)

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

    def _schedule(self) -> None:
        """Start queued runs while slots are free (the supervisor's thread only)."""
        with self._lock:
            if self._closed:
                return
            for run_id in self.store.runs_in((RunState.QUEUED,)):
                if sum(not a.deleted for a in self._active.values()) >= self.max_running:
                    return
                if run_id not in self._active:
                    self._start(run_id)

    def _start(self, run_id: int) -> None:
        record = self.store.run(run_id)
        dataset = self.store.dataset(record["dataset_id"])
        if dataset is None:
            error = f"dataset {record['dataset_id']!r} no longer exists"
            self._set_state(run_id, RunState.FAILED, error=error, finished_at=time.time())
            self._announce(run_id)
            return
        stop = self._ctx.Event()
        resume = run_id in self._resume
        self._resume.discard(run_id)
        folder = self.folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        reader, writer = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=run_main,
            args=(self.store.path, run_id, dataset["path"], str(folder), resume, stop, writer),
            name=f"run-{run_id}",
            daemon=False,
        )
        self.store.set_state(run_id, RunState.RUNNING, started_at=time.time(), error=None, finished_at=None)
        process.start()
        writer.close()  # the run process holds its end: its exit closes the pipe
        self._active[run_id] = _Active(process, stop, reader)
        log.info("run %s started (pid %s%s)", run_id, process.pid, ", resuming" if resume else "")
        self._announce(run_id)

    def _supervise(self) -> None:
        """Forward run processes' messages, notice processes that ended (normally or
        killed) and start queued runs; asleep until one of those happens."""
        self._schedule()
        while True:
            with self._lock:
                if self._closed:
                    return
                watched: dict[Any, tuple[int, _Active]] = {}
                for run_id, active in self._active.items():
                    watched[active.process.sentinel] = (run_id, active)
                    if not active.said_all:
                        watched[active.pipe] = (run_id, active)
            ready = wait([self._wake_reader, *watched])
            if self._wake_reader in ready:
                with self._wake_lock:
                    self._woken = False
                    self._wake_reader.recv_bytes()
            for item in ready:
                if item in watched:
                    run_id, active = watched[item]
                    self._forward(run_id, active)
                    if item is active.process.sentinel or not active.process.is_alive():
                        self._ended(run_id, active)
            self._schedule()

    def _forward(self, run_id: int, active: _Active) -> None:
        """Publish the messages waiting on a run's pipe."""
        while not active.pipe.closed and active.pipe.poll():
            try:
                message = active.pipe.recv()
            except (EOFError, OSError):
                active.said_all = True
                return
            if active.deleted:
                continue
            try:
                if message[0] == "generation":
                    summary = self.store.generations_after(run_id, message[2] - 1)
                    if summary:
                        self.publish("generation", summary[0], run_id)
                    self._status[run_id] = self.store.run(run_id) or self._status.get(run_id)
                else:
                    self._announce(run_id)
            except Exception:  # keep forwarding whatever one message did
                log.exception("could not publish %s of run %s", message[0], run_id)

    def _ended(self, run_id: int, active: _Active) -> None:
        """A run process is gone: if it did not say how it ended (killed), the run
        is interrupted (resumable)."""
        with self._lock:
            if active.pipe.closed:
                return
            active.process.join()
            active.pipe.close()
            if self._active.get(run_id) is active:
                del self._active[run_id]
            if active.deleted or self._closed:
                return
            record = self.store.run(run_id)
            if record is not None and record["state"] in (RunState.RUNNING, RunState.STOPPING):
                code = active.process.exitcode
                self._set_state(run_id, RunState.INTERRUPTED, error=f"run process exited with code {code}")
        self._announce(run_id)

    def _announce(self, run_id: int) -> None:
        record = self.store.run(run_id)
        if record is None:
            self._status.pop(run_id, None)
            return
        self._status[run_id] = record
        self.publish("run_status", record, run_id)
