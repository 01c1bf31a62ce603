"""Issue 12's statistics rules (points 4, 5, 6, 9, 10), each on a series made here
with its expected value worked out by hand: annualized figures only over a long
enough window, drawdowns marked to each bar's worst price, a profit factor in
the units of the other trade statistics, buy and hold after costs, and Sharpe /
Sortino from daily returns."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizer.backtest import BacktestResult, simulate
from optimizer.engine import Engine
from optimizer.stats import compute_stats
from tests.conftest import BTC, GOOG, make_candles, market_of, parse, sma_cross_config

HOUR = 3600 * 10**9
DAY = 24 * HOUR
MONDAY = np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)  # 2024-01-01 was a Monday


def _flat_result(equity, worst=None):
    """A result with no trades and this equity at the closes (and worst points)."""
    none_i, none_f = np.zeros(0, np.int64), np.zeros(0)
    equity = np.asarray(equity, float)
    worst = None if worst is None else np.asarray(worst, float)
    return BacktestResult(none_i, none_i, none_i.astype(np.int8), none_f, none_f, none_f, none_f,
                          none_i.astype(np.int8), equity, worst)  # fmt: skip


def _trades_result(rows, equity):
    """(entry, exit, side, entry price, exit price, pnl fraction, pnl) rows."""
    cols = list(zip(*rows, strict=True))
    i8, f8 = (lambda c: np.asarray(c, np.int64)), (lambda c: np.asarray(c, float))
    return BacktestResult(i8(cols[0]), i8(cols[1]), np.asarray(cols[2], np.int8), f8(cols[3]), f8(cols[4]),
                          f8(cols[5]), f8(cols[6]), np.zeros(len(rows), np.int8), np.asarray(equity, float))  # fmt: skip


def _stats(result, time, bar_ns, trading_days=365):
    return compute_stats(result, np.asarray(time, np.int64), bar_ns=bar_ns, market_return_pct=0.0,
                         trading_days=trading_days)  # fmt: skip


# Point 4: annualized figures only where the window is long enough.


def test_a_window_under_a_year_has_no_cagr_or_calmar():
    """20 daily bars losing 46.8 %: the old CAGR was -99.999 %; under a year it is null."""
    equity = np.linspace(1.0, 0.532, 20)
    s = _stats(_flat_result(equity), MONDAY + np.arange(20) * DAY, DAY)
    assert s.span_days == 20.0 and s.total_return_pct == pytest.approx(-46.8)
    assert s.cagr_pct is None and s.calmar is None
    assert s.to_dict()["cagr_pct"] is None


def test_a_window_of_a_year_has_cagr_and_calmar():
    """365 daily bars from 1.0 to 1.21 with a 10 % dip: years = 365 / 365.25."""
    equity = np.full(365, 1.1)
    equity[100] = 0.99  # 10 % below the peak 1.1
    equity[-1] = 1.21
    s = _stats(_flat_result(equity), MONDAY + np.arange(365) * DAY, DAY)
    assert s.span_days == 365.0
    cagr = (1.21 ** (365.25 / 365) - 1) * 100
    assert s.cagr_pct == pytest.approx(cagr, rel=1e-12)
    assert s.max_drawdown_pct == pytest.approx(10.0)
    assert s.calmar == pytest.approx(cagr / 100 / 0.10, rel=1e-12)


def test_sharpe_and_sortino_need_thirty_daily_returns():
    """Two days of minute bars gave Sharpe in the hundreds; 29 daily returns give none, 30 do."""
    rng = np.random.default_rng(5)
    for days, defined in ((2, False), (29, False), (30, True)):
        n = days * 24
        equity = np.cumprod(1 + rng.normal(0.0005, 0.002, n))
        s = _stats(_flat_result(equity), MONDAY + np.arange(n) * HOUR, HOUR)
        assert s.return_periods == days
        assert (s.sharpe is not None, s.sortino is not None) == (defined, defined), days
        assert s.sharpe_per_bar is not None  # the per-bar ratio has no minimum


# Point 10: Sharpe and Sortino from daily returns, 365 or 252 a year.


def _daily_ratios(daily_close, per_year):
    r = np.diff(np.r_[1.0, daily_close]) / np.r_[1.0, daily_close][:-1]
    sharpe = r.mean() / r.std(ddof=1) * math.sqrt(per_year)
    sortino = r.mean() / math.sqrt(np.sum(np.minimum(r, 0) ** 2) / len(r)) * math.sqrt(per_year)
    return sharpe, sortino


def test_sharpe_from_daily_returns_is_the_same_on_1m_and_1h_bars():
    """The same equity path at each day's end, sampled by hourly and by minute bars
    (the minute file with gaps): the same daily Sharpe, annualized by 365."""
    rng = np.random.default_rng(11)
    days = 40
    daily = np.cumprod(1 + rng.normal(0.001, 0.01, days))
    sharpe, sortino = _daily_ratios(daily, 365)
    for bar in (HOUR, 60 * 10**9):
        per_day = DAY // bar
        time = MONDAY + np.arange(days * per_day) * bar
        equity = np.repeat(daily, per_day) * (1 + rng.normal(0, 0.001, days * per_day))
        equity[per_day - 1 :: per_day] = daily  # each day's last close
        keep = np.ones(len(time), bool)
        if bar < HOUR:
            keep[rng.choice(len(time), len(time) // 3, replace=False)] = False
            keep[per_day - 1 :: per_day] = True
        s = _stats(_flat_result(equity[keep]), time[keep], bar)
        assert (s.return_periods, s.periods_per_year) == (days, 365.0)
        assert s.sharpe == pytest.approx(sharpe, rel=1e-9)
        assert s.sortino == pytest.approx(sortino, rel=1e-9)
        assert s.sharpe_per_bar is not None and abs(s.sharpe_per_bar) < abs(s.sharpe)


def test_a_calendar_day_without_bars_is_a_zero_return_every_day_but_not_in_sessions():
    """31 daily closes with day 10 missing: 365 a year counts it as 0; 252 a year
    (sessions) does not count it. Weekday-only data, so sessions are weekdays."""
    days = np.array([d for d in range(45) if (d % 7) < 5])[:32]  # Mondays to Fridays
    daily = 1 + 0.01 * np.sin(np.arange(32))
    time, equity = MONDAY + np.delete(days, 10) * DAY, np.delete(daily, 10)
    s = _stats(_flat_result(equity), time, DAY, trading_days=252)
    assert (s.return_periods, s.periods_per_year) == (31, 252.0)
    assert s.sharpe == pytest.approx(_daily_ratios(equity, 252)[0], rel=1e-12)
    s = _stats(_flat_result(equity), time, DAY, trading_days=365)
    calendar_days = int(days[-1] - days[0]) + 1
    assert s.return_periods == calendar_days
    r = np.diff(np.r_[1.0, equity]) / np.r_[1.0, equity][:-1]
    r = np.r_[r, np.zeros(calendar_days - len(r))]  # the days without bars
    assert s.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(365), rel=1e-12)


def test_a_sunday_evening_belongs_to_mondays_session():
    """Forex-like hourly bars (Sunday 22:00 to Friday 21:00) over 8 weeks, 252 a year:
    one return per weekday, Sunday's bars in Monday's."""
    start = MONDAY - 2 * HOUR  # Sunday 22:00
    time = start + np.arange(8 * 7 * 24) * HOUR
    weekday = (time // DAY + 3) % 7
    hour = (time // HOUR) % 24
    keep = ~((weekday == 5) | ((weekday == 6) & (hour < 22)) | ((weekday == 4) & (hour >= 21)))
    time = time[keep]
    rng = np.random.default_rng(2)
    equity = np.cumprod(1 + rng.normal(0, 0.001, len(time)))
    s = _stats(_flat_result(equity), time, HOUR, trading_days=252)
    session = time // DAY + np.where(weekday[keep] == 6, 1, 0)
    last = np.r_[session[1:] != session[:-1], True]
    assert s.return_periods == 8 * 5 == last.sum()
    assert s.sharpe == pytest.approx(_daily_ratios(equity[last], 252)[0], rel=1e-12)


def test_trading_days_are_inferred_from_the_data_and_can_be_set():
    assert Engine(parse(sma_cross_config()), market_of(BTC)).trading_days == 365  # crypto: every day
    assert Engine(parse(sma_cross_config()), market_of(GOOG)).trading_days == 252  # a stock: sessions
    forced = parse(sma_cross_config(execution={"trading_days": 252}))
    engine = Engine(forced, market_of(BTC))
    assert engine.trading_days == 252 and engine.evaluate({}).periods_per_year == 252.0


def test_bars_longer_than_a_day_are_their_own_periods():
    """Weekly bars: 365.25 / 7 a year; monthly (31-day) bars: 12 a year."""
    rng = np.random.default_rng(4)
    equity = np.cumprod(1 + rng.normal(0.002, 0.02, 40))
    for bar, per_year in ((7 * DAY, 365.25 / 7), (31 * DAY, 12.0)):
        s = _stats(_flat_result(equity), MONDAY + np.arange(40) * bar, bar)
        assert (s.return_periods, s.periods_per_year) == (40, pytest.approx(per_year))
        assert s.sharpe == pytest.approx(_daily_ratios(equity, per_year)[0], rel=1e-12)


# Point 5: drawdown marked to each bar's worst price.


def _run(o, h, lo, c, **kw):
    n = len(c)
    flags = {name: np.zeros(n, np.bool_) for name in ("le", "lx", "se", "sx", "eod")}
    for name, index in kw.pop("at", {}).items():
        flags[name][index] = True
    args = [np.asarray(v, float) for v in (o, h, lo, c)]
    return simulate(*args, flags["eod"], flags["le"], flags["lx"], flags["se"], flags["sx"], **kw)


def test_drawdown_marks_an_open_long_to_each_bars_low():
    """Long 1.0 at the close 10 of bar 0; bar 2 dips to 8 and closes at 10 again:
    a 20 % drawdown the closes never show."""
    r = _run([10, 10, 10, 10], [10.5] * 4, [9.5, 9.5, 8.0, 9.5], [10, 10, 10, 10], fill_close=True,
             at={"le": [0]})  # fmt: skip
    assert r.equity.tolist() == [1.0] * 4
    assert r.worst_equity.tolist() == pytest.approx([1.0, 0.95, 0.8, 0.95])
    s = _stats(r, MONDAY + np.arange(4) * HOUR, HOUR)
    assert s.max_drawdown_pct == pytest.approx(20.0)


def test_drawdown_marks_an_open_short_to_each_bars_high():
    """Short 1.0 at 10 (fill at close); bar 1's high 12.5: worth 2*10 - 12.5 = 7.5 per unit."""
    r = _run([10, 10, 10], [10.5, 12.5, 10.5], [9.5] * 3, [10, 10, 10], fill_close=True, at={"se": [0]})
    assert r.worst_equity.tolist() == pytest.approx([1.0, 0.75, 0.95])
    assert _stats(r, MONDAY + np.arange(3) * HOUR, HOUR).max_drawdown_pct == pytest.approx(25.0)


def test_a_stop_limits_the_drawdown_to_its_exit_and_a_take_profit_bar_is_marked_to_its_low():
    """Stopped at 9 (10 % stop) in a bar whose low is 8: the position saw 9, not 8.
    A bar that reaches the take-profit (12) and dips to 9.5: its low is assumed first."""
    r = _run([10, 10, 10, 10], [10.5, 10.5, 10.5, 10.5], [9.5, 8.0, 9.5, 9.5], [10, 10, 10, 10],
             fill_close=True, stop_loss=0.1, at={"le": [0]})  # fmt: skip
    assert r.exit_price.tolist()[0] == pytest.approx(9.0)
    assert r.worst_equity.tolist()[:2] == pytest.approx([1.0, 0.9])
    r = _run([10, 10, 10], [10.5, 12.5, 10.5], [9.5, 9.5, 9.5], [10, 10, 10], fill_close=True, take_profit=0.2,
             at={"le": [0]})  # fmt: skip
    assert r.exit_price.tolist()[0] == pytest.approx(12.0)
    assert r.worst_equity.tolist() == pytest.approx([1.0, 0.95, 1.2])


def test_a_short_that_doubles_intrabar_is_a_full_drawdown():
    r = _run([100, 100, 150], [101, 210, 151], [99, 99, 149], [100, 150, 150], fill_close=True,
             at={"se": [0]})  # fmt: skip
    # Worth nothing at the high of 210 (twice its entry is 200): liquidated there, ruin.
    assert r.equity.tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert r.exit_price.tolist() == [200.0] and r.pnl_pct.tolist() == [-1.0]
    assert _stats(r, MONDAY + np.arange(3) * HOUR, HOUR).max_drawdown_pct == pytest.approx(100.0)


# Point 6: profit factor in percent of committed capital; no losses vs no trades.


def test_profit_factor_is_in_the_units_of_the_average_win_and_loss():
    """Half the equity per trade: +10 % then -5 % of committed capital. In money the
    second trade commits more (0.55 of 1.1), so the old money ratio was 0.05 / 0.0275."""
    rows = [(0, 1, 1, 10.0, 11.0, 0.10, 0.05), (2, 3, 1, 10.0, 9.5, -0.05, -0.0275)]
    s = _stats(_trades_result(rows, [1.0, 1.05, 1.05, 1.0225]), MONDAY + np.arange(4) * HOUR, HOUR)
    assert (s.gross_profit_pct, s.gross_loss_pct) == (pytest.approx(10.0), pytest.approx(5.0))
    assert s.profit_factor == pytest.approx(2.0)
    assert s.profit_factor == pytest.approx(s.avg_win_pct * s.winning_trades / -(s.avg_loss_pct * s.losing_trades))


def test_no_losses_is_told_apart_from_no_trades():
    rows = [(0, 1, 1, 10.0, 11.0, 0.10, 0.10)]
    wins = _stats(_trades_result(rows, [1.0, 1.1, 1.1]), MONDAY + np.arange(3) * HOUR, HOUR).to_dict()
    assert wins["profit_factor"] is None and wins["gross_loss_pct"] == 0.0 and wins["gross_profit_pct"] > 0
    nothing = _stats(_flat_result([1.0, 1.0, 1.0]), MONDAY + np.arange(3) * HOUR, HOUR).to_dict()
    assert nothing["profit_factor"] is None and nothing["gross_profit_pct"] is None
    assert nothing["gross_loss_pct"] is None


# Point 9: buy and hold after the run's costs.


def test_buy_and_hold_pays_one_entry_and_one_exit_at_the_runs_costs():
    candles = make_candles([100, 105, 110, 120], [101, 106, 111, 121], [99, 104, 109, 119], [100, 105, 110, 120])
    from optimizer.data import MarketData

    doc = sma_cross_config(2, 3, execution={"commission": {"min": 0.0, "max": 0.002}, "slippage": 0.0005})
    engine = Engine(parse(doc), MarketData(candles))
    s = engine.evaluate({"execution.commission": 0.001})
    expected = (0.999**2 * (120 * 0.9995) / (100 * 1.0005) - 1) * 100
    assert s.market_return_pct == pytest.approx(expected, rel=1e-12)
    assert engine.evaluate({"execution.commission": 0.0}).market_return_pct == pytest.approx(
        (120 * 0.9995 / (100 * 1.0005) - 1) * 100, rel=1e-12
    )
