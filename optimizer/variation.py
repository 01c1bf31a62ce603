"""The single-objective GA's selection and variation on genes in [0, 1], draw for draw DEAP's.

`tournament`, `sbx` and `polynomial_mutation` are DEAP's ``selTournament``,
``cxSimulatedBinaryBounded`` and ``mutPolynomialBounded`` with bounds 0 and 1:
the same calls to the `random` module in the same order and the same floating-point
expressions, so they give the same individuals and leave the same random state
(`tests/test_variation.py` checks both against DEAP's on many seeds). They exist
because the coordinating process runs them between generations while every worker
waits: DEAP's general forms (a Python attribute getter per aspirant, bound
sequences, ``zip(range(...), repeat(...))``) cost several milliseconds a
generation, as much as a generation's evaluations at 5,000 bars.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any


def tournament(individuals: Sequence[Any], k: int, size: int) -> list[Any]:
    """``k`` winners of tournaments of ``size`` aspirants drawn with replacement,
    compared by their ``rank`` (the first of equal ones wins): DEAP's
    ``selTournament(individuals, k, size, fit_attr="rank")``.

    An aspirant is drawn as ``random.choice`` draws an index below n (CPython's
    ``_randbelow_with_getrandbits``: ``getrandbits(n.bit_length())`` until below
    n), inlined: the draws are the same, three Python calls fewer per aspirant."""
    ranks = [ind.rank for ind in individuals]
    n = len(individuals)
    if not n:
        raise IndexError("a tournament needs individuals")
    bits = n.bit_length()
    getrandbits = random.getrandbits
    chosen = []
    for _ in range(k):
        best = -1
        best_rank = None
        for _ in range(size):
            r = getrandbits(bits)
            while r >= n:
                r = getrandbits(bits)
            if best < 0 or ranks[r] > best_rank:
                best, best_rank = r, ranks[r]
        chosen.append(individuals[best])
    return chosen


def sbx(ind1: list[float], ind2: list[float], eta: float) -> None:
    """Bounded simulated binary crossover of two gene lists in [0, 1], in place:
    DEAP's ``cxSimulatedBinaryBounded(ind1, ind2, eta, low=0.0, up=1.0)``."""
    rand01 = random.random
    xl, xu = 0.0, 1.0
    power = 1.0 / (eta + 1)
    for i in range(min(len(ind1), len(ind2))):
        if rand01() <= 0.5:
            a, b = ind1[i], ind2[i]
            if abs(a - b) > 1e-14:
                x1 = min(a, b)
                x2 = max(a, b)
                rand = rand01()

                c1 = 0.5 * (x1 + x2 - _spread(1.0 + (2.0 * (x1 - xl) / (x2 - x1)), rand, eta, power) * (x2 - x1))
                c2 = 0.5 * (x1 + x2 + _spread(1.0 + (2.0 * (xu - x2) / (x2 - x1)), rand, eta, power) * (x2 - x1))

                c1 = min(max(c1, xl), xu)
                c2 = min(max(c2, xl), xu)
                if rand01() <= 0.5:
                    ind1[i], ind2[i] = c2, c1
                else:
                    ind1[i], ind2[i] = c1, c2


def _spread(beta: float, rand: float, eta: float, power: float) -> float:
    """SBX's spread factor beta_q of a child from its side's beta, as DEAP computes it."""
    alpha = 2.0 - beta ** -(eta + 1)
    if rand <= 1.0 / alpha:
        return (rand * alpha) ** power
    return (1.0 / (2.0 - rand * alpha)) ** power


def polynomial_mutation(individual: list[float], eta: float, indpb: float) -> None:
    """Bounded polynomial mutation of a gene list in [0, 1], each gene with
    probability ``indpb``, in place: DEAP's ``mutPolynomialBounded(individual,
    eta, low=0.0, up=1.0, indpb)``."""
    rand01 = random.random
    xl, xu = 0.0, 1.0
    mut_pow = 1.0 / (eta + 1.0)
    for i in range(len(individual)):
        if rand01() <= indpb:
            x = individual[i]
            delta_1 = (x - xl) / (xu - xl)
            delta_2 = (xu - x) / (xu - xl)
            rand = rand01()
            if rand < 0.5:
                xy = 1.0 - delta_1
                val = 2.0 * rand + (1.0 - 2.0 * rand) * xy ** (eta + 1)
                delta_q = val**mut_pow - 1.0
            else:
                xy = 1.0 - delta_2
                val = 2.0 * (1.0 - rand) + 2.0 * (rand - 0.5) * xy ** (eta + 1)
                delta_q = 1.0 - val**mut_pow
            x = x + delta_q * (xu - xl)
            individual[i] = min(max(x, xl), xu)
