"""Statistics: each field from a simulation worked out independently; JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from optimizer.backtest import BacktestResult
from optimizer.stats import compute_stats, downsample_indices

HOUR = 3600 * 10**9


def _result(equity, trades):
    """A BacktestResult from (entry, exit, side, entry price, exit price, pnl_pct, pnl, reason) rows."""
    cols = list(zip(*trades, strict=True)) if trades else [[]] * 8
    as_array = lambda values, dtype: np.asarray(values, dtype)  # noqa: E731
    return BacktestResult(
        as_array(cols[0], np.int64), as_array(cols[1], np.int64), as_array(cols[2], np.int8),
        as_array(cols[3], float), as_array(cols[4], float), as_array(cols[5], float), as_array(cols[6], float),
        as_array(cols[7], np.int8), np.asarray(equity, float),
    )  # fmt: skip


def test_every_field_of_a_small_run():
    equity = [1.0, 1.1, 1.05, 0.99, 1.2, 1.2]
    # Three trades: +10 % (pnl 0.1), -10 % of 1.1 (pnl -0.11 ... as recorded), +21.2 %.
    trades = [
        (0, 1, 1, 10.0, 11.0, 0.10, 0.10, 0),
        (1, 3, -1, 11.0, 12.0, -0.10, -0.11, 1),
        (3, 4, 1, 9.9, 12.0, 0.2121, 0.21, 2),
    ]
    time = np.int64(1_700_000_000 * 10**9) + np.arange(6, dtype=np.int64) * HOUR
    s = compute_stats(_result(equity, trades), time, bar_ns=HOUR, market_return_pct=3.5, params={"a": 1})
    assert (s.total_trades, s.winning_trades, s.losing_trades) == (3, 2, 1)
    assert s.win_rate_pct == pytest.approx(200 / 3)
    assert s.total_return_pct == pytest.approx(20.0)
    assert s.market_return_pct == 3.5
    assert s.avg_win_pct == pytest.approx((10 + 21.21) / 2)
    assert s.avg_loss_pct == pytest.approx(-10.0)
    assert (s.best_trade_pct, s.worst_trade_pct) == (pytest.approx(21.21), pytest.approx(-10.0))
    assert s.profit_factor == pytest.approx((10 + 21.21) / 10)  # percent of committed capital, like the averages
    assert (s.gross_profit_pct, s.gross_loss_pct) == (pytest.approx(31.21), pytest.approx(10.0))
    assert s.expectancy_pct == pytest.approx((10 - 10 + 21.21) / 3)
    assert s.max_drawdown_pct == pytest.approx((1 - 0.99 / 1.1) * 100)
    assert s.avg_bars_held == pytest.approx((1 + 2 + 1) / 3)
    assert s.exposure_pct == pytest.approx(4 / 6 * 100)
    np.testing.assert_allclose(s.pnl_history, [10.0, -1.0, 20.0])
    # The per-bar Sharpe: per-bar returns (the first from 1.0), not annualized.
    returns = pd.Series(equity).pct_change().fillna(0.0).to_numpy()
    assert s.sharpe_per_bar == pytest.approx(returns.mean() / returns.std(ddof=1))
    # Six hours across midnight (22:13 to 04:13 UTC): two daily returns over a quarter
    # of a day, too short for any annualized figure.
    assert (s.span_days, s.return_periods, s.periods_per_year) == (0.25, 2, 365.0)
    assert (s.sharpe, s.sortino, s.cagr_pct, s.calmar) == (None, None, None, None)
    d = s.to_dict()
    assert d["trades"][1] == {
        "entry_time": "2023-11-14T23:13:20Z", "exit_time": "2023-11-15T01:13:20Z", "side": "short",
        "entry_price": 11.0, "exit_price": 12.0, "pnl_pct": pytest.approx(-10.0), "reason": "stop_loss",
        "bars_held": 2,
    }  # fmt: skip
    assert d["params"] == {"a": 1}


def test_undefined_statistics_are_null_not_sentinels():
    s = compute_stats(_result([1.0, 1.0, 1.0], []), np.arange(3, dtype=np.int64) * HOUR, bar_ns=HOUR,
                      market_return_pct=0.0)  # fmt: skip
    d = s.to_dict()
    for key in ("win_rate_pct", "avg_win_pct", "avg_loss_pct", "best_trade_pct", "worst_trade_pct",
                "profit_factor", "expectancy_pct", "sharpe", "sortino", "calmar", "avg_bars_held",
                "sharpe_per_bar", "gross_profit_pct", "gross_loss_pct"):  # fmt: skip
        assert d[key] is None, key
    assert d["total_trades"] == 0 and d["total_return_pct"] == 0.0 and d["max_drawdown_pct"] == 0.0
    assert d["winning_trades_distribution"] == {"edges": [], "counts": []}
    json.dumps(d, allow_nan=False)
    # Only winners: no profit factor (no losses to divide by), rather than infinity or 999;
    # a gross loss of 0 tells it from no trades (tests/test_stats_rules.py).
    only_wins = _result([1.0, 1.1, 1.1], [(0, 1, 1, 10.0, 11.0, 0.1, 0.1, 0)])
    s = compute_stats(only_wins, np.arange(3, dtype=np.int64) * HOUR, bar_ns=HOUR, market_return_pct=0.0)
    assert s.profit_factor is None and s.avg_loss_pct is None and s.win_rate_pct == 100.0


def test_distributions_have_edges_covering_every_trade(eurusd_stats):
    s = eurusd_stats
    d = s.to_dict()
    for key, values in (("winning_trades_distribution", s.trade_pnl_pct[s.trade_pnl_pct > 0]),
                        ("losing_trades_distribution", s.trade_pnl_pct[s.trade_pnl_pct < 0])):  # fmt: skip
        edges, counts = np.array(d[key]["edges"]), np.array(d[key]["counts"])
        assert len(edges) == len(counts) + 1 and np.all(np.diff(edges) > 0)
        assert counts.sum() == len(values) > 5
        assert edges[0] == values.min() and edges[-1] == values.max()
        np.testing.assert_array_equal(np.histogram(values, bins=edges)[0], counts)
    assert s.winning_trades + s.losing_trades <= s.total_trades


def test_statistics_agree_with_the_trades_and_the_equity(eurusd_stats, eurusd_market):
    s = eurusd_stats
    final = np.prod(1 + s.trade_pnl_pct / 100)
    assert s.total_return_pct == pytest.approx((final - 1) * 100, rel=1e-9)
    assert s.pnl_history[-1] == pytest.approx(s.total_return_pct, rel=1e-9)
    assert s.equity_value[-1] == pytest.approx(final, rel=1e-9)
    c = eurusd_market.candles.close
    # Buy and hold pays the run's commission (0.0002) on one entry and one exit.
    assert s.market_return_pct == pytest.approx(((1 - 0.0002) ** 2 * c[-1] / c[0] - 1) * 100, rel=1e-12)
    assert s.total_trades > 50 and len(s.equity_value) <= 502


def test_downsampled_equity_keeps_first_last_and_extremes():
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=100_000))
    idx = downsample_indices(values, 500)
    assert len(idx) <= 500 and idx[0] == 0 and idx[-1] == len(values) - 1
    assert np.all(np.diff(idx) > 0)
    assert values.argmax() in idx and values.argmin() in idx
    np.testing.assert_array_equal(downsample_indices(values[:300], 500), np.arange(300))


def test_the_json_of_a_real_run_is_strict_json(eurusd_stats):
    d = eurusd_stats.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert len(d["trades"]) == eurusd_stats.total_trades and d["trades"][0]["side"] == "long"
    assert d["equity"]["time"][0].endswith("Z") and len(d["equity"]["time"]) == len(d["equity"]["value"])


def test_a_trade_within_one_bar_held_that_bar():
    """Stopped in its entry bar: in the market during that bar (ENGINE.md), so it
    counts one bar held and one bar of exposure, not zero."""
    equity = [1.0, 1.0, 0.98, 0.98, 0.98]
    trades = [(2, 2, 1, 10.0, 9.8, -0.02, -0.02, 1)]
    time = np.int64(1_700_000_000 * 10**9) + np.arange(5, dtype=np.int64) * HOUR
    s = compute_stats(_result(equity, trades), time, bar_ns=HOUR, market_return_pct=0.0)
    assert s.avg_bars_held == 1.0
    assert s.exposure_pct == pytest.approx(1 / 5 * 100)
    assert s.to_dict()["trades"][0]["bars_held"] == 1


def test_a_histogram_of_equal_values_is_one_bin_at_that_value():
    equity = [1.0, 1.015, 1.015, 1.030225, 1.030225]
    trades = [(0, 1, 1, 10.0, 10.15, 0.015, 0.015, 0), (2, 3, 1, 10.0, 10.15, 0.015, 0.015225, 0)]
    time = np.int64(1_700_000_000 * 10**9) + np.arange(5, dtype=np.int64) * HOUR
    d = compute_stats(_result(equity, trades), time, bar_ns=HOUR, market_return_pct=0.0).to_dict()
    assert d["winning_trades_distribution"] == {"edges": [pytest.approx(1.5), pytest.approx(1.5)], "counts": [2]}
