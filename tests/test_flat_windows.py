"""Averages over equal prices are those prices: flat windows never fire a price-vs-average signal."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import indicators as ind
from optimizer.cache import ArrayCache
from optimizer.data import MarketData
from optimizer.signals import compute_signal
from tests.conftest import make_candles

# Kinds that compare a close with its own average, or two averages: silent on a flat market.
AVERAGE_KINDS = {
    "sma_above": {"period": 3},
    "sma_below": {"period": 3},
    "ema_above": {"period": 3},
    "ema_below": {"period": 3},
    "sma_cross_up": {"fast": 2, "slow": 3},
    "sma_cross_down": {"fast": 2, "slow": 3},
    "ema_cross_up": {"fast": 2, "slow": 3},
    "ema_cross_down": {"fast": 2, "slow": 3},
    "macd_cross_up": {"fast": 2, "slow": 3, "signal": 2},
    "macd_cross_down": {"fast": 2, "slow": 3, "signal": 2},
    "bollinger_above_upper": {"period": 3, "std": 0.5},
    "bollinger_below_lower": {"period": 3, "std": 0.5},
}

prices = st.floats(min_value=1e-200, max_value=1e200, allow_nan=False, allow_infinity=False)


def _flat_market(price: float, n: int) -> MarketData:
    flat = [price] * n
    return MarketData(make_candles(flat, flat, flat, flat, bar_seconds=60))


def test_three_equal_closes_have_their_own_value_as_sma():
    """0.1 + 0.1 + 0.1 is 0.30000000000000004: a plain sum puts SMA(3) one ulp above 0.1."""
    for price in (0.1, 0.7, 3.3, 100.1):
        assert ind.sma(np.full(3, price), 3)[2] == price
        lower, mid, upper = ind.bollinger(np.full(3, price), 3, 0.5)
        assert (lower[2], mid[2], upper[2]) == (price, price, price)


@pytest.mark.parametrize("price", [0.1, 0.7, 3.3, 100.1, 0.3, 29123.45])
@pytest.mark.parametrize("kind", sorted(AVERAGE_KINDS))
def test_no_average_signal_fires_on_a_flat_market(kind, price):
    market = _flat_market(price, 40)
    values = compute_signal(market, kind, AVERAGE_KINDS[kind], None, "normal", ArrayCache())
    assert values.sum() == 0, f"{kind} fires on a flat market at {price!r}: bars {np.flatnonzero(values)}"


@settings(max_examples=300, deadline=None)
@given(price=prices, period=st.integers(1, 80), extra=st.integers(0, 40))
def test_every_average_of_equal_inputs_is_the_input(price, period, extra):
    x = np.full(period + extra, price)
    defined = slice(period - 1, None)
    for name, values in (
        ("sma", ind.sma(x, period)),
        ("ema", ind.ema(x, period)),
        ("wilder", ind.wilder(x, period)),
        *zip(("bollinger lower", "bollinger middle", "bollinger upper"), ind.bollinger(x, period, 2.0), strict=True),
    ):
        assert np.isnan(values[: period - 1]).all(), name
        np.testing.assert_array_equal(values[defined], x[defined], err_msg=f"{name}({period}) of {price!r}")
    assert (ind.rolling_std(x, period)[defined] == 0.0).all()


@settings(max_examples=100, deadline=None)
@given(price=prices, period=st.integers(1, 30), before=st.integers(1, 60))
def test_an_average_returns_to_the_price_once_its_window_is_flat(price, period, before):
    """After moving prices, a window of equal prices averages to exactly that price (no drift left)."""
    rng = np.random.default_rng(before)
    x = np.r_[price * np.exp(rng.normal(0, 0.5, before)), np.full(period + 5, price)]
    got = ind.sma(x, period)
    np.testing.assert_array_equal(got[before + period - 1 :], price)
    for band in ind.bollinger(x, period, 2.0):
        np.testing.assert_array_equal(band[before + period - 1 :], price)
