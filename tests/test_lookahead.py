"""No look-ahead: cutting or altering the data after bar k changes no trade that closed before k;
and the self-check (`optimizer.lookahead`) that tests every signal a run uses for it."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from optimizer.cache import ArrayCache
from optimizer.data import Candles, MarketData
from optimizer.data.timeframes import parse_timeframe
from optimizer.engine import Engine
from optimizer.lookahead import LookaheadError, check_lookahead, cut_points
from optimizer.signals import BUILT_IN_KINDS, SIGNAL_KINDS, compute_signal
from tests.conftest import BTC, EURUSD, GOOG, candles_of, make_candles, market_of, parse, sma_cross_config


def _multi_timeframe(**strategy) -> dict:
    """Entries need an hourly cross, a 4h Heiken-Ashi trend and a daily RSI; exits on a 4h cross."""
    doc = sma_cross_config(8, 21, **strategy)
    signals = doc["strategy"]["signals"]
    signals["trend"] = {"kind": "ema_above", "timeframe": "4h", "candles": "heiken_ashi", "params": {"period": 10}}
    signals["calm"] = {"kind": "rsi_below", "timeframe": "1d", "params": {"period": 5, "level": 70.0}}
    signals["turn"] = {"kind": "macd_cross_down", "timeframe": "4h", "params": {"fast": 6, "slow": 13, "signal": 4}}
    doc["strategy"]["entry"] = {"weights": {"up": 2.0, "trend": 1.0, "calm": 1.0}, "threshold": 0.75}
    doc["strategy"]["exit"] = {"weights": {"down": 1.0, "turn": 1.0}, "threshold": 0.5}
    return doc


CONFIGS = {
    "single": sma_cross_config(5, 20, stop_loss=0.01, take_profit=0.02),
    "single-close-trailing": sma_cross_config(
        5, 20, trailing_stop=0.005, trailing_activation=0.002, max_bars=30, execution={"fill": "close"}
    ),
    "multi": _multi_timeframe(stop_loss=0.01),
    "multi-close": _multi_timeframe(execution={"fill": "close"}),
}


def _trades(engine: Engine) -> list[tuple]:
    r = engine.backtest({})
    return list(zip(r.entry_index.tolist(), r.exit_index.tolist(), r.side.tolist(), r.entry_price.tolist(),
                    r.exit_price.tolist(), r.reason.tolist(), strict=True))  # fmt: skip


def _altered(candles: Candles, k: int, seed: int) -> Candles:
    """The same candles up to bar k-1, then a different random walk (valid OHLC)."""
    rng = np.random.default_rng(seed)
    n = len(candles)
    close = candles.close.copy()
    steps = rng.normal(0, 0.004, n - k)
    close[k:] = candles.close[k - 1] * np.exp(np.cumsum(steps))
    open_ = candles.open.copy()
    open_[k:] = np.r_[candles.close[k - 1], close[k:-1]] * np.exp(rng.normal(0, 0.001, n - k))
    high = candles.high.copy()
    low = candles.low.copy()
    high[k:] = np.maximum(open_[k:], close[k:]) * (1 + rng.uniform(0, 0.003, n - k))
    low[k:] = np.minimum(open_[k:], close[k:]) * (1 - rng.uniform(0, 0.003, n - k))
    return Candles(candles.time, open_, high, low, close, candles.volume, bar_ns=candles.bar_ns)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_cutting_or_altering_after_k_changes_no_earlier_trade(name, eurusd_candles):
    config = parse(CONFIGS[name])
    candles = eurusd_candles
    full = _trades(Engine(config, MarketData(candles)))
    assert len(full) > 20
    checked = 0
    for k in (700, 1801, 2950, 4444):
        before = [t for t in full if t[1] < k - 1]
        cut = _trades(Engine(config, MarketData(candles.slice(0, k))))
        assert [t for t in cut if t[1] < k - 1] == before, f"cut at {k}"
        altered = _trades(Engine(config, MarketData(_altered(candles, k, seed=k))))
        assert [t for t in altered if t[1] < k] == [t for t in full if t[1] < k], f"altered after {k}"
        assert altered != full  # the alteration did change what came after k
        checked += len(before)
    assert checked > 20


@pytest.mark.parametrize("name", ["multi", "multi-close"])
def test_no_trade_closed_before_k_changes_for_k_right_after_each_exit(name, eurusd_candles):
    """The sharpest cut: k is the bar after a trade's exit, so the trade's last
    decisions were taken on bars whose higher-timeframe candles were still open."""
    config = parse(CONFIGS[name])
    candles = eurusd_candles
    full = _trades(Engine(config, MarketData(candles)))
    for trade in full[1:-1:3]:
        k = trade[1] + 1
        altered = _trades(Engine(config, MarketData(_altered(candles, k, seed=k))))
        assert [t for t in altered if t[1] < k] == [t for t in full if t[1] < k], f"altered after {k}"


SIGNALS = [
    ("ema_above", {"period": 10}, "heiken_ashi"),
    ("rsi_below", {"period": 5, "level": 50.0}, "normal"),
    ("sma_cross_up", {"fast": 3, "slow": 7}, "normal"),
    ("macd_cross_down", {"fast": 6, "slow": 13, "signal": 4}, "heiken_ashi"),
    ("breakout_up", {"period": 3}, "normal"),
    ("adx_above", {"period": 5, "level": 25.0}, "normal"),
]


@pytest.mark.parametrize("timeframe", ["4h", "1d"])
@pytest.mark.parametrize(("kind", "params", "candle_type"), SIGNALS)
def test_a_signal_on_bar_i_depends_on_bars_up_to_i_only(kind, params, candle_type, timeframe, eurusd_candles):
    candles = eurusd_candles
    tf = parse_timeframe(timeframe)
    full = compute_signal(MarketData(candles), kind, params, tf, candle_type, ArrayCache())
    assert full.sum() > 0
    for k in range(1000, 1000 + 30):  # every offset within a day, and then some
        altered = compute_signal(MarketData(_altered(candles, k, seed=k)), kind, params, tf, candle_type, ArrayCache())
        np.testing.assert_array_equal(altered[:k], full[:k], err_msg=f"{kind} on {timeframe}, altered after {k}")


def test_higher_timeframe_signal_on_minute_data_ignores_the_future(btc_candles):
    doc = _multi_timeframe()
    doc["strategy"]["signals"]["trend"]["timeframe"] = "15m"
    doc["strategy"]["signals"]["calm"]["timeframe"] = "1h"
    doc["strategy"]["signals"]["turn"]["timeframe"] = "30m"
    config = parse(doc)
    candles = btc_candles
    full = _trades(Engine(config, MarketData(candles)))
    k = len(candles) // 2 + 7  # not on a higher-timeframe boundary
    altered = _trades(Engine(config, MarketData(_altered(candles, k, seed=1))))
    assert [t for t in altered if t[1] < k] == [t for t in full if t[1] < k]
    assert len([t for t in full if t[1] < k]) > 5


# ----------------------------------------------------------- the self-check


BUILT_IN = sorted(BUILT_IN_KINDS)  # not the kinds of plugins other test modules registered


def _value(param) -> float | dict:
    """A sensible value of a parameter: a range for periods (the check takes its midpoint)."""
    if param.name == "level":
        return 50.0
    if param.name == "std":
        return {"min": 1.0, "max": 3.0}
    return {"min": 2, "max": 12, "type": "int"} if param.name != "slow" else {"min": 14, "max": 30, "type": "int"}


def _all_kinds_config(path, timeframe: str | None) -> dict:
    """Every built-in kind, on the data's bars, on ``timeframe`` and with Heiken-Ashi candles there."""
    signals = {}
    for name in BUILT_IN:
        params = {p.name: _value(p) for p in SIGNAL_KINDS[name].params}
        signals[name] = {"kind": name, "params": params}
        if timeframe:
            signals[f"{name}_tf"] = {"kind": name, "timeframe": timeframe, "params": params}
            signals[f"{name}_ha"] = {"kind": name, "timeframe": timeframe, "candles": "heiken_ashi", "params": params}
    return {"name": "all kinds", "data": {"path": str(path)},
            "strategy": {"signals": signals, "entry": {"weights": {BUILT_IN[0]: 1.0}, "threshold": 0.5},
                         "exit": {"weights": {BUILT_IN[1]: 1.0}, "threshold": 0.5}}}  # fmt: skip


@pytest.mark.parametrize(("path", "timeframe"), [(EURUSD, "4h"), (GOOG, "1w"), (BTC, "15m")])
def test_the_self_check_passes_every_built_in_kind_on_every_bundled_dataset(path, timeframe):
    assert len(BUILT_IN) == 18
    config = parse(_all_kinds_config(path, timeframe))
    report = check_lookahead(config, market_of(path))
    assert len(report.signals) == 3 * 18 and not report.skipped
    assert len(report.cuts) == 3 and report.bars == len(candles_of(path))


def test_the_self_check_costs_well_under_a_second(eurusd_candles):
    """A run's usual few signals (here four, two on higher timeframes) on the
    bundled hourly data: measured ~0.05 s on a loaded 2-core machine."""
    config = parse(_multi_timeframe())
    check_lookahead(config, MarketData(eurusd_candles))  # numba's cache loaded once
    started = time.perf_counter()
    check_lookahead(config, MarketData(eurusd_candles))
    assert time.perf_counter() - started < 0.5


def _peeking_config(timeframe: str | None) -> dict:
    doc = sma_cross_config(5, 20)
    doc["strategy"]["signals"]["cheat"] = {"kind": "peek_ahead", "params": {"period": {"min": 1, "max": 9, "type": "int"}}}
    if timeframe:
        doc["strategy"]["signals"]["cheat"]["timeframe"] = timeframe
    doc["strategy"]["entry"]["weights"]["cheat"] = 0.0  # unused by the rules: the check still sees it
    return doc


@pytest.mark.parametrize("timeframe", [None, "4h", "1d"])
def test_the_self_check_fails_on_a_plugin_kind_that_peeks_one_bar_ahead(timeframe, eurusd_candles):
    import tests.plugins.peeking  # noqa: F401 - registers peek_ahead

    config = parse(_peeking_config(timeframe))
    with pytest.raises(LookaheadError) as info:
        check_lookahead(config, MarketData(eurusd_candles))
    assert len(info.value.details) == 1  # the SMA crosses pass
    message = info.value.details[0]
    assert message.startswith("strategy.signals.cheat: kind peek_ahead")
    k = cut_points(len(eurusd_candles))[0]
    bar = int(re.search(r"at bar (\d+) ", message).group(1))
    assert bar <= k and f"after bar {k}" in message  # the first cut already catches it
    # The first bar that moved, on the data itself: the last bar whose value depends on bar k + 1.
    stamp = pd.Timestamp(int(eurusd_candles.time[bar]), tz="UTC").strftime("%Y-%m-%dT%H:%M:%S")
    assert f"({stamp}Z)" in message
    if timeframe is None:
        assert bar == k  # bar k's value reads bar k + 1


def test_cut_points_keep_two_bars_before_and_one_after():
    assert cut_points(5000) == (1251, 2503, 3755)
    assert cut_points(2) == () and cut_points(3) == (1,) and cut_points(5) == (2, 3)
    few = make_candles([1.0, 2, 3, 4, 5], [1.5, 2.5, 3.5, 4.5, 5.5], [0.5, 1.5, 2.5, 3.5, 4.5], [1.2, 2.2, 3.2, 4.2, 5.2])
    assert check_lookahead(parse(sma_cross_config(2, 3)), MarketData(few)).cuts == (2, 3)
