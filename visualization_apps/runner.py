"""The process that runs one optimization for the dashboard.

It sets the run up like the command line does (`prepare_run`), evaluates
generations on its own worker pool (or on the server's Dask cluster, ``--dask``), and for each generation first commits it to
SQLite, then tells the server (a message on its pipe) so that the server can
publish it. It stops after the current generation when asked (the checkpoint
makes it resumable) and writes the run's final state (`Store.end_run`):
completed, stopped, interrupted (the server is shutting down) or failed.

Its lifetime is bound to the run and to the server (docs/RUNS.md):

* it holds the run's lock (`run_lock`) from its first step to its last write (its
  final state): a second process on the same run exits at once with
  `LOCKED_EXIT`, writing nothing;
* it leads its own process group (and session, `run_priority.detach`), which its
  workers join: the server ends the run and every worker, even one still
  starting, with one ``killpg``; the group runs below the server's priority, its
  workers at idle priority (`run_priority`);
* a watchdog (`watch_parent`) kills that group within a second of the server
  going away (SIGKILL included), and no generation is written once it has gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

from optimizer.checkpoint import has_checkpoint
from optimizer.config import parse_config
from optimizer.errors import InputError
from optimizer.evaluation import WorkerStartError
from optimizer.evaluation.dask_cluster import ClusterLost
from optimizer.evaluation.lifetime import parent_alive, watch_parent
from optimizer.plugins import load_plugins
from optimizer.prepare import PreparedRun, prepare_run
from optimizer.walk_forward import PreparedWalkForward, has_fold_checkpoint, prepare_walk_forward
from visualization_apps import run_lock
from visualization_apps.faults import Backoff, describe, is_storage_fault
from visualization_apps.outcome import every_evaluation_failed
from visualization_apps.provenance import describe_executor, record_start
from visualization_apps.run_priority import WorkerPriority, detach
from visualization_apps.run_states import RunState
from visualization_apps.storage import Store
from visualization_apps.walk_forward_runner import drive_walk_forward

log = logging.getLogger(__name__)
LOCKED_EXIT = 73
"""Exit code: another process holds the run's lock (nothing was written)."""
UNRECORDED_EXIT = 74
"""Exit code: the run ended but its final state could not be written (storage)."""
FINAL_WRITE_ATTEMPTS = 4


def _end_group() -> None:
    """Kill this run process and its workers at once (the server is gone)."""
    os.killpg(os.getpgrp(), signal.SIGKILL)


def run_main(
    db_path: str,
    run_id: int,
    data_path: str,
    folder: str,
    resume: bool,
    stop: Event,
    pipe: Connection,
    server_pid: int,
    executor: str | None = None,
) -> None:
    """Entry point of a run process (see the module docstring). ``stop`` asks it to
    stop after the current generation; ``pipe`` carries its messages to the server
    ``server_pid``: ``("generation", run_id, n)`` once generation ``n`` is
    committed, and ``("status", run_id)`` once its final state is. ``executor``:
    where it evaluates (``dask://HOST:PORT``, the server's ``--dask``; None: the
    local pool, as the configuration's ``workers`` says). A cluster lost mid-run
    (`ClusterLost`) ends it interrupted with the reason, resumable."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when a run stops
    # Before any worker starts (they all join its group), below the server's
    # priority: pages and the API stay responsive while every core evaluates.
    detach()
    watch_parent(server_pid, _end_group)
    logging.basicConfig(level=logging.INFO, format=f"run {run_id} %(levelname)s %(name)s: %(message)s")
    lock = run_lock.acquire(folder)
    if lock is None:
        log.error("run %s: another process (%s) holds its lock; exiting", run_id, run_lock.holder(folder))
        os._exit(LOCKED_EXIT)
    terminated: list[bool] = []  # SIGTERM of this process: end after the current generation, like a shutdown
    signal.signal(signal.SIGTERM, lambda *_: terminated.append(True))

    def should_stop() -> bool:
        return stop.is_set() or bool(terminated)

    priority = WorkerPriority()  # the workers at idle priority once they start
    store = Store(db_path)
    prepared: PreparedRun | PreparedWalkForward | None = None
    error: str | None = None
    interrupted: str | None = None
    finished = False
    try:
        load_plugins()
        config = parse_config(store.run_config(run_id))
        resume = resume and (has_checkpoint(folder) or has_fold_checkpoint(folder))
        if config.settings.walk_forward is not None:  # a walk-forward: its own loop, the same guarantees
            prepared = prepare_walk_forward(config, data_path, checkpoint_dir=folder, resume=resume, executor=executor)
            record_start(store, run_id, describe_executor(prepared.executor))
            walk = prepared

            def published(n: int) -> None:
                _send(pipe, ("generation", run_id, n))
                priority.update(_worker_pids(walk))

            priority.update(_worker_pids(walk))
            finished = not should_stop() and drive_walk_forward(
                walk, store, run_id, should_stop, published,
                lambda: None if parent_alive(server_pid) else _end_group(),
            )  # fmt: skip
        else:
            prepared = prepare_run(config, data_path, checkpoint_dir=folder, resume=resume, executor=executor)
            record_start(store, run_id, describe_executor(prepared.executor))
            priority.update(_worker_pids(prepared))
            optimizer = prepared.optimizer
            if not should_stop():  # asked to stop while it started: not even a first generation
                for event in optimizer.generations(should_stop=should_stop):
                    document = event.to_json()
                    document["completed_at"] = time.time()  # wall clock: the start of generation-to-browser latency
                    if not parent_alive(server_pid):  # nothing is written for a server that went away
                        _end_group()
                    if store.add_generation(run_id, document, optimizer.data_fingerprint):  # not a replay stored already
                        _send(pipe, ("generation", run_id, event.generation))
                    priority.update(_worker_pids(prepared))  # a worker that died was replaced
            finished = optimizer.finished
        if finished:  # a run none of whose evaluations succeeded has failed
            error = every_evaluation_failed(store, run_id)
    except ClusterLost as exc:  # resumable once the cluster is back: not a failure
        log.error("run %s: %s", run_id, exc)
        interrupted = str(exc)
    except (InputError, WorkerStartError) as exc:
        error = str(exc)
    except Exception as exc:
        if is_storage_fault(exc):  # a full disk, a failing database: resumable once it is fixed
            log.error("run %s: %s", run_id, describe(exc))
            error = describe(exc)
        else:  # a bug: record it for the user, with the details in the log
            log.error("run %s failed:\n%s", run_id, traceback.format_exc())
            error = f"{type(exc).__name__}: {exc}"
    recorded = _record_end(store, run_id, finished, error, interrupted)
    # Nothing more is written for the run (not the database, not its folder): a
    # resume may start the next process on it while this one's workers shut down.
    os.close(lock)
    _send(pipe, ("status", run_id))  # the final state, before the workers are shut down
    if prepared is not None:
        prepared.close()
    pipe.close()
    if not recorded:
        os._exit(UNRECORDED_EXIT)  # the server records the run as interrupted when it can


def _record_end(store: Store, run_id: int, finished: bool, error: str | None, interrupted: str | None = None) -> bool:
    """Write the run's final state (`Store.end_run`; ``interrupted``: that state with
    this reason, `Store.settle`), retrying a storage fault a few times; False if it
    could not be written."""
    backoff = Backoff(first=0.2)
    for attempt in range(FINAL_WRITE_ATTEMPTS):
        try:
            record = store.run(run_id) if interrupted is not None else None
            if record is not None and record["state"] == RunState.RUNNING:  # a stopping run ends stopped, as asked
                state = RunState.INTERRUPTED if store.settle(run_id, interrupted) else None
            else:
                state = store.end_run(run_id, finished=finished, error=error)
            log.info("run %s ended %s", run_id, state or "(settled by the server already)")
            return True
        except Exception as exc:
            if not is_storage_fault(exc) or attempt == FINAL_WRITE_ATTEMPTS - 1:
                log.error("run %s: could not record its end: %s", run_id, describe(exc))
                return False
            backoff.wait()
    return False  # pragma: no cover - the loop returns


def _worker_pids(prepared: PreparedRun | PreparedWalkForward) -> list[int]:
    """The process ids of the run's local workers (none on Dask or in-process)."""
    return list(getattr(prepared.executor, "pids", ()))


def _send(pipe: Connection, message: tuple[Any, ...]) -> None:
    """Tell the server; a server that went away is no reason to stop the run."""
    with contextlib.suppress(OSError):  # the server was killed
        pipe.send(message)
