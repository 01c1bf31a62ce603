"""Indicators against plain-Python reference loops and pandas; signals and their cache."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optimizer import indicators as ind
from optimizer.cache import ArrayCache
from optimizer.data.timeframes import parse_timeframe
from optimizer.signals import BUILT_IN_KINDS, SIGNAL_KINDS, compute_signal, cross_up


def _ema_ref(x, period):
    out = [math.nan] * len(x)
    value = math.fsum(x[:period]) / period
    out[period - 1] = value
    alpha = 2 / (period + 1)
    for i in range(period, len(x)):
        value += alpha * (x[i] - value)
        out[i] = value
    return np.array(out)


def _wilder_ref(x, period, start=0):
    out = [math.nan] * len(x)
    if len(x) - start < period:
        return np.array(out)
    value = math.fsum(x[start : start + period]) / period
    out[start + period - 1] = value
    for i in range(start + period, len(x)):
        value += (x[i] - value) / period
        out[i] = value
    return np.array(out)


def test_sma_and_std_match_pandas(goog_candles):
    close = pd.Series(goog_candles.close)
    for period in (1, 2, 10, 50, 200):
        np.testing.assert_allclose(ind.sma(goog_candles.close, period), close.rolling(period).mean(), rtol=1e-12)
        np.testing.assert_allclose(ind.rolling_std(goog_candles.close, period), close.rolling(period).std(ddof=0),
                                   rtol=1e-9, atol=1e-12)  # fmt: skip


def test_sma_stays_exact_over_a_million_bars():
    """The exact rolling sum does not drift: the last value equals a fresh mean."""
    rng = np.random.default_rng(1)
    x = 1e4 + np.cumsum(rng.normal(0, 1, 1_000_000))
    got = ind.sma(x, 37)
    assert got[-1] == pytest.approx(x[-37:].mean(), rel=1e-14)


def test_sma_of_a_window_with_a_missing_value_is_undefined_until_it_leaves():
    x = np.array([np.nan, 1.0, 2.0, np.nan, 4.0, 5.0, 6.0, np.inf, 8.0, 9.0])
    got = ind.sma(x, 2)
    np.testing.assert_array_equal(got, [np.nan, np.nan, 1.5, np.nan, np.nan, 4.5, 5.5, np.nan, np.nan, 8.5])


def test_ema_rsi_macd_match_reference_loops(goog_candles):
    x = goog_candles.close.tolist()
    for period in (2, 12, 26):
        np.testing.assert_allclose(ind.ema(goog_candles.close, period), _ema_ref(x, period), rtol=1e-12)
    changes = [math.nan] + [x[i] - x[i - 1] for i in range(1, len(x))]
    gains = _wilder_ref([max(c, 0.0) if i else math.nan for i, c in enumerate(changes)], 14, start=1)
    losses = _wilder_ref([max(-c, 0.0) if i else math.nan for i, c in enumerate(changes)], 14, start=1)
    expected_rsi = 100 - 100 / (1 + gains / losses)
    np.testing.assert_allclose(ind.rsi(goog_candles.close, 14), expected_rsi, rtol=1e-10)
    line, signal, hist = ind.macd(goog_candles.close, 12, 26, 9)
    ref_line = _ema_ref(x, 12) - _ema_ref(x, 26)
    ref_signal = np.full(len(x), np.nan)
    ref_signal[25:] = _ema_ref(ref_line[25:].tolist(), 9)
    np.testing.assert_allclose(line, ref_line, rtol=1e-12)
    np.testing.assert_allclose(signal, ref_signal, rtol=1e-10)
    np.testing.assert_allclose(hist, ref_line - ref_signal, rtol=1e-8, atol=1e-10)


def test_rsi_flat_prices_and_only_gains():
    assert np.all(ind.rsi(np.full(30, 5.0), 14)[14:] == 50.0)
    assert np.all(ind.rsi(np.arange(1.0, 31.0), 14)[14:] == 100.0)
    assert np.isnan(ind.rsi(np.arange(1.0, 31.0), 14)[:14]).all()


def test_atr_and_adx_match_reference_loops(goog_candles):
    h, lo, c = goog_candles.high.tolist(), goog_candles.low.tolist(), goog_candles.close.tolist()
    n = len(c)
    tr = [h[0] - lo[0]] + [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, n)]
    np.testing.assert_allclose(
        ind.atr(goog_candles.high, goog_candles.low, goog_candles.close, 14), _wilder_ref(tr, 14), rtol=1e-12
    )
    plus = [math.nan] * n
    minus = [math.nan] * n
    for i in range(1, n):
        up, down = h[i] - h[i - 1], lo[i - 1] - lo[i]
        plus[i] = up if up > down and up > 0 else 0.0
        minus[i] = down if down > up and down > 0 else 0.0
    tr1 = [math.nan, *tr[1:]]
    sp, sm, st = (_wilder_ref(v, 14, start=1) for v in (plus, minus, tr1))
    di_plus, di_minus = 100 * sp / st, 100 * sm / st
    dx = 100 * np.abs(di_plus - di_minus) / (di_plus + di_minus)
    expected = _wilder_ref(dx.tolist(), 14, start=14)
    got = ind.adx(goog_candles.high, goog_candles.low, goog_candles.close, 14)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert np.isnan(got[:27]).all() and not np.isnan(got[27])
    assert np.nanmin(got) >= 0 and np.nanmax(got) <= 100


def test_bollinger_and_prior_extremes(goog_candles):
    lower, mid, upper = ind.bollinger(goog_candles.close, 20, 2.0)
    std = pd.Series(goog_candles.close).rolling(20).std(ddof=0).to_numpy()
    np.testing.assert_allclose(upper - mid, 2 * std, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mid - lower, 2 * std, rtol=1e-9, atol=1e-12)
    for period in (1, 5, 55):
        np.testing.assert_array_equal(ind.prior_max(goog_candles.high, period),
                                      pd.Series(goog_candles.high).rolling(period).max().shift(1))  # fmt: skip
        np.testing.assert_array_equal(ind.prior_min(goog_candles.low, period),
                                      pd.Series(goog_candles.low).rolling(period).min().shift(1))  # fmt: skip


def test_cross_up_rule():
    a = np.array([np.nan, 1.0, 2.0, 2.0, 3.0, 1.0, 2.0])
    b = np.array([1.0, 1.0, 2.0, 1.0, 3.0, 2.0, 2.0])
    # i=2: 1<=1 and 2>2? no. i=3: 2<=2 and 2>1 yes. i=6: 1<=2 and 2>2 no.
    np.testing.assert_array_equal(cross_up(a, b), [0, 0, 0, 1, 0, 0, 0])


@pytest.mark.parametrize("kind", sorted(BUILT_IN_KINDS))  # not a plugin's kinds another test module registered
def test_every_signal_kind_computes_zero_or_one(kind, eurusd_market):
    market = eurusd_market
    fixed = {"fast": 10, "slow": 20, "signal": 9, "period": 14, "std": 2.0, "level": 50.0}
    params = {p.name: fixed[p.name] for p in SIGNAL_KINDS[kind].params}
    for tf in (None, parse_timeframe("4h")):
        values = compute_signal(market, kind, params, tf, "normal", ArrayCache())
        assert values.shape == (len(market),) and values.dtype == np.uint8  # a byte a bar
        assert set(np.unique(values)) <= {0, 1}
        assert values.sum() > 0, f"{kind} never fires on EURUSD ({tf=})"


def test_signals_share_cached_indicators(eurusd_market):
    market = eurusd_market
    cache = ArrayCache()
    up = compute_signal(market, "sma_cross_up", {"fast": 10, "slow": 30}, None, "normal", cache)
    assert compute_signal(market, "sma_cross_up", {"slow": 30, "fast": 10}, None, "normal", cache) is up
    entries = len(cache)
    compute_signal(market, "sma_cross_down", {"fast": 10, "slow": 30}, None, "normal", cache)
    assert len(cache) == entries + 1  # one new signal, no new SMA
    compute_signal(market, "sma_cross_down", {"fast": 10, "slow": 40}, None, "normal", cache)
    assert len(cache) == entries + 3  # SMA(40) and the signal; SMA(10) reused


def test_cache_evicts_least_recently_used_by_bytes():
    cache = ArrayCache(max_bytes=3 * 800)
    for k in range(3):
        cache.get(k, lambda: np.zeros(100))
    cache.get(0, lambda: pytest.fail("0 was cached"))  # 0 becomes most recent
    cache.get(3, lambda: np.zeros(100))  # evicts 1
    assert len(cache) == 3
    hits = []
    cache.get(1, lambda: hits.append(1) or np.zeros(100))
    assert hits == [1]
