"""Evaluation on a Dask distributed cluster (``--executor dask://HOST:PORT``).

The candles are scattered once to every worker (``broadcast``); each task names
that data by its future, so only gene tuples travel with tasks. A Dask worker
builds its engines on its first task of a run and keeps them in a
process-global slot for the run's next tasks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from optimizer.config import parse_config
from optimizer.data import Candles
from optimizer.evaluation.worker import OnResult, RunSpec, SeriesFilter, Task, Worker, failure
from optimizer.stats import IndividualStats

log = logging.getLogger(__name__)

BATCHES_PER_WORKER = 4
_engines: dict[str, Worker] = {}


def _evaluate_on_worker(
    run_key: str, spec: RunSpec, arrays: dict, bar_ns: int, batch: list[Task], keep: SeriesFilter | None
) -> list:
    """A Dask task: evaluate a batch with this worker's engines for ``run_key``."""
    worker = _engines.get(run_key)
    if worker is None:
        _engines.clear()  # one run's engines at a time per worker process
        worker = Worker(spec, Candles.from_arrays(arrays, bar_ns))
        _engines[run_key] = worker
    return worker.evaluate_batch(batch, keep)


def dask_address(executor: str) -> str:
    """``dask://HOST:PORT`` -> ``tcp://HOST:PORT``."""
    rest = executor.removeprefix("dask://")
    return rest if "://" in rest else f"tcp://{rest}"


class DaskExecutor:
    """Evaluates tasks on a Dask cluster; the data is sent to each worker once."""

    def __init__(self, client: Any, spec: RunSpec, candles: Candles, *, own_client: bool = False) -> None:
        self.client = client
        self.spec = spec
        self.config = parse_config(spec.config)
        self.bar_ns = candles.bar_ns
        self.run_key = uuid.uuid4().hex
        self._own_client = own_client
        self.data = client.scatter(candles.to_arrays(), broadcast=True, hash=False)
        self.workers = max(1, len(client.scheduler_info().get("workers", {})))

    @classmethod
    def connect(cls, executor: str, spec: RunSpec, candles: Candles, timeout: float = 10.0) -> DaskExecutor:
        """Connect to the scheduler named by ``dask://HOST:PORT``."""
        from distributed import Client

        client = Client(dask_address(executor), timeout=timeout)
        return cls(client, spec, candles, own_client=True)

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """Statistics of each task, in order; a batch lost with its workers fails.
        ``on_result(index, stats)`` is called for each result as it is collected;
        see `Worker.evaluate_batch` for ``keep``."""
        n = len(tasks)
        size = max(1, -(-n // (self.workers * BATCHES_PER_WORKER)))
        batches = [list(tasks[i : i + size]) for i in range(0, n, size)]
        futures = [
            self.client.submit(
                _evaluate_on_worker, self.run_key, self.spec, self.data, self.bar_ns, batch, keep, pure=False
            )
            for batch in batches
        ]
        results: list[IndividualStats] = []
        for batch, future in zip(batches, futures, strict=True):
            try:
                stats = future.result()
            except Exception as exc:  # a lost worker (KilledWorker) or a cluster error
                log.warning("a Dask batch of %d individuals failed: %s", len(batch), exc)
                error = f"Dask task failed: {type(exc).__name__}: {exc}"
                stats = [failure(self.config, genes, error) for _, genes in batch]
            for value in stats:
                if on_result is not None:
                    on_result(len(results), value)
                results.append(value)
        return results

    def close(self) -> None:
        """Release the scattered data (and the client, if this executor made it)."""
        try:
            self.client.cancel(list(self.data.values()))
        finally:
            if self._own_client:
                self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
