"""The simulation kernel on small hand-made bars, each expected value worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.backtest import REASONS, rule_fires, simulate
from optimizer.stats import compute_stats

HOUR = 3_600_000_000_000


def _bars(open_, high=None, low=None, close=None):
    o = np.asarray(open_, float)
    h = o + 0.5 if high is None else np.asarray(high, float)
    lo = o - 0.5 if low is None else np.asarray(low, float)
    c = o + 0.2 if close is None else np.asarray(close, float)
    return o, h, lo, c


def _flags(n, *indices):
    out = np.zeros(n, np.bool_)
    out[list(indices)] = True
    return out


def _run(bars, long_entry=(), long_exit=(), short_entry=(), short_exit=(), day_end=(), **kw):
    o, h, lo, c = bars
    n = len(c)
    return simulate(o, h, lo, c, _flags(n, *day_end), _flags(n, *long_entry), _flags(n, *long_exit),
                    _flags(n, *short_entry), _flags(n, *short_exit), **kw)  # fmt: skip


def _trades(result):
    return [
        (int(a), int(b), int(s), float(ep), float(xp), REASONS[r])
        for a, b, s, ep, xp, r in zip(result.entry_index, result.exit_index, result.side, result.entry_price,
                                      result.exit_price, result.reason, strict=True)
    ]  # fmt: skip


def test_next_open_fill_with_costs_and_fraction():
    bars = _bars([10, 11, 12, 13, 14])
    f, c, s = 0.5, 0.01, 0.001
    r = _run(bars, long_entry=[0], long_exit=[2], position_fraction=f, commission=c, slippage=s)
    entry, exit_ = 11 * (1 + s), 13 * (1 - s)
    assert _trades(r) == [(1, 3, 1, pytest.approx(entry), pytest.approx(exit_), "signal_exit")]
    units = f * (1 - c) / entry
    proceeds = units * exit_ * (1 - c)
    assert r.pnl_pct[0] == pytest.approx(proceeds / f - 1, rel=1e-12)
    assert r.pnl[0] == pytest.approx(proceeds - f, rel=1e-12)
    np.testing.assert_allclose(
        r.equity, [1.0, 0.5 + units * 11.2, 0.5 + units * 12.2, 0.5 + proceeds, 0.5 + proceeds], rtol=1e-12
    )


def test_fill_at_close():
    r = _run(_bars([10, 11, 12, 13, 14]), long_entry=[0], long_exit=[2], fill_close=True)
    assert _trades(r) == [(0, 2, 1, 10.2, 12.2, "signal_exit")]
    assert r.equity[-1] == pytest.approx(12.2 / 10.2)


def test_stop_loss_at_level_and_at_gapped_open():
    bars = _bars([100, 99, 100], high=[100, 100, 101], low=[100, 94, 99], close=[100, 98, 100])
    r = _run(bars, long_entry=[0], fill_close=True, stop_loss=0.05)
    assert _trades(r) == [(0, 1, 1, 100.0, 95.0, "stop_loss")]
    gapped = _bars([100, 90, 100], high=[100, 91, 101], low=[100, 89, 99], close=[100, 90.5, 100])
    r = _run(gapped, long_entry=[0], fill_close=True, stop_loss=0.05)
    assert _trades(r) == [(0, 1, 1, 100.0, 90.0, "stop_loss")]


def test_take_profit_and_a_bar_touching_both_levels():
    tp_bar = _bars([100, 101, 100], high=[100, 111, 101], low=[100, 99, 99], close=[100, 105, 100])
    assert _trades(_run(tp_bar, long_entry=[0], fill_close=True, stop_loss=0.05, take_profit=0.1)) == [
        (0, 1, 1, 100.0, pytest.approx(110.0), "take_profit")
    ]
    both = _bars([100, 101, 100], high=[100, 111, 101], low=[100, 94, 99], close=[100, 105, 100])
    assert _trades(_run(both, long_entry=[0], fill_close=True, stop_loss=0.05, take_profit=0.1)) == [
        (0, 1, 1, 100.0, 95.0, "stop_loss")
    ]
    gap_up = _bars([100, 112, 100], high=[100, 113, 101], low=[100, 94, 99], close=[100, 105, 100])
    assert _trades(_run(gap_up, long_entry=[0], fill_close=True, stop_loss=0.05, take_profit=0.1)) == [
        (0, 1, 1, 100.0, 112.0, "take_profit")
    ]


def test_stops_are_live_on_the_entry_bar_after_its_open():
    bars = _bars([100, 100, 100], high=[101, 101, 101], low=[99, 94, 99], close=[100, 100, 100])
    r = _run(bars, long_entry=[0], stop_loss=0.05)  # enters at bar 1's open, bar 1 reaches 94
    assert _trades(r) == [(1, 1, 1, 100.0, 95.0, "stop_loss")]


def test_trailing_stop_with_activation():
    # Entry 100 at close 0. Bar 1 reaches 108 (best); bar 2 the trail is 108 * 0.9 = 97.2.
    bars = _bars([100, 101, 107, 100], high=[100, 108, 107.5, 101], low=[100, 100, 97, 99], close=[100, 107, 98, 100])
    r = _run(bars, long_entry=[0], fill_close=True, stop_loss=0.2, trailing_stop=0.1, trailing_activation=0.05)
    assert _trades(r) == [(0, 2, 1, 100.0, pytest.approx(97.2), "trailing_stop")]
    # Not activated: best 104 < 105, so only the 20 % stop applies and the trade runs to the end.
    calm = _bars([100, 101, 103, 100], high=[100, 104, 103.5, 101], low=[100, 100, 93, 99], close=[100, 103, 98, 100])
    r = _run(calm, long_entry=[0], fill_close=True, stop_loss=0.2, trailing_stop=0.1, trailing_activation=0.05)
    assert _trades(r) == [(0, 3, 1, 100.0, 100.0, "end_of_data")]


def test_trailing_stop_does_not_use_the_high_of_the_bar_it_is_checked_on():
    # Bar 1 goes to 120 and to 95: its high cannot raise the stop before its low is checked.
    bars = _bars([100, 100, 100], high=[100, 120, 101], low=[100, 95, 99], close=[100, 110, 100])
    r = _run(bars, long_entry=[0], fill_close=True, trailing_stop=0.1)
    assert _trades(r)[0][1] == 2  # survives bar 1, then the 108 trail stops it at bar 2's open (100 <= 108)
    assert _trades(r)[0][4] == 100.0 and _trades(r)[0][5] == "trailing_stop"


def test_max_bars_and_signal_exit_priority():
    bars = _bars([10, 11, 12, 13, 14, 15])
    assert _trades(_run(bars, long_entry=[0], max_bars=2)) == [(1, 3, 1, 11.0, 13.0, "max_bars")]
    assert _trades(_run(bars, long_entry=[0], max_bars=2, fill_close=True)) == [(0, 2, 1, 10.2, 12.2, "max_bars")]
    assert _trades(_run(bars, long_entry=[0], long_exit=[2], max_bars=2))[0][5] == "signal_exit"


def test_end_of_day_closes_and_blocks_entries_on_the_last_bar_of_a_day():
    bars = _bars([10, 11, 12, 13, 14, 15])
    r = _run(bars, long_entry=[0, 2], day_end=[2, 5], end_of_day=True, fill_close=True)
    assert _trades(r) == [(0, 2, 1, 10.2, 12.2, "end_of_day")]
    r = _run(bars, long_entry=[3], day_end=[2, 5], end_of_day=True)
    assert _trades(r) == [(4, 5, 1, 14.0, 15.2, "end_of_data")]


def test_end_of_data_and_no_entry_on_the_last_bar():
    bars = _bars([10, 11, 12, 13])
    assert _trades(_run(bars, long_entry=[2])) == [(3, 3, 1, 13.0, 13.2, "end_of_data")]
    assert _trades(_run(bars, long_entry=[3])) == []
    assert _trades(_run(bars, long_entry=[3], fill_close=True)) == []


def test_no_new_entry_while_a_position_is_open_or_closing():
    bars = _bars([10, 11, 12, 13, 14, 15])
    r = _run(bars, long_entry=[0, 1, 2], long_exit=[2])
    # Entered at 1; the exit decided at close 2 blocks the entry signal of bar 2.
    assert _trades(r) == [(1, 3, 1, 11.0, 13.0, "signal_exit")]


def test_short_profit_loss_and_floor_at_zero():
    bars = _bars([100, 100, 90, 90], close=[100, 95, 90, 90])
    r = _run(bars, short_entry=[0], short_exit=[2], fill_close=True)
    assert _trades(r) == [(0, 2, -1, 100.0, 90.0, "signal_exit")]
    assert r.pnl_pct[0] == pytest.approx(0.1)
    np.testing.assert_allclose(r.equity, [1.0, 1.05, 1.1, 1.1])
    squeeze = _bars([100, 260, 250], high=[100, 270, 251], low=[100, 255, 249], close=[100, 265, 250])
    r = _run(squeeze, short_entry=[0], fill_close=True, position_fraction=1.0)
    assert r.pnl_pct[0] == -1.0
    assert r.equity.min() == 0.0


def test_long_and_short_on_the_same_bar_cancel():
    bars = _bars([10, 11, 12, 13])
    assert _trades(_run(bars, long_entry=[0], short_entry=[0])) == []


def test_rule_scores_are_weighted_means_against_the_threshold():
    a = np.array([1.0, 1.0, 0.0, 0.0])
    b = np.array([1.0, 0.0, 1.0, 0.0])
    assert rule_fires((a, b), np.array([3.0, 1.0]), 0.75).tolist() == [True, True, False, False]
    assert rule_fires((a, b), np.array([1.0, 1.0]), 0.5).tolist() == [True, True, True, False]
    assert rule_fires((a, b), np.array([0.0, 0.0]), 0.0).tolist() == [False] * 4


def test_a_reversal_closes_and_opens_at_the_same_fill():
    bars = _bars([10, 11, 12, 13, 14, 15])
    r = _run(bars, short_entry=[0], short_exit=[2], long_entry=[2])
    assert _trades(r) == [(1, 3, -1, 11.0, 13.0, "signal_exit"), (3, 5, 1, 13.0, 15.2, "end_of_data")]
    r = _run(bars, short_entry=[0], short_exit=[2], long_entry=[2], fill_close=True)
    assert _trades(r) == [(0, 2, -1, 10.2, 12.2, "signal_exit"), (2, 5, 1, 12.2, 15.2, "end_of_data")]
    # The long is bought with what the short returned.
    short_value = (2 * 10.2 - 12.2) / 10.2
    assert r.equity[-1] == pytest.approx(short_value * 15.2 / 12.2)


def test_ruin_ends_trading():
    """A full-size short whose price more than doubles is worth 0; with nothing left, no trade follows."""
    squeeze = _bars([100, 100, 210, 230, 240, 250, 260])
    r = _run(squeeze, short_entry=[0, 3, 4], short_exit=[2], position_fraction=1.0)
    assert _trades(r) == [(1, 2, -1, 100.0, 210.0, "stop_loss")]  # worth nothing at the open of 210: liquidated
    assert r.pnl_pct.tolist() == [-1.0]
    assert r.equity[2:].tolist() == [0.0] * 5
    stats = compute_stats(r, np.arange(7, dtype=np.int64) * HOUR, bar_ns=HOUR, market_return_pct=160.0)
    assert (stats.total_trades, stats.expectancy_pct, stats.total_return_pct) == (1, -100.0, -100.0)
    r = _run(squeeze, short_entry=[0, 3, 4], short_exit=[2], position_fraction=1.0, fill_close=True)
    assert _trades(r) == [(0, 2, -1, 100.2, 210.0, "stop_loss")]
    assert r.equity[2:].tolist() == [0.0] * 5


def test_a_short_worth_nothing_is_liquidated_not_left_open_to_recover():
    """No exit rule and no stop-loss: the price rises to 3.5x the entry, then falls
    back below it. The short is closed at twice its entry (worth 0, -100 %) on the
    bar that reaches it; it does not come back with the price, and nothing follows."""
    o = [10.0, 10.0, 15.0, 19.0, 30.0, 35.0, 20.0, 8.0, 5.0, 5.0]
    bars = _bars(o, high=[v + 1.0 for v in o], low=[v - 1.0 for v in o], close=o)
    r = _run(bars, short_entry=[0, 6, 7], position_fraction=1.0)
    assert _trades(r) == [(1, 3, -1, 10.0, 20.0, "stop_loss")]  # the high of 20 reached at bar 3
    assert r.pnl_pct.tolist() == [-1.0]
    assert r.equity[3:].tolist() == [0.0] * 7


def test_a_trade_closed_within_its_entry_bar_held_that_bar():
    bars = _bars([10, 11, 12, 13, 14], low=[9.5, 10.5, 9.0, 12.5, 13.5])
    r = _run(bars, long_entry=[1, 3], stop_loss=0.05)
    # Entered at the open of bar 2 and stopped in it; entered at the open of bar 4 (the last), closed at its close.
    assert _trades(r) == [(2, 2, 1, 12.0, pytest.approx(11.4), "stop_loss"), (4, 4, 1, 14.0, 14.2, "end_of_data")]
    assert r.bars_held.tolist() == [1, 1]
    r = _run(bars, long_entry=[0], long_exit=[2])
    assert r.bars_held.tolist() == [3 - 1]  # filled at the opens of bars 1 and 3: held over bars 1 and 2


def test_a_stop_already_crossed_at_the_entry_bars_open_closes_the_trade_there():
    """Slippage 2 % with a 1 % stop: the long fills at 10.2 (the open 10 plus
    slippage), its stop is 10.098, which the same open already lies below, so it
    is stopped at that open (10 less 2 % slippage), on the entry bar."""
    bars = _bars([10.0, 10.0, 10.0, 10.0])
    result = _run(bars, long_entry=[0], stop_loss=0.01, slippage=0.02)
    assert _trades(result)[0] == (1, 1, 1, pytest.approx(10.2), pytest.approx(9.8), "stop_loss")
    assert int(result.bars_held[0]) == 1


def test_the_trailing_stop_starts_from_the_entry_fill_price():
    """Fill 10.1 (1 % slippage on the open 10); a 5 % trail from the fill is 9.595:
    a low of 9.6 on the entry bar does not stop it, 9.59 on the next does."""
    bars = _bars([10.0, 10.0, 10.0, 10.0], high=[10.0] * 4, low=[10.0, 9.6, 9.59, 10.0], close=[10.0] * 4)
    result = _run(bars, long_entry=[0], trailing_stop=0.05, slippage=0.01)
    (entry_i, exit_i, _, entry, exit_before_slip, reason) = _trades(result)[0]
    assert (entry_i, exit_i, reason) == (1, 2, "trailing_stop") and entry == pytest.approx(10.1)
    assert exit_before_slip == pytest.approx(10.1 * 0.95 * 0.99)
