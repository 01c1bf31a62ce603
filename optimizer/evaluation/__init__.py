"""Evaluation backends behind one interface: ``map(tasks) -> statistics``.

A task is ``(phase, genes)``: ``phase`` is ``"train"`` or ``"test"``, ``genes`` a
tuple of values in [0, 1]. Every backend returns the same `IndividualStats` for
the same task, in task order, so a run's results do not depend on the backend.
With a `SeriesFilter` (``keep``), the evaluations it does not keep come without
their trades and equity (decided in the worker, so they are never sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from optimizer.data import Candles
from optimizer.errors import ConfigError
from optimizer.evaluation.pool import ProcessExecutor, WorkerStartError, default_workers
from optimizer.evaluation.sequential import SequentialExecutor
from optimizer.evaluation.worker import STRESS, TEST, TRAIN, NoSeries, OnResult, RunSpec, SeriesFilter, Task, Worker
from optimizer.stats import IndividualStats

__all__ = [
    "STRESS", "TEST", "TRAIN", "Executor", "NoSeries", "OnResult", "ProcessExecutor", "RunSpec", "SequentialExecutor", "SeriesFilter",
    "Task", "Worker", "WorkerStartError", "default_workers", "make_executor",
]  # fmt: skip


class Executor(Protocol):
    """Evaluates tasks on ``workers`` processes (or cluster workers)."""

    workers: int

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """The statistics of each task, in task order; ``on_result(index, stats)``
        as each arrives (while the others are still evaluated)."""
        ...

    def close(self) -> None: ...


def make_executor(kind: str, spec: RunSpec, candles: Candles, workers: int) -> Executor:
    """``sequential``, ``process`` (``workers`` processes; 0 = one per CPU) or
    ``dask://HOST:PORT``."""
    if kind == "sequential":
        return SequentialExecutor(spec, candles)
    if kind == "process":
        return ProcessExecutor(spec, candles, workers or default_workers())
    if kind.startswith("dask://"):
        from optimizer.evaluation.dask_cluster import DaskExecutor

        try:
            return DaskExecutor.connect(kind, spec, candles)
        except OSError as exc:
            raise ConfigError(f"executor: cannot reach the Dask scheduler at {kind}: {exc}") from exc
    raise ConfigError(f"executor: {kind!r} is not one of sequential, process, dask://HOST:PORT")
