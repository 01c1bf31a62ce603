"""Properties of the kernel on random markets and random signals (hypothesis)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.backtest import REASONS, simulate
from optimizer.data import MarketData
from optimizer.engine import Engine
from optimizer.strategy import decode
from tests.conftest import parse, sma_cross_config

STOP_LOSS = REASONS.index("stop_loss")


@st.composite
def markets(draw):
    """Random OHLC bars (valid: low <= open, close <= high) with random signals."""
    n = draw(st.integers(2, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    volatility = draw(st.sampled_from([0.001, 0.02, 0.2]))
    close = 100 * np.exp(np.cumsum(rng.normal(0, volatility, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, volatility / 2, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, volatility, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, volatility, n))
    density = draw(st.sampled_from([0.05, 0.3, 0.9]))
    flags = [rng.random(n) < density for _ in range(4)]
    day_end = rng.random(n) < 0.1
    return open_, high, low, close, day_end, *flags


def _options(draw):
    maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731
    return {
        "fill_close": draw(st.booleans()),
        "commission": draw(st.sampled_from([0.0, 0.001, 0.01])),
        "slippage": draw(st.sampled_from([0.0, 0.0005, 0.01])),
        "position_fraction": draw(st.sampled_from([0.1, 0.5, 1.0])),
        "stop_loss": draw(maybe(st.floats(0.001, 0.5))),
        "take_profit": draw(maybe(st.floats(0.001, 2.0))),
        "trailing_stop": draw(maybe(st.floats(0.001, 0.5))),
        "trailing_activation": draw(st.sampled_from([0.0, 0.01, 0.1])),
        "max_bars": draw(maybe(st.integers(1, 20))),
        "end_of_day": draw(st.booleans()),
    }


options = st.composite(_options)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market=markets(), opts=options())
def test_kernel_invariants(market, opts):
    _, h, lo, c = market[:4]
    r = simulate(*market, **opts)
    n = len(c)
    # Equity is never negative (a short's loss is capped at what it committed) and starts from 1.
    assert np.all(r.equity >= 0)
    assert np.all(np.isfinite(r.equity))
    # Every exit is at or after its entry; with fills at the close strictly after.
    assert np.all(r.exit_index >= r.entry_index)
    if opts["fill_close"]:
        assert np.all(r.exit_index > r.entry_index)
    # Trades do not overlap and come in order.
    assert np.all(r.entry_index[1:] >= r.exit_index[:-1])
    # Fills are prices the bar traded at (before slippage).
    s = opts["slippage"]
    for k in range(len(r)):
        i, j, side = r.entry_index[k], r.exit_index[k], r.side[k]
        raw_exit = r.exit_price[k] / (1 - s) if side > 0 else r.exit_price[k] / (1 + s)
        assert lo[j] * (1 - 1e-12) <= raw_exit <= h[j] * (1 + 1e-12)
        raw_entry = r.entry_price[k] / (1 + s) if side > 0 else r.entry_price[k] / (1 - s)
        assert lo[i] * (1 - 1e-12) <= raw_entry <= h[i] * (1 + 1e-12)
    # The last trade is closed by the end of the data at the latest.
    if len(r):
        assert r.exit_index[-1] <= n - 1
    # A trade held within one bar held that bar; no bar is held twice.
    assert np.all(r.bars_held >= 1) and r.bars_held.sum() <= n
    # Ruin ends trading: a full-size trade that returns nothing is the last one.
    ruined = np.flatnonzero(r.pnl_pct == -1.0)
    if opts["position_fraction"] == 1.0 and len(ruined):
        assert ruined[0] == len(r) - 1
        assert np.all(r.equity[r.exit_index[-1] :] == 0.0)
    # Compounding: final equity is the product of per-trade factors.
    factors = 1 + opts["position_fraction"] * r.pnl_pct
    assert np.isclose(r.equity[-1], np.prod(factors), rtol=1e-9)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market=markets(), opts=options())
def test_stop_loss_loses_at_most_the_stop_plus_costs_unless_the_bar_gapped(market, opts):
    o = market[0]
    r = simulate(*market, **opts)
    sl, c, s = opts["stop_loss"], opts["commission"], opts["slippage"]
    for k in np.flatnonzero(r.reason == STOP_LOSS):
        j, side, entry = r.exit_index[k], r.side[k], r.entry_price[k]
        short_level = entry * (1 + sl) if sl is not None else 2.0 * entry  # no stop-loss: liquidated at worth 0
        level = entry * (1 - sl) if side > 0 else short_level
        gapped = o[j] <= level if side > 0 else o[j] >= level
        if gapped:  # (also on the entry bar when slippage exceeds the stop distance)
            continue
        # Worst case: exit at the level, slippage on the exit, commission on both sides.
        slip = (1 - s) if side > 0 else (1 + s)
        worst_exit = level * slip
        move = worst_exit / entry if side > 0 else 2 - worst_exit / entry
        bound = (1 - c) ** 2 * move - 1
        assert r.pnl_pct[k] >= bound - 1e-12, (k, r.pnl_pct[k], bound)


def _shuffled(value, rng: random.Random):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), genes=st.lists(st.floats(0, 1), min_size=6, max_size=6))
def test_results_do_not_depend_on_the_order_of_config_keys(seed, genes, goog_candles):
    doc = sma_cross_config({"min": 3, "max": 20, "type": "int"}, {"min": 25, "max": 80, "type": "int"},
                           stop_loss={"min": 0.01, "max": 0.1}, take_profit={"min": 0.02, "max": 0.3})  # fmt: skip
    doc["strategy"]["signals"]["trend"] = {"kind": "rsi_above", "params": {"period": 14, "level": 45.0}}
    doc["strategy"]["entry"]["weights"]["trend"] = 1.0
    doc["strategy"]["entry"]["threshold"] = 0.5
    shuffled = _shuffled(doc, random.Random(seed))
    market = MarketData(goog_candles)  # fresh per example; the candles are the session's
    a, b = parse(doc), parse(shuffled)
    assert a.gene_names == b.gene_names
    assert decode(a, genes) == decode(b, genes)
    sa = Engine(a, market).evaluate(decode(a, genes)).to_dict()
    sb = Engine(b, market).evaluate(decode(b, genes)).to_dict()
    assert sa == sb
