"""Evaluation in the calling process, one individual after another."""

from __future__ import annotations

from collections.abc import Sequence

from optimizer.data import Candles
from optimizer.evaluation.worker import RunSpec, Worker
from optimizer.objectives import EliteBar
from optimizer.stats import IndividualStats

Task = tuple[str, tuple[float, ...]]


class SequentialExecutor:
    """The reference executor: the same `Worker` as a pool's, in this process."""

    workers = 1

    def __init__(self, spec: RunSpec, candles: Candles) -> None:
        self.worker = Worker(spec, candles)

    def map(self, tasks: Sequence[Task], on_result=None, bar: EliteBar | None = None) -> list[IndividualStats]:
        """Statistics of each task, in order (``on_result(index, stats)`` after each);
        see `Worker.evaluate_batch` for ``bar``."""
        results = []
        for index, task in enumerate(tasks):
            (stats,) = self.worker.evaluate_batch([task], bar)
            if on_result is not None:
                on_result(index, stats)
            results.append(stats)
        return results

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> SequentialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
