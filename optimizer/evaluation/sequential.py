"""Evaluation in the calling process, one individual after another."""

from __future__ import annotations

from collections.abc import Sequence

from optimizer.data import Candles
from optimizer.evaluation.worker import OnResult, RunSpec, SeriesFilter, Task, Worker
from optimizer.stats import IndividualStats


class SequentialExecutor:
    """The reference executor: the same `Worker` as a pool's, in this process."""

    workers = 1

    def __init__(self, spec: RunSpec, candles: Candles) -> None:
        self.worker = Worker(spec, candles)

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """Statistics of each task, in order (``on_result(index, stats)`` after each);
        see `Worker.evaluate_batch` for ``keep``."""
        results = []
        for index, task in enumerate(tasks):
            (stats,) = self.worker.evaluate_batch([task], keep)
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
