"""Evaluation in the calling process, one individual after another."""

from __future__ import annotations

from collections.abc import Sequence

from optimizer.data import Candles
from optimizer.evaluation.worker import RunSpec, Worker
from optimizer.stats import IndividualStats

Task = tuple[str, tuple[float, ...]]


class SequentialExecutor:
    """The reference executor: the same `Worker` as a pool's, in this process."""

    workers = 1

    def __init__(self, spec: RunSpec, candles: Candles) -> None:
        self.worker = Worker(spec, candles)

    def map(self, tasks: Sequence[Task], on_result=None) -> list[IndividualStats]:
        """Statistics of each task, in order (``on_result(index, stats)`` after each)."""
        results = []
        for index, (phase, genes) in enumerate(tasks):
            stats = self.worker.evaluate(phase, genes)
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
