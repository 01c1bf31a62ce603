"""Higher timeframes, Heiken-Ashi candles and the no-look-ahead alignment.

A higher-timeframe candle gathers the base bars whose open time falls in its bin;
bins are ``tf`` long and start at ``bin_origin(tf)`` plus a whole number of ``tf``:
the Unix epoch (so minutes, hours and days start at midnight UTC), except that a
timeframe of whole weeks starts on Monday 00:00 UTC. Empty bins are dropped. A
bin closes at its start plus ``tf``, also when the data has only some of its bars
(the data's first and last bins, a bin across a gap): it is the candle of the bars
present. On a base bar that closes at ``t``, only the higher candles that closed at
or before ``t`` are visible (`visible_index`).
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit

from optimizer.data.candles import NS_PER_SECOND, Candles

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
WEEK_NS = 7 * 86400 * NS_PER_SECOND
# 1970-01-01 (the epoch) was a Thursday; the first Monday was 1970-01-05.
MONDAY_NS = 4 * 86400 * NS_PER_SECOND
_TIMEFRAME = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_timeframe(text: str) -> int:
    """A timeframe such as ``"15m"``, ``"4h"`` or ``"1d"`` in nanoseconds.

    Units: s, m (minutes), h, d, w. Raises ValueError for anything else.
    """
    match = _TIMEFRAME.match(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a timeframe like 15m, 4h or 1d (units s, m, h, d, w)")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)] * NS_PER_SECOND


def format_timeframe(ns: int) -> str:
    """The shortest text for a duration in ns (``3600e9`` -> ``"1h"``)."""
    seconds = ns // NS_PER_SECOND
    for unit in ("w", "d", "h", "m"):
        if seconds % UNIT_SECONDS[unit] == 0:
            return f"{seconds // UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def bin_origin(tf_ns: int) -> int:
    """Where the bins of timeframe ``tf_ns`` start (ns since the epoch): Monday
    1970-01-05 00:00 UTC for whole weeks, the epoch (Thursday 1970-01-01 00:00 UTC)
    for everything else. Bins start at this origin plus a whole number of ``tf_ns``."""
    return MONDAY_NS if tf_ns % WEEK_NS == 0 else 0


def aggregate(candles: Candles, tf_ns: int) -> Candles:
    """Candles of ``tf_ns`` built from ``candles``: first open, max high, min low,
    last close, summed volume per bin (aligned as `bin_origin` says); empty bins
    are dropped. A bin that holds only some of its base bars (the data starts or
    ends inside it, or a gap crosses it) is the candle of the bars it holds, labelled
    by its bin's start and closing at its bin's end like any other."""
    if tf_ns == candles.bar_ns:
        return candles
    origin = bin_origin(tf_ns)
    bins = np.floor_divide(candles.time - origin, tf_ns)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], len(bins)]
    return Candles(
        time=bins[starts] * tf_ns + origin,
        open=candles.open[starts],
        high=np.maximum.reduceat(candles.high, starts),
        low=np.minimum.reduceat(candles.low, starts),
        close=candles.close[ends - 1],
        volume=np.add.reduceat(candles.volume, starts),
        bar_ns=tf_ns,
    )


def visible_index(base: Candles, higher: Candles) -> np.ndarray:
    """For each base bar, the index of the last higher candle closed at or before
    the base bar's close (int64; -1 where none has closed yet)."""
    if higher is base:
        return np.arange(len(base), dtype=np.int64)
    return np.searchsorted(higher.close_time, base.close_time, side="right").astype(np.int64) - 1


def heiken_ashi(candles: Candles) -> Candles:
    """Heiken-Ashi candles of the same bars: close = (o+h+l+c)/4, open = mean of the
    previous HA open and close (the first: (o+c)/2), high/low include HA open/close."""
    ha_open, ha_high, ha_low, ha_close = _heiken_ashi(candles.open, candles.high, candles.low, candles.close)
    return Candles(candles.time, ha_open, ha_high, ha_low, ha_close, candles.volume, bar_ns=candles.bar_ns)


@njit(cache=True)
def _heiken_ashi(o, h, lo, c):  # pragma: no cover - compiled
    n = len(o)
    ha_open = np.empty(n)
    ha_high = np.empty(n)
    ha_low = np.empty(n)
    ha_close = np.empty(n)
    for i in range(n):
        ha_close[i] = (o[i] + h[i] + lo[i] + c[i]) / 4.0
        if i == 0:
            ha_open[i] = (o[i] + c[i]) / 2.0
        else:
            ha_open[i] = (ha_open[i - 1] + ha_close[i - 1]) / 2.0
        ha_high[i] = max(h[i], ha_open[i], ha_close[i])
        ha_low[i] = min(lo[i], ha_open[i], ha_close[i])
    return ha_open, ha_high, ha_low, ha_close
