"""The simulation kernel: fills, costs, stops and the equity curve, in one pass.

Semantics (DESIGN.md, "Backtest semantics"), bar by bar:

1. At the open, orders decided at the previous close fill (``fill="next_open"``):
   an exit first, then an entry (both, when a position is reversed).
2. While a position is open, its stops are checked against the bar, from the
   entry bar on (after its open): a bar that opens beyond a level fills at the
   open, otherwise a touched level fills at the level; if a bar touches both the
   stop and the take-profit, the stop comes first. The trailing stop trails the
   best price since entry (the best high, for a short the best low, of the bars
   before, and this bar's open) by ``trailing_stop`` once that best price shows
   an open profit of ``trailing_activation``; the effective stop is the tighter
   of stop-loss and trailing stop.
3. At the close: a position still open is closed at this close on the last bar
   (``end_of_data``) and on the last bar of a UTC day with ``end_of_day``; else
   an exit signal, or ``max_bars`` reached, closes it at this close
   (``fill="close"``) or at the next open. Exit signals come before max_bars.
4. An entry signal is taken when no position is open at this close, or when the
   position a signal (or max_bars) closes here is on the other side (a
   reversal); never on the last bar, never with equity 0 (checked when it
   fills), and (with ``fill="close"``) not on a bar that ends the day when
   ``end_of_day`` is on. A long and a short entry on the same bar cancel.

Money: equity starts at 1.0. An entry commits ``position_fraction`` of equity E
and buys ``E*f*(1-commission)/fill`` units (fractional); an exit of value V
returns ``V*(1-commission)``. A short's value is ``units*(2*entry - price)``,
floored at zero (a short can lose at most what it committed). Every fill price
moves against the trader by ``slippage``. Equity is marked at each close, and
``worst_equity`` at each bar's worst point: an open position marked to the bar's
low (a short to its high), or to its exit price when a stop closes it (a
take-profit at its level is assumed to come after the low). Ruin
ends trading: once equity is 0 (a full-size short whose price doubled), no
entry is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

REASONS = ("signal_exit", "stop_loss", "take_profit", "trailing_stop", "max_bars", "end_of_day", "end_of_data")
SIGNAL_EXIT, STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, MAX_BARS, END_OF_DAY, END_OF_DATA = range(7)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Trades (one entry per array and trade) and the equity at each bar's close.

    Indices are bar indices of the data; prices are fill prices (slippage
    included); ``pnl_pct`` is a fraction of the committed capital net of both
    commissions; ``pnl`` is in units of the starting equity (1.0); ``side`` is
    +1 long, -1 short; ``reason`` indexes `REASONS`. ``worst_equity`` is the
    lowest equity during each bar (open positions marked to the bar's worst
    price, at most ``equity``); left out, it is ``equity``.
    """

    entry_index: np.ndarray
    exit_index: np.ndarray
    side: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    pnl_pct: np.ndarray
    pnl: np.ndarray
    reason: np.ndarray
    equity: np.ndarray
    worst_equity: np.ndarray = None  # type: ignore[assignment]  # set in __post_init__

    def __post_init__(self) -> None:
        if self.worst_equity is None:
            object.__setattr__(self, "worst_equity", self.equity)

    def __len__(self) -> int:
        return len(self.entry_index)

    @property
    def bars_held(self) -> np.ndarray:
        """Bars each trade was in the market (int64): exit index - entry index (the
        closes it was held over), and 1 for a trade opened and closed within one
        bar (stopped in its entry bar, or filled at the open of a bar that closes
        it at its close): it was in the market during that bar. Their sum over the
        trades never exceeds the number of bars."""
        return np.maximum(self.exit_index - self.entry_index, 1)


def simulate(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    day_end: np.ndarray,
    long_entry: np.ndarray,
    long_exit: np.ndarray,
    short_entry: np.ndarray,
    short_exit: np.ndarray,
    *,
    fill_close: bool = False,
    commission: float = 0.0,
    slippage: float = 0.0,
    position_fraction: float = 1.0,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    trailing_stop: float | None = None,
    trailing_activation: float = 0.0,
    max_bars: int | None = None,
    end_of_day: bool = False,
) -> BacktestResult:
    """Run the kernel on price arrays (float64) and per-bar boolean signal arrays.

    Fractions are plain (0.02 = 2 %); None disables a stop or the bar limit.
    """
    out = _simulate(
        open_, high, low, close, day_end, long_entry, long_exit, short_entry, short_exit,
        fill_close, commission, slippage, position_fraction,
        np.nan if stop_loss is None else stop_loss,
        np.nan if take_profit is None else take_profit,
        np.nan if trailing_stop is None else trailing_stop,
        trailing_activation, 0 if max_bars is None else int(max_bars), end_of_day,
    )  # fmt: skip
    return BacktestResult(*out)


@njit(cache=True)
def _open_position(side, price, cash, fraction, commission, slippage):  # pragma: no cover - compiled
    """An entry at ``price``: (fill price, committed capital, remaining cash, units)."""
    fill = price * (1.0 + slippage) if side > 0 else price * (1.0 - slippage)
    committed = cash * fraction
    return fill, committed, cash - committed, committed * (1.0 - commission) / fill


@njit(cache=True)
def _value(pos, units, entry, price):  # pragma: no cover - compiled
    """The marked value of an open position at ``price`` (a short floored at 0)."""
    if pos > 0:
        return units * price
    return max(units * (2.0 * entry - price), 0.0)


@njit(cache=True)
def _simulate(
    o, h, lo, c, day_end, le, lx, se, sx,
    fill_close, commission, slippage, fraction, sl, tp, trail, trail_act, max_bars, eod,
):  # pragma: no cover - compiled  # fmt: skip
    n = len(c)
    equity = np.empty(n)
    worst = np.empty(n)  # the lowest equity during each bar
    cap = 2 * n + 1  # a bar can close two trades: one at its open, a reversal's within it
    ti = np.empty((cap, 4), np.int64)  # entry index, exit index, side, reason
    tf = np.empty((cap, 4))  # entry price, exit price, pnl fraction, pnl
    k = 0
    cash = 1.0
    pos = 0
    units = 0.0
    entry = 0.0
    committed = 0.0
    entry_i = 0
    best = 0.0
    pending_exit = -1  # reason of an exit to fill at the next open, or -1
    pending_entry = 0  # +1 / -1: enter long / short at the next open

    for i in range(n):
        # 1. Orders at the open: an exit, then an entry (a reversal does both).
        if pending_exit >= 0:
            cash += _record(ti, tf, k, entry_i, i, pos, entry, o[i], units, committed, commission, slippage,
                            pending_exit)  # fmt: skip
            k += 1
            pos = 0
            pending_exit = -1
        if pending_entry != 0 and cash > 0.0:  # ruin (equity 0) ends trading
            pos = pending_entry
            entry, committed, cash, units = _open_position(pos, o[i], cash, fraction, commission, slippage)
            entry_i = i
            best = entry
        pending_entry = 0

        # 2. Stops during the bar; the worst point of the bar while in the market.
        low_mark = cash
        if pos != 0:
            price, reason, best = _check_stops(pos, entry, best, o[i], h[i], lo[i], sl, tp, trail, trail_act)
            seen = lo[i] if pos > 0 else h[i]
            if reason >= 0 and (reason != TAKE_PROFIT or price == o[i]):
                seen = price  # a stop (or a gap at the open) ends the position there
            low_mark = cash + _value(pos, units, entry, seen)
            if reason >= 0:
                cash += _record(ti, tf, k, entry_i, i, pos, entry, price, units, committed, commission, slippage,
                                reason)  # fmt: skip
                k += 1
                pos = 0

        # 3. Decisions at the close.
        closing = 0  # the side of a position a signal or max_bars closes at this close
        if pos != 0:
            reason = -1
            if i == n - 1:
                reason = END_OF_DATA
            elif eod and day_end[i]:
                reason = END_OF_DAY
            else:
                wants = -1
                if lx[i] if pos > 0 else sx[i]:
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
                cash += _record(ti, tf, k, entry_i, i, pos, entry, c[i], units, committed, commission, slippage,
                                reason)  # fmt: skip
                k += 1
                pos = 0

        # 4. Entries: when flat at this close, or reversing a position closed here.
        if (pos == 0 or closing != 0) and i < n - 1 and not (fill_close and eod and day_end[i]):
            side = 0
            if le[i] and not se[i]:
                side = 1
            elif se[i] and not le[i]:
                side = -1
            if side != 0 and side != closing:
                if not fill_close:
                    pending_entry = side  # filled at the next open if anything is left (1.)
                elif cash > 0.0:  # ruin (equity 0) ends trading
                    pos = side
                    entry, committed, cash, units = _open_position(pos, c[i], cash, fraction, commission, slippage)
                    entry_i = i
                    best = entry

        # 5. Mark to market.
        if pos > 0:
            equity[i] = cash + units * c[i]
        elif pos < 0:
            equity[i] = cash + max(units * (2.0 * entry - c[i]), 0.0)
        else:
            equity[i] = cash
        worst[i] = min(low_mark, equity[i])

    return (
        ti[:k, 0].copy(), ti[:k, 1].copy(), ti[:k, 2].astype(np.int8), tf[:k, 0].copy(), tf[:k, 1].copy(),
        tf[:k, 2].copy(), tf[:k, 3].copy(), ti[:k, 3].astype(np.int8), equity, worst,
    )  # fmt: skip


@njit(cache=True)
def _record(
    ti, tf, k, entry_i, i, pos, entry, price, units, committed, commission, slippage, reason
):  # pragma: no cover
    """Close the position at ``price`` (before slippage) as trade ``k``; returns the proceeds."""
    fill = price * (1.0 - slippage) if pos > 0 else price * (1.0 + slippage)
    value = units * fill if pos > 0 else max(units * (2.0 * entry - fill), 0.0)
    proceeds = value * (1.0 - commission)
    ti[k, 0] = entry_i
    ti[k, 1] = i
    ti[k, 2] = pos
    ti[k, 3] = reason
    tf[k, 0] = entry
    tf[k, 1] = fill
    tf[k, 2] = proceeds / committed - 1.0 if committed > 0 else 0.0
    tf[k, 3] = proceeds - committed
    return proceeds


@njit(cache=True)
def _stop_level(pos, entry, best, sl, trail, trail_act):  # pragma: no cover - compiled
    """The effective stop (the tighter of the stop-loss and an activated trailing
    stop) and its reason; -inf for a long when there is none, twice the entry price
    for a short (where it is worth nothing: liquidated, reason stop_loss)."""
    if pos > 0:
        stop = entry * (1.0 - sl) if sl == sl else -np.inf
        if trail == trail and best >= entry * (1.0 + trail_act) and best * (1.0 - trail) > stop:
            return best * (1.0 - trail), TRAILING_STOP
    else:
        # Without a stop-loss a short is still liquidated once it is worth nothing
        # (at twice its entry price), never left open at zero to come back.
        stop = entry * (1.0 + sl) if sl == sl else 2.0 * entry
        if trail == trail and best <= entry * (1.0 - trail_act) and best * (1.0 + trail) < stop:
            return best * (1.0 + trail), TRAILING_STOP
    return stop, STOP_LOSS


@njit(cache=True)
def _check_stops(pos, entry, best, o, h, lo, sl, tp, trail, trail_act):  # pragma: no cover - compiled
    """Stops against one bar: (exit price before slippage, reason or -1, best price).

    NaN ``sl`` / ``tp`` / ``trail`` disable that level. The open is checked first
    (a gap fills at the open), then the stop, then the take-profit; the bar's own
    high (low) only moves the trailing stop for the next bar.
    """
    d = 1.0 if pos > 0 else -1.0
    target = entry * (1.0 + d * tp) if tp == tp else d * np.inf
    stop, reason = _stop_level(pos, entry, best, sl, trail, trail_act)
    if d * o <= d * stop:
        return o, reason, best
    if d * o >= d * target:
        return o, TAKE_PROFIT, best
    if d * o > d * best:
        best = o
    stop, reason = _stop_level(pos, entry, best, sl, trail, trail_act)
    extreme_against = lo if pos > 0 else h
    extreme_for = h if pos > 0 else lo
    if d * extreme_against <= d * stop:
        return stop, reason, best
    if d * extreme_for >= d * target:
        return target, TAKE_PROFIT, best
    if d * extreme_for > d * best:
        best = extreme_for
    return np.nan, -1, best


@njit(cache=True)
def rule_fires(signals, weights: np.ndarray, threshold: float) -> np.ndarray:  # pragma: no cover - compiled
    """Per bar, whether the weighted mean of ``signals`` (a tuple of arrays of
    one dtype, values in [0, 1]) reaches ``threshold``; never when all weights are zero."""
    n = len(signals[0])
    out = np.zeros(n, np.bool_)
    total = 0.0
    for k in range(len(signals)):
        total += weights[k]
    if total <= 0.0:
        return out
    for i in range(n):
        score = 0.0
        for k in range(len(signals)):
            score += weights[k] * signals[k][i]
        out[i] = score / total >= threshold
    return out
