"""Starts, stops, resumes and deletes runs, each in its own process.

Runs wait in the ``queued`` state until one of ``max_running`` slots is free.
A run process commits each generation, then sends a message; the manager's
monitor thread forwards it to Socket.IO (through ``publish``), reading what it
sends from the database, so a live event carries exactly what REST serves.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from visualization_apps.runner import run_main
from visualization_apps.storage import Store

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any], int], None]
STOPPABLE = ("queued", "running")
RESUMABLE = ("stopped", "interrupted", "failed")
POLL_SECONDS = 0.2


class RunError(Exception):
    """A run operation that does not apply to the run's state (answered with 409)."""


class _Active:
    def __init__(self, process, stop) -> None:
        self.process = process
        self.stop = stop


class RunManager:
    """The runs of one dashboard (see the module docstring)."""

    def __init__(self, store: Store, data_dir: Path, publish: Publish, *, max_running: int = 1) -> None:
        self.store = store
        self.runs_dir = data_dir / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.publish = publish
        self.max_running = max_running
        self._ctx = mp.get_context("spawn")
        self._messages = self._ctx.Queue()
        self._active: dict[int, _Active] = {}
        self._resume: set[int] = set()
        self._lock = threading.RLock()
        self._status: dict[int, dict[str, Any]] = {}  # the last announced status of each run
        self._closed = threading.Event()
        interrupted = store.mark_interrupted()
        if interrupted:
            log.warning("runs %s were left unfinished by a previous server: marked interrupted", interrupted)
        self._threads = [
            threading.Thread(target=self._monitor, name="run-monitor", daemon=True),
            threading.Thread(target=self._supervise, name="run-supervisor", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def folder(self, run_id: int) -> Path:
        """The run's own folder (its checkpoint)."""
        return self.runs_dir / str(int(run_id))

    # ----------------------------------------------------------- operations
    def submit(self, config: dict[str, Any], dataset_id: str, versions: dict[str, str]) -> int:
        """Store a new run (queued) and start it when a slot is free."""
        run_id = self.store.create_run(config, dataset_id, versions)
        self._announce(run_id)
        self._schedule()
        return run_id

    def stop(self, run_id: int) -> str:
        """Stop after the current generation (a queued run just stops)."""
        with self._lock:
            state = self._state(run_id)
            if state not in STOPPABLE:
                raise RunError(f"run {run_id} is {state}; only a queued or running run can be stopped")
            active = self._active.get(run_id)
            if active is None:
                self.store.set_state(run_id, "stopped")
            else:
                active.stop.set()
                self.store.set_state(run_id, "stopping")
        self._announce(run_id)
        return self._state(run_id)

    def resume(self, run_id: int) -> str:
        """Queue a stopped, interrupted or failed run to go on from its checkpoint."""
        with self._lock:
            state = self._state(run_id)
            if state not in RESUMABLE:
                raise RunError(f"run {run_id} is {state}; only a stopped, interrupted or failed run can resume")
            self._resume.add(run_id)
            self.store.set_state(run_id, "queued", error=None, finished_at=None)
        self._announce(run_id)
        self._schedule()
        return self._state(run_id)

    def delete(self, run_id: int) -> None:
        """Delete a run: stop its process if any, then its rows and its folder."""
        with self._lock:
            self._state(run_id)
            active = self._active.pop(run_id, None)
            if active is not None:
                active.process.kill()
                active.process.join(timeout=10)
            self._resume.discard(run_id)
            self.store.delete_run(run_id)
            self._status.pop(run_id, None)
        shutil.rmtree(self.folder(run_id), ignore_errors=True)

    def close(self) -> None:
        """Stop every run process (they stay resumable: marked interrupted)."""
        self._closed.set()
        with self._lock:
            for run_id, active in list(self._active.items()):
                active.process.kill()
                active.process.join(timeout=10)
                self.store.set_state(run_id, "interrupted")
            self._active.clear()

    # ------------------------------------------------------------- internals
    def _state(self, run_id: int) -> str:
        record = self.store.run(run_id)
        if record is None:
            raise KeyError(run_id)
        return record["state"]

    def _schedule(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            for run_id in self.store.runs_in(("queued",)):
                if len(self._active) >= self.max_running:
                    return
                if run_id not in self._active:
                    self._start(run_id)

    def _start(self, run_id: int) -> None:
        record = self.store.run(run_id)
        dataset = self.store.dataset(record["dataset_id"])
        if dataset is None:
            self.store.set_state(run_id, "failed", error=f"dataset {record['dataset_id']!r} no longer exists")
            self._announce(run_id)
            return
        stop = self._ctx.Event()
        resume = run_id in self._resume
        self._resume.discard(run_id)
        folder = self.folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        process = self._ctx.Process(
            target=run_main,
            args=(self.store.path, run_id, dataset["path"], str(folder), resume, stop, self._messages),
            name=f"run-{run_id}",
            daemon=False,
        )
        self.store.set_state(run_id, "running", started_at=time.time())
        process.start()
        self._active[run_id] = _Active(process, stop)
        log.info("run %s started (pid %s%s)", run_id, process.pid, ", resuming" if resume else "")
        self._announce(run_id)

    def _monitor(self) -> None:
        """Forward run processes' messages to Socket.IO."""
        while not self._closed.is_set():
            try:
                message = self._messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            except (EOFError, OSError):  # pragma: no cover - the queue is gone at shutdown
                return
            kind, run_id = message[0], message[1]
            try:
                if kind == "generation":
                    summary = self.store.generations_after(run_id, message[2] - 1)
                    if summary:
                        self.publish("generation", summary[0], run_id)
                    self._status[run_id] = self.store.run(run_id) or self._status.get(run_id)
                else:
                    self._announce(run_id)
            except Exception:  # keep forwarding whatever one message did
                log.exception("could not publish %s of run %s", kind, run_id)

    def _supervise(self) -> None:
        """Notice run processes that ended (normally or killed) and start queued runs."""
        while not self._closed.wait(POLL_SECONDS):
            ended = []
            with self._lock:
                for run_id, active in list(self._active.items()):
                    if not active.process.is_alive():
                        active.process.join()
                        del self._active[run_id]
                        ended.append((run_id, active.process.exitcode))
                for run_id, code in ended:
                    state = self.store.run(run_id)
                    if state is not None and state["state"] in ("running", "stopping"):
                        # The process died without saying how it ended (killed): resumable.
                        self.store.set_state(run_id, "interrupted", error=f"run process exited with code {code}")
            for run_id, _ in ended:
                self._announce(run_id)
            if ended or self.store.runs_in(("queued",)):
                self._schedule()

    def status(self, run_id: int) -> dict[str, Any] | None:
        """A run's status: the last one announced (every change is announced), else
        read from the database. Answers without a database read while a run goes on."""
        found = self._status.get(run_id)
        return found if found is not None else self.store.run(run_id)

    def _announce(self, run_id: int) -> None:
        record = self.store.run(run_id)
        if record is None:
            self._status.pop(run_id, None)
            return
        self._status[run_id] = record
        self.publish("run_status", record, run_id)
