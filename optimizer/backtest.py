"""The simulation kernel: fills, costs, stops and the equity curve, in one pass.

Semantics (DESIGN.md, "Backtest semantics"), bar by bar:

1. At the open, orders decided at the previous close fill (``fill="next_open"``):
   an exit first, else an entry.
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
4. An entry signal is taken only if no position was open at this close, never
   on the last bar, and (with ``fill="close"``) not on a bar that ends the day
   when ``end_of_day`` is on. A long and a short entry on the same bar cancel.

Money: equity starts at 1.0. An entry commits ``position_fraction`` of equity E
and buys ``E*f*(1-commission)/fill`` units (fractional); an exit of value V
returns ``V*(1-commission)``. A short's value is ``units*(2*entry - price)``,
floored at zero (a short can lose at most what it committed). Every fill price
moves against the trader by ``slippage``. Equity is marked at each close.
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
    +1 long, -1 short; ``reason`` indexes `REASONS`.
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

    def __len__(self) -> int:
        return len(self.entry_index)


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
def _simulate(
    o, h, lo, c, day_end, le, lx, se, sx,
    fill_close, commission, slippage, fraction, sl, tp, trail, trail_act, max_bars, eod,
):  # pragma: no cover - compiled  # fmt: skip
    n = len(c)
    equity = np.empty(n)
    cap = max(n, 1)
    t_entry = np.empty(cap, np.int64)
    t_exit = np.empty(cap, np.int64)
    t_side = np.empty(cap, np.int8)
    t_ep = np.empty(cap)
    t_xp = np.empty(cap)
    t_pct = np.empty(cap)
    t_pnl = np.empty(cap)
    t_reason = np.empty(cap, np.int8)
    k = 0

    use_sl = not np.isnan(sl)
    use_tp = not np.isnan(tp)
    use_trail = not np.isnan(trail)
    cash = 1.0
    pos = 0
    units = 0.0
    entry = 0.0
    committed = 0.0
    entry_i = 0
    best = 0.0
    pending = 0  # +1 / -1: enter long / short at the next open; 2: exit at the next open
    pending_reason = 0

    for i in range(n):
        exit_price = np.nan
        reason = -1
        # 1. Orders at the open.
        if pending == 2:
            exit_price = o[i]
            reason = pending_reason
        elif pending != 0:
            pos = pending
            entry, committed, cash, units = _open_position(pos, o[i], cash, fraction, commission, slippage)
            entry_i = i
            best = entry
        pending = 0

        # 2. Stops during the bar.
        if pos != 0 and reason < 0:
            if pos > 0:
                sl_level = entry * (1.0 - sl) if use_sl else -np.inf
                tp_level = entry * (1.0 + tp) if use_tp else np.inf
                stop = sl_level
                stop_reason = STOP_LOSS
                if use_trail and best >= entry * (1.0 + trail_act) and best * (1.0 - trail) > stop:
                    stop = best * (1.0 - trail)
                    stop_reason = TRAILING_STOP
                if o[i] <= stop:
                    exit_price, reason = o[i], stop_reason
                elif o[i] >= tp_level:
                    exit_price, reason = o[i], TAKE_PROFIT
                else:
                    if o[i] > best:
                        best = o[i]
                    if use_trail and best >= entry * (1.0 + trail_act) and best * (1.0 - trail) > stop:
                        stop = best * (1.0 - trail)
                        stop_reason = TRAILING_STOP
                    if lo[i] <= stop:
                        exit_price, reason = stop, stop_reason
                    elif h[i] >= tp_level:
                        exit_price, reason = tp_level, TAKE_PROFIT
                    elif h[i] > best:
                        best = h[i]
            else:
                sl_level = entry * (1.0 + sl) if use_sl else np.inf
                tp_level = entry * (1.0 - tp) if use_tp else -np.inf
                stop = sl_level
                stop_reason = STOP_LOSS
                if use_trail and best <= entry * (1.0 - trail_act) and best * (1.0 + trail) < stop:
                    stop = best * (1.0 + trail)
                    stop_reason = TRAILING_STOP
                if o[i] >= stop:
                    exit_price, reason = o[i], stop_reason
                elif o[i] <= tp_level:
                    exit_price, reason = o[i], TAKE_PROFIT
                else:
                    if o[i] < best:
                        best = o[i]
                    if use_trail and best <= entry * (1.0 - trail_act) and best * (1.0 + trail) < stop:
                        stop = best * (1.0 + trail)
                        stop_reason = TRAILING_STOP
                    if h[i] >= stop:
                        exit_price, reason = stop, stop_reason
                    elif lo[i] <= tp_level:
                        exit_price, reason = tp_level, TAKE_PROFIT
                    elif lo[i] < best:
                        best = lo[i]

        # 3. Decisions at the close.
        open_at_close = pos != 0 and reason < 0
        if open_at_close:
            if i == n - 1:
                exit_price, reason = c[i], END_OF_DATA
            elif eod and day_end[i]:
                exit_price, reason = c[i], END_OF_DAY
            else:
                wants = -1
                if lx[i] if pos > 0 else sx[i]:
                    wants = SIGNAL_EXIT
                elif max_bars > 0 and (i - entry_i + (0 if fill_close else 1)) >= max_bars:
                    wants = MAX_BARS
                if wants >= 0:
                    if fill_close:
                        exit_price, reason = c[i], wants
                    else:
                        pending = 2
                        pending_reason = wants

        if reason >= 0:
            fill = exit_price * (1.0 - slippage) if pos > 0 else exit_price * (1.0 + slippage)
            value = units * fill if pos > 0 else max(units * (2.0 * entry - fill), 0.0)
            proceeds = value * (1.0 - commission)
            cash += proceeds
            t_entry[k] = entry_i
            t_exit[k] = i
            t_side[k] = pos
            t_ep[k] = entry
            t_xp[k] = fill
            t_pct[k] = proceeds / committed - 1.0 if committed > 0 else 0.0
            t_pnl[k] = proceeds - committed
            t_reason[k] = reason
            k += 1
            pos = 0
            units = 0.0

        # 4. Entries, when flat at this close.
        if not open_at_close and pos == 0 and i < n - 1 and not (fill_close and eod and day_end[i]):
            side = 0
            if le[i] and not se[i]:
                side = 1
            elif se[i] and not le[i]:
                side = -1
            if side != 0:
                if fill_close:
                    pos = side
                    entry, committed, cash, units = _open_position(pos, c[i], cash, fraction, commission, slippage)
                    entry_i = i
                    best = entry
                else:
                    pending = side

        # 5. Mark to market.
        if pos > 0:
            equity[i] = cash + units * c[i]
        elif pos < 0:
            equity[i] = cash + max(units * (2.0 * entry - c[i]), 0.0)
        else:
            equity[i] = cash

    return (
        t_entry[:k].copy(), t_exit[:k].copy(), t_side[:k].copy(), t_ep[:k].copy(), t_xp[:k].copy(),
        t_pct[:k].copy(), t_pnl[:k].copy(), t_reason[:k].copy(), equity,
    )  # fmt: skip


@njit(cache=True)
def rule_fires(signals, weights: np.ndarray, threshold: float) -> np.ndarray:  # pragma: no cover - compiled
    """Per bar, whether the weighted mean of ``signals`` (a tuple of float64
    arrays in [0, 1]) reaches ``threshold``; never when all weights are zero."""
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
