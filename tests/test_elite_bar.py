"""The elite's bar: what an evaluation must beat to be able to join the elite,
checked against DEAP's own hall of fame and Pareto front, and applied by real
worker processes."""

from __future__ import annotations

import copy
import random

import pytest
from deap import base, tools

from optimizer.elite import Elite
from optimizer.evaluation import ProcessExecutor, RunSpec
from optimizer.individual import Individual, fitness_class
from optimizer.objectives import EliteBar, weighted_fitness, weights_of
from tests.conftest import parse, sma_cross_config


def _same(a, b) -> bool:
    return a.id == b.id


@pytest.mark.parametrize("weights", [(1.0,), (-1.0,), (1.0, -1.0), (1.0, 1.0, -1.0)])
def test_the_bar_admits_exactly_what_deap_would_take(weights):
    """Small integer fitnesses (many ties); a hall of fame of 5 once full, a Pareto
    front of any size: an evaluation is admitted if and only if DEAP's update takes it."""
    fitness_class = type("Fitness", (base.Fitness,), {"weights": weights})
    rng = random.Random(7)
    next_id = iter(range(10**9))

    def individual() -> Individual:
        ind = Individual([rng.random()], fitness_class)
        ind.id = next(next_id)
        ind.fitness.values = tuple(float(rng.randint(0, 5)) for _ in weights)
        return ind

    checked = {True: 0, False: 0}
    for _ in range(300):
        if len(weights) == 1:
            elite = tools.HallOfFame(5, similar=_same)
            elite.update([individual() for _ in range(rng.randint(5, 12))])
            bar = EliteBar(weights, floor=elite[-1].fitness.wvalues)
        else:
            elite = tools.ParetoFront(similar=_same)
            elite.update([individual() for _ in range(rng.randint(0, 12))])
            bar = EliteBar(weights, front=tuple(ind.fitness.wvalues for ind in elite))
        candidate = individual()
        trial = copy.deepcopy(elite)
        trial.update([candidate])
        taken = any(ind.id == candidate.id for ind in trial)
        assert bar.admits(candidate.fitness.wvalues) == taken
        checked[taken] += 1
    assert min(checked.values()) > 30  # both answers were exercised


def test_an_empty_bar_admits_everything():
    assert EliteBar().admits((-1e300,)) and EliteBar(front=()).admits((0.0, 0.0))


@pytest.mark.slow
def test_workers_drop_the_series_of_what_the_bar_does_not_admit(eurusd_candles):
    """The same statistics with and without a bar, through worker processes; only
    those above the bar keep their trades and equity."""
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"})
    config = parse(doc)
    weights = weights_of(config.objectives)
    rng = random.Random(3)
    tasks = [("train", tuple(rng.random() for _ in config.genes)) for _ in range(40)]
    with ProcessExecutor(RunSpec(config.raw, None), eurusd_candles, 2) as executor:
        full = executor.map(tasks)
        ranked = sorted(weighted_fitness(s, weights, 1) for s in full)
        bar = EliteBar(weights, 1, floor=ranked[len(ranked) // 2])
        barred = executor.map(tasks, keep=bar)
    kept = 0
    for a, b in zip(full, barred, strict=True):
        assert a.to_dict(series=False) == b.to_dict(series=False)
        assert a.equity_time.size and a.trade_side.size
        if bar.admits(weighted_fitness(a, weights, 1)):
            kept += 1
            assert a.to_dict() == b.to_dict()
        else:
            assert not b.equity_time.size and not b.trade_side.size and not b.pnl_history.size
    assert 0 < kept < len(tasks)


@pytest.mark.parametrize("weights", [(1.0,), (-1.0,), (1.0, -1.0), (1.0, 1.0, -1.0)])
def test_the_bar_admits_whatever_the_elite_would_take(weights):
    """Our elite (distinct values, ties, a capped front): an evaluation that would
    become a new entry is always admitted by the bar made before it."""
    fitness = fitness_class(weights)
    rng = random.Random(5)
    taken = 0
    for _ in range(100):
        elite = Elite(weights, 4, 0)
        ids = iter(range(10**9))
        for _ in range(rng.randint(1, 6)):
            batch = []
            for _ in range(rng.randint(1, 10)):
                ind = Individual([rng.random()], fitness)
                ind.score(next(ids), tuple(float(rng.randint(0, 6)) for _ in weights))
                batch.append(ind)
            bar = elite.bar()
            before = elite.ids()
            elite.offer(batch, lambda i: {})
            for ind_id in elite.ids() - before:
                ind = next(ind for ind in batch if ind.id == ind_id)
                assert bar.admits(ind.fitness.wvalues)
                taken += 1
    assert taken > 100
