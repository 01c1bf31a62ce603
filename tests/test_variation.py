"""The GA's tournament, SBX and polynomial mutation against DEAP's own, draw for draw."""

from __future__ import annotations

import random

import pytest
from deap import tools

from optimizer.individual import Individual, fitness_class
from optimizer.variation import polynomial_mutation, sbx, tournament


def _genes(rng: random.Random, n: int) -> list[float]:
    """Genes in [0, 1], some exactly at a bound or equal to each other (SBX's and the clip's edges)."""
    out = []
    for _ in range(n):
        pick = rng.random()
        out.append(0.0 if pick < 0.1 else 1.0 if pick < 0.2 else 0.5 if pick < 0.25 else rng.random())
    return out


@pytest.mark.parametrize("eta", [0.5, 2, 15.0, 20])
def test_sbx_and_mutation_are_deaps_draw_for_draw(eta):
    for seed in range(300):
        rng = random.Random(seed)
        n = rng.randint(1, 9)
        a, b = _genes(rng, n), _genes(rng, n)
        if seed % 7 == 0:
            b = list(a)  # identical parents: no gene crosses
        ours_a, ours_b, deap_a, deap_b = list(a), list(b), list(a), list(b)
        random.seed(seed)
        sbx(ours_a, ours_b, eta)
        polynomial_mutation(ours_a, eta, 1.0 / n)
        polynomial_mutation(ours_b, eta, 1.0)
        state = random.getstate()
        random.seed(seed)
        tools.cxSimulatedBinaryBounded(deap_a, deap_b, eta=eta, low=0.0, up=1.0)
        tools.mutPolynomialBounded(deap_a, eta=eta, low=0.0, up=1.0, indpb=1.0 / n)
        tools.mutPolynomialBounded(deap_b, eta=eta, low=0.0, up=1.0, indpb=1.0)
        assert (ours_a, ours_b) == (deap_a, deap_b), seed  # exactly: the same floats
        assert random.getstate() == state, seed  # and the same draws
        assert all(0.0 <= g <= 1.0 for g in ours_a + ours_b)


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_tournament_is_deaps_with_ties_first_wins(size):
    fitness = fitness_class((1.0, -1.0))
    rng = random.Random(size)
    population = []
    for i in range(60):
        ind = Individual([rng.random()], fitness)
        ind.fitness.values = (float(rng.randint(0, 5)), float(rng.randint(0, 2)))  # many equal ranks
        ind.id = i
        population.append(ind)
    for seed in range(50):
        random.seed(seed)
        ours = tournament(population, 45, size)
        state = random.getstate()
        random.seed(seed)
        theirs = tools.selTournament(population, 45, tournsize=size, fit_attr="rank")
        assert [ind.id for ind in ours] == [ind.id for ind in theirs]
        assert all(a is b for a, b in zip(ours, theirs, strict=True))
        assert random.getstate() == state
