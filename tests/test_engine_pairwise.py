"""`optimizer.pairwise` against numpy: the same floats, bit for bit, at every length."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optimizer.pairwise import deviation_sums, pairwise_sum, pairwise_sum_squares, pairwise_sums_and_squares

LENGTHS = [*range(0, 140), 255, 256, 257, 1000, 4999, 5000, 13_681, 100_003]


@pytest.mark.parametrize("n", LENGTHS)
def test_sums_are_numpys_bit_for_bit(n):
    rng = np.random.default_rng(n)
    a = np.concatenate(([0.0, 0.0], rng.standard_normal(n) * 1e-3 + 2e-6, [0.0]))  # offsets off 8-alignment
    values = a[2 : 2 + n]
    assert pairwise_sum(a, 2, n) == values.sum()
    assert pairwise_sum_squares(a, 2, n) == (values * values).sum()
    assert pairwise_sums_and_squares(a, 2, n) == (values.sum(), (values * values).sum())
    if n:
        mean = values.mean()
        deviations = values - mean
        squares = deviations * deviations
        assert deviation_sums(a, 2, n, mean) == (squares.sum(), (squares * deviations).sum(), (squares * squares).sum())


def test_reduceat_is_the_first_value_plus_the_pairwise_sum_of_the_rest():
    rng = np.random.default_rng(3)
    values = rng.standard_normal(10_007) * 1e-3
    bounds = (np.arange(17) * len(values)) // 16
    expected = np.add.reduceat(values, bounds[:-1])
    mine = [values[lo] + pairwise_sum(values, lo + 1, hi - lo - 1) for lo, hi in itertools.pairwise(bounds)]
    assert list(expected) == mine
