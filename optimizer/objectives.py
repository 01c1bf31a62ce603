"""Objectives: which statistics a run optimizes, and in which direction.

A fitness is the list of the objectives' metric values, in configuration order,
each in the metric's own unit. An undefined metric (None: e.g. a Sharpe ratio
with no trades) has no fitness value; the optimizer ranks it worst.

The weighted fitness (DEAP's ``wvalues``: each value times its objective's
weight, +1 or -1, so that larger is better everywhere) is computed in one place,
`weighted_fitness`, for the optimizer and for its workers (`EliteBar`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from optimizer.config_search import Objective
from optimizer.periods import EVERY_DAY, NS_PER_DAY, period_returns
from optimizer.stats import MIN_CAGR_DAYS, MIN_RETURN_PERIODS, IndividualStats

WORST = 1e300  # the worst fitness, as a finite number (NSGA-II's crowding distance needs finite values)


def fitness_of(stats: IndividualStats, objectives: Sequence[Objective]) -> list[float | None]:
    """The metric values of ``stats`` for each objective (None when undefined)."""
    return [stats.metric(objective.metric) for objective in objectives]


def weights_of(objectives: Sequence[Objective]) -> tuple[float, ...]:
    """DEAP-style weights: +1.0 to maximize, -1.0 to minimize, per objective."""
    return tuple(1.0 if objective.goal == "max" else -1.0 for objective in objectives)


def weighted_fitness(stats: IndividualStats, weights: Sequence[float], min_trades: int) -> tuple[float, ...]:
    """DEAP's weighted fitness values of ``stats``: its objectives' metric values
    times their ``weights``, or the worst (``-WORST`` each) for an individual that
    failed, has an undefined objective or made fewer than ``min_trades`` trades."""
    fitness = stats.fitness  # called for every evaluation, in the workers and the coordinator: kept plain
    if stats.failed or stats.total_trades < min_trades or None in fitness:
        return (-WORST,) * len(weights)
    if len(weights) == 1 == len(fitness):
        return (float(fitness[0]) * weights[0],)
    return tuple(float(v) * w for v, w in zip(fitness, weights, strict=True))


@dataclass(frozen=True)
class EliteBar:
    """What an evaluation must beat to be able to join the elite, known before it
    is made; workers drop the trades and equity of evaluations that cannot (most of
    a generation), so those series are neither sent nor kept.

    ``floor`` (one objective, the hall of fame full): the weighted fitness of its
    last member; DEAP's hall of fame takes only a strictly better one. ``front``
    (several objectives): the weighted fitnesses of the Pareto front; DEAP's front
    takes only one that none of them dominates. Both only get better during a run,
    so an evaluation below the bar when it is made never joins the elite later.
    An empty bar (the default) admits everything.

    To an executor the bar is only a series filter (`keeps`): ``weights`` and
    ``min_trades`` turn an evaluation's statistics into its weighted fitness.
    """

    weights: tuple[float, ...] = ()
    min_trades: int = 0
    floor: tuple[float, ...] | None = None
    front: tuple[tuple[float, ...], ...] = ()
    _front: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def keeps(self, stats: IndividualStats) -> bool:
        """Whether an evaluation keeps its trades and equity: it may join the elite."""
        return self.admits(weighted_fitness(stats, self.weights, self.min_trades))

    def admits(self, wvalues: Sequence[float]) -> bool:
        """Whether an evaluation with these weighted fitness values may join the elite."""
        if self.floor is not None:
            return tuple(wvalues) > self.floor
        if not self.front:
            return True
        front = self._front
        if front is None:
            front = np.asarray(self.front, dtype=np.float64)
            object.__setattr__(self, "_front", front)
        w = np.asarray(wvalues, dtype=np.float64)
        dominated = np.all(front >= w, axis=1) & np.any(front > w, axis=1)
        return not bool(dominated.any())

    def __getstate__(self) -> tuple:
        return self.weights, self.min_trades, self.floor, self.front

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(("weights", "min_trades", "floor", "front"), state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_front", None)


# Objectives that are undefined (None for every individual) on a window too short for them.
NEEDS_RETURN_PERIODS = ("sharpe", "sortino")
NEEDS_A_YEAR = ("cagr_pct", "calmar")


def undefined_objectives(
    objectives: Sequence[Objective], time: np.ndarray, bar_ns: int, trading_days: int
) -> list[str]:
    """One ``objectives.N.metric: ...`` line per objective that no individual can
    have on the bars opening at ``time`` (int64 ns, the training window): Sharpe and
    Sortino need `MIN_RETURN_PERIODS` period returns, CAGR and Calmar `MIN_CAGR_DAYS`
    days (docs/ENGINE.md). Such a run would rank every individual worst."""
    if not len(time):
        return []
    periods = period_returns(np.ones(len(time)), time, bar_ns, trading_days == EVERY_DAY)[0]
    days = (int(time[-1]) + bar_ns - int(time[0])) / NS_PER_DAY
    problems = []
    for k, objective in enumerate(objectives):
        metric = objective.metric
        if metric in NEEDS_RETURN_PERIODS and periods < MIN_RETURN_PERIODS:
            problems.append(f"objectives.{k}.metric: {metric} needs {MIN_RETURN_PERIODS} daily returns and the "
                            f"training window has {periods}: every individual would be undefined (use "
                            f"sharpe_per_bar, or more data)")  # fmt: skip
        elif metric in NEEDS_A_YEAR and days < MIN_CAGR_DAYS:
            problems.append(f"objectives.{k}.metric: {metric} needs a window of {MIN_CAGR_DAYS:g} days and the "
                            f"training window spans {days:.1f}: every individual would be undefined (use "
                            f"total_return_pct, or more data)")  # fmt: skip
    return problems
