"""The elite on its own: one entry per distinct fitness with its ties, the Pareto
front capped by crowding distance, and a checkpointed elite that goes on exactly."""

from __future__ import annotations

import json
import random

import pytest
from deap import tools

from optimizer.elite import Elite
from optimizer.individual import Individual, clone, fitness_class


def _batches(weights, rng, count, *, values=4, genes=("a", "b")):
    """``count`` batches of individuals with small integer fitness values (many
    ties) and their parameters (id -> gene -> value)."""
    fitness = fitness_class(weights)
    params = {}
    batches = []
    next_id = 0
    for _ in range(count):
        batch = []
        for _ in range(rng.randint(1, 12)):
            ind = Individual([rng.random()], fitness)
            ind.score(next_id, tuple(float(rng.randint(0, values)) for _ in weights))
            params[next_id] = {g: rng.randint(0, 100) for g in genes}
            next_id += 1
            batch.append(ind)
        if batch and rng.random() < 0.5:  # a cache hit: an id offered before comes again
            batch.append(clone(batch[0]))
        batches.append(batch)
    return batches, params


def _dominates(a, b):
    return all(x >= y for x, y in zip(a, b, strict=True)) and a != b


@pytest.mark.parametrize("weights", [(1.0,), (-1.0,), (1.0, -1.0), (1.0, 1.0, -1.0)])
def test_one_entry_per_fitness_with_its_first_id_count_and_ranges(weights):
    """Uncapped (a size no run here reaches): the entries are the best (one objective)
    or the non-dominated (several) distinct values, each represented by its first
    evaluation, with every evaluation of that value counted."""
    rng = random.Random(3)
    for _ in range(40):
        size = 3 if len(weights) == 1 else 1000
        batches, params = _batches(weights, rng, rng.randint(1, 6))
        elite = Elite(weights, size, 0, ["a", "b"])
        for batch in batches:
            elite.offer(batch, params.__getitem__)
        everything = {ind.id: ind.fitness.wvalues for batch in batches for ind in batch}
        groups: dict[tuple, list[int]] = {}
        for ind_id in sorted(everything):
            groups.setdefault(everything[ind_id], []).append(ind_id)
        if len(weights) == 1:
            expected = sorted(groups, reverse=True)[:size]
        else:
            expected = [w for w in groups if not any(_dominates(v, w) for v in groups)]
        assert sorted(ind.fitness.wvalues for ind in elite) == sorted(expected)
        table = elite.tie_table()
        for ind in elite:
            ids = groups[ind.fitness.wvalues]
            entry = table[ind.id]
            assert ind.id == ids[0] and entry.ties == len(ids)
            for gene in ("a", "b"):
                values = [params[i][gene] for i in ids]
                assert entry.tie_ranges[gene] == [min(values), max(values)]


def test_a_front_larger_than_its_size_keeps_the_largest_crowding_distances():
    weights = (1.0, -1.0)
    fitness = fitness_class(weights)
    rng = random.Random(9)
    for _ in range(30):
        xs = rng.sample(range(100), 12)
        front = []
        for ind_id, x in enumerate(xs):  # all non-dominated: maximize x, minimize x
            ind = Individual([0.5], fitness)
            ind.score(ind_id, (float(x), -float(x)))
            front.append(ind)
        elite = Elite(weights, 5, 0)
        elite.offer(front, lambda i: {})
        reference = [clone(ind) for ind in front]
        tools.emo.assignCrowdingDist(reference)
        kept = sorted(reference, key=lambda ind: (-ind.fitness.crowding_dist, ind.id))[:5]
        assert elite.ids() == {ind.id for ind in kept} and len(elite) == 5
        # The extremes have an infinite distance: always kept.
        assert {min(range(12), key=xs.__getitem__), max(range(12), key=xs.__getitem__)} <= elite.ids()
        # A value crowded out stays out, also when an equal one comes later.
        gone = next(ind for ind in front if ind.id not in elite.ids())
        again = Individual([0.1], fitness)
        again.score(100, gone.fitness.wvalues)
        elite.offer([again], lambda i: {})
        assert 100 not in elite.ids() and len(elite) == 5


@pytest.mark.parametrize("weights", [(1.0,), (1.0, -1.0)])
def test_a_checkpointed_elite_goes_on_as_the_uninterrupted_one(weights):
    rng = random.Random(11)
    fitness = fitness_class(weights)
    for _ in range(40):
        batches, params = _batches(weights, rng, 6, values=8)
        whole = Elite(weights, 4, 0, ["a", "b"])
        for batch in batches:
            whole.offer(batch, params.__getitem__)
        cut = rng.randint(1, 5)
        first = Elite(weights, 4, 0, ["a", "b"])
        for batch in batches[:cut]:
            first.offer(batch, params.__getitem__)
        resumed = Elite(weights, 4, 0, ["a", "b"])
        resumed.restore(json.loads(json.dumps(first.to_state())), fitness)
        assert resumed.marker() == first.marker() and resumed.bar() == first.bar()
        for batch in batches[:cut]:  # offered again after a resume: changes nothing
            resumed.offer(batch, params.__getitem__)
        for batch in batches[cut:]:
            resumed.offer(batch, params.__getitem__)
        assert resumed.marker() == whole.marker()
        assert resumed.to_state() == whole.to_state()
