"""The process that runs one optimization for the dashboard.

It loads the run's configuration and dataset, evaluates generations on its own
worker pool, and for each generation first commits it to SQLite, then tells the
server (a message on a queue) so that the server can publish it. It stops after
the current generation when asked (the checkpoint makes it resumable).
"""

from __future__ import annotations

import logging
import os
import signal
import time
import traceback

from optimizer.checkpoint import has_checkpoint
from optimizer.config import parse_config
from optimizer.data import MarketData, load_candles
from optimizer.engine import check_compatible
from optimizer.errors import InputError
from optimizer.evaluation import RunSpec, WorkerStartError, make_executor
from optimizer.ga import Optimizer
from optimizer.plugins import load_plugins
from optimizer.split import holdout_start
from visualization_apps.storage import Store

log = logging.getLogger(__name__)
RUN_NICENESS = 10


def run_main(db_path: str, run_id: int, data_path: str, folder: str, resume: bool, stop, messages) -> None:
    """Entry point of a run process (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when a run stops
    # Below the server's priority (its workers inherit it): pages and the API stay
    # responsive while every core evaluates.
    os.nice(RUN_NICENESS)
    logging.basicConfig(level=logging.INFO, format=f"run {run_id} %(levelname)s %(name)s: %(message)s")
    store = Store(db_path)
    executor = None
    try:
        load_plugins()
        config = parse_config(store.run_config(run_id))
        market = MarketData(load_candles(data_path))
        check_compatible(config, market)
        split = holdout_start(config, market)
        kind = "sequential" if config.raw["workers"] == 1 else "process"
        executor = make_executor(kind, RunSpec(config.raw, split), market.candles, config.raw["workers"])
        resume = resume and has_checkpoint(folder)
        optimizer = Optimizer(config, market, executor, split=split, checkpoint_dir=folder, resume=resume)
        del market
        store.set_state(run_id, "running", started_at=time.time(), error=None, finished_at=None)
        messages.put(("status", run_id))
        for event in optimizer.generations(should_stop=stop.is_set):
            document = event.to_json()
            document["completed_at"] = time.time()  # wall clock: the start of generation-to-browser latency
            store.add_generation(run_id, document, optimizer.data_fingerprint)
            messages.put(("generation", run_id, event.generation))
        state = "completed" if optimizer.finished else "stopped"
        store.set_state(run_id, state, finished_at=time.time() if state == "completed" else None)
    except (InputError, WorkerStartError) as exc:
        store.set_state(run_id, "failed", error=str(exc), finished_at=time.time())
    except Exception as exc:  # a bug: record it for the user, with the details in the log
        log.error("run %s failed:\n%s", run_id, traceback.format_exc())
        store.set_state(run_id, "failed", error=f"{type(exc).__name__}: {exc}", finished_at=time.time())
    messages.put(("status", run_id))  # the final state, before the workers are shut down
    if executor is not None:
        executor.close()
