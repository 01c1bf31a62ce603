"""The ledger of a run's evaluations: each parameter set evaluated once, by id.

An evaluation's id is its position in the run (0, 1, 2, ...), stable across
resumes. The ledger keeps every evaluation's statistics and weighted fitness;
only those that may still be shown with their trades and equity (the elite's)
keep those series, the others drop them (most already in the workers, told by
the map's `EliteBar`). It also holds the elite's test-period statistics, and
the checkpoint log lines of the evaluations made since the last checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from optimizer.checkpoint import log_line
from optimizer.config import RunConfig
from optimizer.evaluation import TEST, TRAIN, Executor
from optimizer.individual import Individual
from optimizer.objectives import WORST, EliteBar, weighted_fitness
from optimizer.stats import IndividualStats
from optimizer.strategy import decode_keys

ParamsKey = tuple[float | int, ...]  # the decoded parameters in gene order


class Ledger:
    """Every evaluation of a run (see the module docstring). ``logged``: keep the
    checkpoint log lines of new evaluations (`take_log`)."""

    def __init__(
        self, config: RunConfig, executor: Executor, weights: Sequence[float], min_trades: int, *, logged: bool
    ) -> None:
        self.config = config
        self.executor = executor
        self.weights = tuple(weights)
        self.min_trades = min_trades
        self.logged = logged
        self.ids: dict[ParamsKey, int] = {}  # the parameter cache: params -> id
        self.stats: dict[int, IndividualStats] = {}
        self.weighted: dict[int, tuple[float, ...]] = {}  # DEAP's weighted fitness values, by id
        self.with_series: set[int] = set()  # ids whose statistics keep their trades and equity
        self.test: dict[int, IndividualStats] = {}  # test-period statistics of elite members
        self.evaluations = 0
        self.failed_evaluations = 0
        self.test_evaluations = 0
        self._log: list[str] = []

    def evaluate(self, individuals: Sequence[Individual], bar: EliteBar) -> list[int]:
        """Evaluate the parameter sets of ``individuals`` not seen before (the others
        take their earlier result) and return the new ids, in order. Each individual
        gets its evaluation's id and fitness; the new evaluations that ``bar`` does
        not admit come without trades and equity."""
        new: dict[ParamsKey, int] = {}
        tasks = []
        ids = []
        for ind, key in zip(individuals, decode_keys(self.config, individuals), strict=True):
            ind_id = self.ids.get(key, new.get(key))
            if ind_id is None:
                ind_id = new[key] = len(self.ids) + len(new)
                tasks.append((TRAIN, tuple(ind)))
            ids.append(ind_id)
        new_ids = list(new.values())
        keys = list(new) if self.logged else []
        lines = [""] * len(keys)

        def arrived(index: int, stats: IndividualStats) -> None:  # runs while the workers go on
            stats.id = new_ids[index]
            self.weighted[stats.id] = weighted_fitness(stats, self.weights, self.min_trades)
            if keys:
                lines[index] = log_line(keys[index], stats.id, stats)

        results = self.executor.map(tasks, on_result=arrived, keep=bar) if tasks else []
        for (key, ind_id), stats in zip(new.items(), results, strict=True):  # a fixed order
            self.ids[key] = ind_id
            self.stats[ind_id] = stats
        self._log.extend(lines)
        self.with_series.update(i for i in new_ids if bar.admits(self.weighted[i]))  # as the workers did
        self.evaluations += len(results)
        self.failed_evaluations += sum(stats.failed for stats in results)
        for ind, ind_id in zip(individuals, ids, strict=True):
            ind.score(ind_id, self.weighted[ind_id])
        return new_ids

    def evaluate_test(self, members: Sequence[Individual]) -> list[int]:
        """Evaluate on the test period the ``members`` not evaluated there yet; their ids."""
        todo = [ind for ind in members if ind.id not in self.test]
        results = self.executor.map([(TEST, tuple(ind)) for ind in todo]) if todo else []
        for ind, stats in zip(todo, results, strict=True):
            stats.id = ind.id
            self.test[ind.id] = stats
        self.test_evaluations += len(results)
        return [ind.id for ind in todo]

    def is_valid(self, ind_id: int) -> bool:
        """Whether an evaluation has a fitness (it did not fail, its objectives are
        defined and it made enough trades); the others rank worst."""
        return abs(self.weighted[ind_id][0]) < WORST  # all its values are worst, or none

    def keep_series_of(self, ids: set[int]) -> None:
        """Keep trades and equity (and test-period statistics) for ``ids`` only."""
        for ind_id in self.with_series - ids:
            self.stats[ind_id].drop_series()
        self.with_series &= ids
        self.test = {i: s for i, s in self.test.items() if i in ids}

    def take_log(self) -> list[str]:
        """The checkpoint log lines of the evaluations made since the last call."""
        lines, self._log = self._log, []
        return lines

    def restore(
        self,
        ids: dict[ParamsKey, int],
        stats: dict[int, IndividualStats],
        with_series: set[int],
        test: dict[int, IndividualStats],
        counts: tuple[int, int, int],
    ) -> None:
        """Take back a checkpointed ledger; ``counts``: evaluations, failed ones, test evaluations."""
        self.ids, self.stats, self.with_series, self.test = ids, stats, with_series, test
        self.weighted = {i: weighted_fitness(s, self.weights, self.min_trades) for i, s in stats.items()}
        self.evaluations, self.failed_evaluations, self.test_evaluations = counts
