"""One evaluation in one compiled call: rules, simulation and every per-bar statistic.

`run_pass` is `optimizer.backtest`'s kernel (the same fills, costs, stops and
marks, through the same helpers) with what `optimizer.stats` computed in later
walks over the equity folded into its loop: the drawdown against the running
peak, the per-bar returns' sums for ``sharpe_per_bar``, the daily (period)
returns for Sharpe and Sortino, and the downsampled equity's points (each
bucket's first minimum and maximum). Rules are scored on the bars where the
simulation reads them (an exit rule only while a position is open, entries only
where one can be taken), from the signal arrays of the whole market and the
window's offset, so no boolean array per rule and no window copy is made.

Two inner loops take the bars on which little can happen: flat with no order
waiting (they only wait for an entry signal; their return is 0 and every sum
stays as it is), and in a position with fixed stops (no trailing stop) until a
stop, an exit, a time or day limit or points to emit. numba compiles one kernel
per shape of the rules (each a tuple of signals and weights, or None) and of the
trailing stop (None or a level), so the weights sit in registers and what a
strategy does not use is left out. Bars are indexed with unsigned integers
(``np.uint64``, never in arithmetic: numba would mix them with signed ones into
floats): numba then reads an array without the check for a negative index, which
took a third of the fast loops' instructions. What follows the loop (`optimizer.pass_result`)
walks the trades, and the per-bar returns kept in a scratch array for their
moments and block sums in numpy's order.

The result is compact: a float64 array of the accumulated figures (`OUT`), the
lengths of every array of `optimizer.stats_codec`'s packed form, and those
arrays packed in that form (one uint8 array): `optimizer.plan` builds the
`IndividualStats` from them without a numpy array per field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from optimizer import backtest, lanes, pairwise, pass_result, periods, stats
from optimizer.backtest import (
    END_OF_DATA,
    END_OF_DAY,
    MAX_BARS,
    SIGNAL_EXIT,
    STOP_LOSS,
    TAKE_PROFIT,
    _check_stops,
    _open_position,
    _record,
    _value,
)
from optimizer.compiled_cache import drop_stale_cache
from optimizer.pass_result import pack_result

drop_stale_cache(Path(__file__), (backtest, lanes, pairwise, pass_result, periods, stats))

# Positions in the figures array `run_pass` returns.
OUT = (
    "max_dd", "mean_r", "std_r", "periods", "mean_p", "std_p", "down_p", "final",
    "n_win", "n_loss", "sum_win", "sum_loss", "best", "worst", "total_pct", "held",
    "r_mean", "m2", "m3", "m4", "abs_max", "bad_bar", "bad_value",
)  # fmt: skip
LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT = range(4)


@njit(cache=True)
def _fires(rule, g):  # pragma: no cover - compiled
    """Whether ``rule`` (see `run_pass`) fires at bar ``g``: its weighted mean
    score reaches its threshold, summed as `optimizer.backtest.rule_fires` sums."""
    if rule is None:  # pruned at compile time where a rule never fires
        return False
    signals, weights, total, threshold = rule
    score = 0.0
    for q in range(len(signals)):  # a constant count: unrolled, the weights in registers
        score += weights[q] * signals[q][g]
    return score / total >= threshold


@njit(cache=True)
def _levels(pos, entry, sl, tp):  # pragma: no cover - compiled
    """A position's fixed stop-loss and take-profit levels (without a trailing
    stop), as `optimizer.backtest._check_stops` computes them on every bar."""
    d = 1.0 if pos > 0 else -1.0
    target = entry * (1.0 + d * tp) if tp == tp else d * np.inf
    if pos > 0:
        return (entry * (1.0 - sl) if sl == sl else -np.inf), target
    return (entry * (1.0 + sl) if sl == sl else 2.0 * entry), target


@njit(cache=True)
def _fixed_stops(pos, stop, target, o, h, lo):  # pragma: no cover - compiled
    """`optimizer.backtest._check_stops` without a trailing stop, the levels given:
    (exit price before slippage, reason or -1)."""
    d = 1.0 if pos > 0 else -1.0
    if d * o <= d * stop:
        return o, STOP_LOSS
    if d * o >= d * target:
        return o, TAKE_PROFIT
    against, favour = (lo, h) if pos > 0 else (h, lo)
    if d * against <= d * stop:
        return stop, STOP_LOSS
    if d * favour >= d * target:
        return target, TAKE_PROFIT
    return np.nan, -1


@njit(cache=True)
def _equity_sums(i, value, worst, previous, sums, returns, period_end):  # pragma: no cover - compiled
    """Bar ``i``'s equity ``value`` (its ``worst`` point within the bar, the
    ``previous`` bar's value) into ``sums``: (peak, max drawdown, sum and sum of
    squares of the per-bar returns, the largest absolute return, sum, sum of
    squares and downside squares of the period returns, the period's starting
    equity); the bar's return into ``returns[i]``."""
    peak, max_dd, total_r, total_sq, abs_max, p_total, p_sq, p_down, p_start = sums
    if worst <= peak * (1.0 - max_dd + 1e-9):  # it may be a deeper drawdown (the margin dwarfs rounding)
        dd = 1.0 - worst / peak
        if dd > max_dd:
            max_dd = dd
    if value > peak:
        peak = value
    ret = 0.0  # an unchanged equity returns 0 (x / x - 1 is exactly 0): no division
    if value != previous and previous > 0:
        ret = value / previous - 1.0
    total_r += ret
    total_sq += ret * ret
    returns[i] = ret
    if abs(ret) > abs_max:
        abs_max = abs(ret)
    sums = peak, max_dd, total_r, total_sq, abs_max, p_total, p_sq, p_down, p_start
    if period_end[i]:  # the last bar of its period
        return _period_sums(value, sums)
    return sums


@njit(cache=True)
def _period_sums(value, sums):  # pragma: no cover - compiled
    """The period that ends at equity ``value`` into ``sums`` (see `_equity_sums`)."""
    peak, max_dd, total_r, total_sq, abs_max, p_total, p_sq, p_down, p_start = sums
    pr = value / p_start - 1.0 if p_start > 0 else 0.0
    p_total += pr
    p_sq += pr * pr
    if pr < 0:
        p_down += pr * pr
    return peak, max_dd, total_r, total_sq, abs_max, p_total, p_sq, p_down, value


@njit(cache=True)
def _extremes(i, value, lo_i, lo_v, hi_i, hi_v):  # pragma: no cover - compiled
    """The bucket's first minimum and first maximum (bar, value) with bar ``i``'s ``value``."""
    if value < lo_v:
        lo_i, lo_v = i, value
    if value > hi_v:
        hi_i, hi_v = i, value
    return lo_i, lo_v, hi_i, hi_v


@njit(cache=True)
def run_pass(
    o, h, lo, c, day_end, time, start, n, long_entry, long_exit, short_entry, short_exit,
    fill_close, commission, slippage, fraction, sl, tp, trail, trail_act, max_bars, eod,
    period_end, p_count, points, blocks, returns, ti, tf,
):  # pragma: no cover - compiled  # fmt: skip
    """Evaluate one strategy on market bars ``start:start + n``.

    Prices, ``day_end`` and ``time`` (int64 ns) cover the whole market. Each
    rule (``long_entry`` ...) is ``(signals, weights, total, threshold)``: a
    tuple of signal arrays over the whole market (of one dtype: a built-in kind's
    uint8 or float64, `optimizer.signals.uniform`), a tuple of as many weights,
    their sum (> 0) and the threshold (`rule`), or None where it never fires
    (numba compiles a kernel per rule shape, with the weights in registers and
    the rules that never fire left out). NaN ``sl`` / ``tp`` and a None ``trail``
    disable them (without a trailing stop the levels are fixed per position),
    ``max_bars`` 0 means none. ``period_end`` marks the window's bars that end a
    return period and ``p_count`` counts the periods (`optimizer.periods.period_ends`). ``returns``
    (n floats) and ``ti`` / ``tf``
    (2n + 1 rows of 4) are scratch. Returns (figures as `OUT`, the packed
    arrays' lengths, the packed arrays).
    """
    k = 0
    stop = target = 0.0
    cash = 1.0
    pos = 0
    units = 0.0
    entry = 0.0
    committed = 0.0
    entry_i = 0
    best = 0.0
    pending_exit = -1
    pending_entry = 0
    # statistics of the equity: drawdown, per-bar returns, period returns, downsampling
    previous = 1.0
    sums = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)  # see `_equity_sums`
    every = n <= points
    buckets = max(1, (points - 2) // 2)
    eq_t = np.empty(n if every else 2 * buckets + 2, np.int64)
    eq_v = np.empty(len(eq_t))
    m = 0
    b = 0
    b_start = 1
    b_stop = 1 + (n - 2) // buckets
    lo_i = hi_i = 0
    lo_v, hi_v = np.inf, -np.inf
    next_event = 0  # the next bar to emit points at: bar 0, a bucket's last bar, the last bar
    value = 1.0

    i = -1
    while i + 1 < n:
        i += 1
        # 0. Flat, with no order waiting and the bucket's extremes around the
        # current value: such bars only wait for an entry signal, their return is
        # 0 and only a period's end changes a sum, up to the next bar that emits points.
        if not every and pos == 0 and pending_entry == 0 and pending_exit < 0 and lo_v <= value and value <= hi_v:
            limit = min(next_event, n - 1)
            while i < limit:
                g = np.uint64(start + i)  # unsigned: an index without the negative-index wraparound
                if _fires(long_entry, g) or _fires(short_entry, g):
                    break
                returns[np.uint64(i)] = 0.0
                if period_end[np.uint64(i)]:
                    sums = _period_sums(value, sums)
                i += 1
        # 0b. In a position with fixed stops and no order waiting: the bars on which
        # nothing happens (no stop, exit, time or day limit, nor points to emit).
        if trail is None and not every and pos != 0 and pending_exit < 0 and pending_entry == 0:
            while i < min(next_event, n - 1):
                g = np.uint64(start + i)
                if _fixed_stops(pos, stop, target, o[g], h[g], lo[g])[1] >= 0:
                    break
                if eod and day_end[g]:
                    break
                if max_bars > 0 and (i - entry_i + (0 if fill_close else 1)) >= max_bars:
                    break
                if _fires(long_exit, g) if pos > 0 else _fires(short_exit, g):
                    break
                low_mark = cash + _value(pos, units, entry, lo[g] if pos > 0 else h[g])
                value = cash + _value(pos, units, entry, c[g])
                sums = _equity_sums(np.uint64(i), value, min(low_mark, value), previous, sums, returns, period_end)
                previous = value
                lo_i, lo_v, hi_i, hi_v = _extremes(i, value, lo_i, lo_v, hi_i, hi_v)
                i += 1
        g = np.uint64(start + i)  # an index only (see 0b)
        # 1. Orders at the open: an exit, then an entry (a reversal does both).
        if pending_exit >= 0:
            cash += _record(ti, tf, k, entry_i, i, pos, entry, o[g], units, committed, commission, slippage,
                            pending_exit)  # fmt: skip
            k += 1
            pos = 0
            pending_exit = -1
        if pending_entry != 0 and cash > 0.0:
            pos = pending_entry
            entry, committed, cash, units = _open_position(pos, o[g], cash, fraction, commission, slippage)
            entry_i = i
            best = entry
            stop, target = _levels(pos, entry, sl, tp)
        pending_entry = 0

        # 2. Stops during the bar; the worst point of the bar while in the market.
        low_mark = cash
        if pos != 0:
            if trail is None:  # pruned at compile time: a kernel with and one without a trailing stop
                price, reason = _fixed_stops(pos, stop, target, o[g], h[g], lo[g])
            else:
                price, reason, best = _check_stops(pos, entry, best, o[g], h[g], lo[g], sl, tp, trail, trail_act)
            seen = lo[g] if pos > 0 else h[g]
            if reason >= 0 and (reason != TAKE_PROFIT or price == o[g]):
                seen = price
            low_mark = cash + _value(pos, units, entry, seen)
            if reason >= 0:
                cash += _record(ti, tf, k, entry_i, i, pos, entry, price, units, committed, commission, slippage,
                                reason)  # fmt: skip
                k += 1
                pos = 0

        # 3. Decisions at the close.
        closing = 0
        if pos != 0:
            reason = -1
            if i == n - 1:
                reason = END_OF_DATA
            elif eod and day_end[g]:
                reason = END_OF_DAY
            else:
                wants = -1
                exit_fires = _fires(long_exit, g) if pos > 0 else _fires(short_exit, g)
                if exit_fires:
                    wants = SIGNAL_EXIT
                elif max_bars > 0 and (i - entry_i + (0 if fill_close else 1)) >= max_bars:
                    wants = MAX_BARS
                if wants >= 0:
                    closing = pos
                    if fill_close:
                        reason = wants
                    else:
                        pending_exit = wants
            if reason >= 0:
                cash += _record(ti, tf, k, entry_i, i, pos, entry, c[g], units, committed, commission, slippage,
                                reason)  # fmt: skip
                k += 1
                pos = 0

        # 4. Entries: when flat at this close, or reversing a position closed here.
        if (pos == 0 or closing != 0) and i < n - 1 and not (fill_close and eod and day_end[g]):
            le = _fires(long_entry, g)
            se = _fires(short_entry, g)
            side = 0
            if le and not se:
                side = 1
            elif se and not le:
                side = -1
            if side != 0 and side != closing:
                if not fill_close:
                    pending_entry = side
                elif cash > 0.0:
                    pos = side
                    entry, committed, cash, units = _open_position(pos, c[g], cash, fraction, commission, slippage)
                    entry_i = i
                    best = entry
                    stop, target = _levels(pos, entry, sl, tp)

        # 5. Mark to market, and the statistics of this bar's equity.
        if pos > 0:
            value = cash + units * c[g]
        elif pos < 0:
            value = cash + max(units * (2.0 * entry - c[g]), 0.0)
        else:
            value = cash
        sums = _equity_sums(np.uint64(i), value, min(low_mark, value), previous, sums, returns, period_end)
        previous = value
        if every:
            eq_t[m] = time[g]
            eq_v[m] = value
            m += 1
            continue
        # Downsampling (`optimizer.stats_kernels.downsample_indices`): bar 0, each bucket's
        # first minimum and first maximum in bar order, the last bar. A bucket starts
        # with both at +-inf, so its first bar sets both, as the reference's start does.
        lo_i, lo_v, hi_i, hi_v = _extremes(i, value, lo_i, lo_v, hi_i, hi_v)
        if i == next_event:
            if i == 0 or i == n - 1:
                eq_t[m] = time[g]
                eq_v[m] = value
                m += 1
            else:
                first_i, first_v, second_i, second_v = lo_i, lo_v, hi_i, hi_v
                if hi_i < lo_i:
                    first_i, first_v, second_i, second_v = hi_i, hi_v, lo_i, lo_v
                eq_t[m] = time[start + first_i]
                eq_v[m] = first_v
                m += 1
                if second_i != first_i:
                    eq_t[m] = time[start + second_i]
                    eq_v[m] = second_v
                    m += 1
                b += 1
                b_start = b_stop
                b_stop = 1 + (n - 2) * (b + 1) // buckets
                while b < buckets and b_stop <= b_start:  # an empty bucket (not with n > points)
                    b += 1
                    b_stop = 1 + (n - 2) * (b + 1) // buckets
            lo_v, hi_v = np.inf, -np.inf
            lo_i = hi_i = i + 1
            next_event = b_stop - 1 if b < buckets else n - 1

    _, max_dd, total_r, total_sq, abs_max, p_total, p_sq, p_down, _ = sums
    out = np.full(len(OUT), np.nan)
    out[0] = max_dd
    mean = total_r / n
    out[1] = mean
    out[2] = np.sqrt(max((total_sq - n * mean * mean) / (n - 1), 0.0))
    out[3] = p_count
    if p_count >= 2:
        p_mean = p_total / p_count
        out[4] = p_mean
        out[5] = np.sqrt(max((p_sq - p_count * p_mean * p_mean) / (p_count - 1), 0.0))
        out[6] = np.sqrt(p_down / p_count)
    out[7] = value

    lengths, blob = pack_result(out, time, start, n, k, ti, tf, m, eq_t, eq_v, returns, blocks, abs_max)
    return out, lengths, blob
