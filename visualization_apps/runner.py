"""The process that runs one optimization for the dashboard.

It sets the run up like the command line does (`prepare_run`), evaluates
generations on its own worker pool, and for each generation first commits it to
SQLite, then tells the server (a message on its pipe) so that the server can
publish it. It stops after the current generation when asked (the checkpoint
makes it resumable) and writes the run's final state: completed, stopped or failed.
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
from optimizer.plugins import load_plugins
from optimizer.prepare import PreparedRun, prepare_run
from visualization_apps.outcome import every_evaluation_failed
from visualization_apps.run_states import RunState
from visualization_apps.storage import Store

log = logging.getLogger(__name__)
RUN_NICENESS = 10


def run_main(
    db_path: str, run_id: int, data_path: str, folder: str, resume: bool, stop: Event, pipe: Connection
) -> None:
    """Entry point of a run process (see the module docstring). ``stop`` asks it to
    stop after the current generation; ``pipe`` carries its messages to the server:
    ``("generation", run_id, n)`` once generation ``n`` is committed, and
    ``("status", run_id)`` once its final state is."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when a run stops
    # Below the server's priority (its workers inherit it): pages and the API stay
    # responsive while every core evaluates.
    os.nice(RUN_NICENESS)
    logging.basicConfig(level=logging.INFO, format=f"run {run_id} %(levelname)s %(name)s: %(message)s")
    store = Store(db_path)
    prepared: PreparedRun | None = None
    try:
        load_plugins()
        config = parse_config(store.run_config(run_id))
        resume = resume and has_checkpoint(folder)
        prepared = prepare_run(config, data_path, checkpoint_dir=folder, resume=resume)
        optimizer = prepared.optimizer
        for event in optimizer.generations(should_stop=stop.is_set):
            document = event.to_json()
            document["completed_at"] = time.time()  # wall clock: the start of generation-to-browser latency
            store.add_generation(run_id, document, optimizer.data_fingerprint)
            _send(pipe, ("generation", run_id, event.generation))
        failure = every_evaluation_failed(store, run_id) if optimizer.finished else None
        if failure is not None:
            store.set_state(run_id, RunState.FAILED, error=failure, finished_at=time.time())
        elif optimizer.finished:
            store.set_state(run_id, RunState.COMPLETED, finished_at=time.time())
        else:
            store.set_state(run_id, RunState.STOPPED)
    except (InputError, WorkerStartError) as exc:
        store.set_state(run_id, RunState.FAILED, error=str(exc), finished_at=time.time())
    except Exception as exc:  # a bug: record it for the user, with the details in the log
        log.error("run %s failed:\n%s", run_id, traceback.format_exc())
        store.set_state(run_id, RunState.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=time.time())
    _send(pipe, ("status", run_id))  # the final state, before the workers are shut down
    if prepared is not None:
        prepared.close()
    pipe.close()


def _send(pipe: Connection, message: tuple[Any, ...]) -> None:
    """Tell the server; a server that went away is no reason to stop the run."""
    with contextlib.suppress(OSError):  # the server was killed
        pipe.send(message)
