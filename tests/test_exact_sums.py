"""Rolling sums that do not drift: an SMA over ten million bars is the exact mean, to the last ulp."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from optimizer import indicators as ind

BARS = 10_000_000
CHECKED = 400  # bars checked per example: spread over the series, plus its last bars


def _series(shape: str, rng: np.random.Generator) -> np.ndarray:
    """Ten million values of one shape: a price walk, ticks with long flat runs, or signed values
    spanning sixteen orders of magnitude (where a rounded rolling sum cancels badly)."""
    if shape == "walk":
        return 3e4 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, BARS)))
    if shape == "ticks":
        steps = rng.choice([-1.0, 0.0, 0.0, 0.0, 1.0], BARS)
        return 0.01 * np.round(1e6 + np.cumsum(steps)) + 0.1
    return rng.normal(0.0, 1.0, BARS) * 10.0 ** rng.integers(-8, 9, BARS)


@pytest.mark.slow
@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    period=st.integers(1, 2000),
    shape=st.sampled_from(["walk", "ticks", "signed"]),
)
@example(seed=5, period=1, shape="signed")  # a compensated rolling sum was ~500000 ulps off here
def test_sma_over_ten_million_bars_is_within_one_ulp_of_the_exact_mean(seed, period, shape):
    rng = np.random.default_rng(seed)
    x = _series(shape, rng)
    got = ind.sma(x, period)
    assert np.isnan(got[: period - 1]).all()
    checked = np.r_[rng.integers(period - 1, BARS, CHECKED), np.arange(BARS - 20, BARS)]
    for i in checked:
        exact = math.fsum(x[i - period + 1 : i + 1]) / period
        assert abs(got[i] - exact) <= math.ulp(exact), (int(i), float(got[i]), exact)
