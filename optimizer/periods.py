"""Calendar periods of an equity curve: the returns Sharpe and Sortino are made of.

Sharpe and Sortino are computed from the equity's *daily* returns (calendar days
in UTC), as QuantStats and Freqtrade's daily ratios do, so that figures from 1m
and 1h data are comparable and a gappy file is not annualized by its bar count.
A market either trades every day (crypto: 365 periods a year, every calendar day
of the window counts, a day without bars is a 0 return) or in sessions (stocks,
forex, futures: 252 a year, only weekdays with bars count, and a bar on a
Saturday or Sunday belongs to the following Monday's session, as forex's
Sunday-evening open does). Which one is inferred from the data
(`trading_days_of`) and can be set (``execution.trading_days``). Bars longer
than a day are their own periods (12 a year for monthly bars, else 365.25 days
over the bar size).

All times are int64 ns UTC (bar open times); returns are fractions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NS_PER_DAY = 86_400 * 10**9
EVERY_DAY = 365  # periods a year of a market that trades every calendar day
SESSIONS = 252  # periods a year of a market that trades in weekday sessions
MONTH_NS = 28 * NS_PER_DAY  # bars at least this long are monthly: 12 a year
YEAR_DAYS = 365.25


def trading_days_of(time: np.ndarray) -> int:
    """`EVERY_DAY` (365) if the bars (open times, int64 ns UTC) include a Saturday
    and a Sunday, else `SESSIONS` (252): no session market trades on Saturday in
    UTC, and a forex week opens on Sunday evening, so both days are needed."""
    weekday = (np.asarray(time, np.int64) // NS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return EVERY_DAY if bool(np.any(weekday == 5)) and bool(np.any(weekday == 6)) else SESSIONS


def trading_days_for(setting: int | None, time: np.ndarray) -> int:
    """Trading days a year: ``execution.trading_days`` when set, else inferred from
    the bars (`trading_days_of`)."""
    return int(setting) if setting is not None else trading_days_of(time)


def periods_per_year(bar_ns: int, trading_days: int) -> float:
    """Return periods a year: ``trading_days`` for bars of a day or less (daily
    periods), 12 for monthly bars, else 365.25 days over the bar size (weekly: 52.18)."""
    if bar_ns <= NS_PER_DAY:
        return float(trading_days)
    if bar_ns >= MONTH_NS:
        return 12.0
    return YEAR_DAYS * NS_PER_DAY / bar_ns


@njit(cache=True)
def _period_of(t, bar_ns, every_day):  # pragma: no cover - compiled
    """The period a bar opening at ``t`` belongs to and the time it ends: a day
    number (a weekend day's is Monday's in sessions) and its next midnight, or for
    bars over a day the bar itself."""
    if bar_ns > NS_PER_DAY:
        return t, t + 1
    day = t // NS_PER_DAY
    if not every_day:
        weekday = (day + 3) % 7
        if weekday >= 5:  # Saturday, Sunday: Monday's session
            day += 7 - weekday
    return day, (day + 1) * NS_PER_DAY


@njit(cache=True)
def period_returns(equity, time, bar_ns, every_day):  # pragma: no cover - compiled
    """(periods, mean, standard deviation (ddof 1), downside deviation) of the
    equity's returns per period, the first from the starting equity 1.0.

    A period's return is its last close's equity over the previous period's last
    close's equity, minus 1 (0 once equity is 0). With ``every_day`` and bars of
    a day or less, every calendar day from the first bar's to the last bar's
    counts, days without bars as 0 returns. The downside deviation is
    sqrt(sum(min(r, 0)^2) / periods). NaNs for fewer than 2 periods.
    """
    n = len(equity)
    if n == 0:
        return 0, np.nan, np.nan, np.nan
    total = 0.0
    total_sq = 0.0
    down_sq = 0.0
    count = 0
    start = 1.0
    period, end = _period_of(time[0], bar_ns, every_day)
    first = period
    for i in range(n):
        if i + 1 < n and time[i + 1] < end:  # the next bar is in this period (times ascend)
            continue
        value = equity[i]
        r = value / start - 1.0 if start > 0 else 0.0
        total += r
        total_sq += r * r
        if r < 0:
            down_sq += r * r
        count += 1
        start = value
        if i + 1 < n:
            period, end = _period_of(time[i + 1], bar_ns, every_day)
    if every_day and bar_ns <= NS_PER_DAY:
        count = period - first + 1  # the calendar days without bars add 0 returns
    if count < 2:
        return count, np.nan, np.nan, np.nan
    mean = total / count
    var = (total_sq - count * mean * mean) / (count - 1)
    return count, mean, np.sqrt(max(var, 0.0)), np.sqrt(down_sq / count)


@njit(cache=True)
def period_ends(time, start, n, bar_ns, every_day):  # pragma: no cover - compiled
    """Which of the bars ``start:start + n`` (open times ``time``, int64 ns) is the
    last of its return period, and how many periods the window has:
    `period_returns`' walk, made once per engine. With
    ``every_day`` and bars of a day or less every calendar day counts."""
    last = np.zeros(n, np.bool_)
    count = 0
    period, end = _period_of(time[start], bar_ns, every_day)
    first = period
    for i in range(n):
        if i + 1 < n and time[start + i + 1] < end:
            continue
        last[i] = True
        count += 1
        if i + 1 < n:
            period, end = _period_of(time[start + i + 1], bar_ns, every_day)
    if every_day and bar_ns <= NS_PER_DAY:
        count = period - first + 1
    return last, count
