"""Technical indicators as numba-compiled, NaN-aware functions over float64 arrays.

Every function returns arrays as long as its input, with NaN where the value is
not yet defined (warm-up). Values at index i use inputs at indices <= i only.
Periods are counted in bars of the series given; levels are in the indicator's
own unit (RSI and ADX 0..100, prices for the rest).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from optimizer import exact_sum as exact


@njit(cache=True)
def _first_valid(x):  # pragma: no cover - compiled
    for i in range(len(x)):
        if not np.isnan(x[i]):
            return i
    return len(x)


@njit(cache=True)
def sma(x: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - compiled
    """Simple moving average of the last ``period`` values: their exact sum (an
    `exact_sum` expansion, added to and removed from exactly) divided by ``period``
    and rounded once, so it never drifts and equal values average to themselves.

    A window holding a NaN or infinite value (after the leading NaNs) has no
    average (NaN). ``period`` is 1 to 2**26 - 1 bars.
    """
    if period < 1 or period >= exact.MAX_COUNT:
        raise ValueError("sma: period must be 1 to 2**26 - 1 bars")
    n = len(x)
    out = np.full(n, np.nan)
    parts = np.zeros(exact.CAPACITY)
    m = 0
    inverse = 1.0 / period
    undefined = 0  # non-finite values in the window
    start = _first_valid(x)
    for i in range(start, n):
        new = x[i]
        if not np.isfinite(new):
            undefined += 1
            new = 0.0
        old = x[i - period] if i - period >= start else 0.0
        if not np.isfinite(old):
            undefined -= 1
            old = 0.0
        # new - old = d + e exactly; e is 0 when new and old are within a factor 2 (Sterbenz).
        d, e = exact.two_sum(new, -old)
        exact.check_room(m, 2)
        if d != 0.0:
            m = exact.grow(parts, m, d)
        if e != 0.0:
            m = exact.grow(parts, m, e)
        if i - start + 1 >= period and undefined == 0:
            out[i] = exact.mean(parts, m, period, inverse)
    return out


@njit(cache=True)
def _smooth(x, period, alpha):  # pragma: no cover - compiled
    """Exponential smoothing with factor ``alpha``, seeded with the mean of the first
    ``period`` valid values (placed at the last of them), rounded once as in `sma`.
    Each step moves the value by ``alpha`` times its distance to the input, so
    equal inputs keep the value."""
    n = len(x)
    out = np.full(n, np.nan)
    start = _first_valid(x)
    if n - start < period:
        return out
    parts = np.zeros(exact.CAPACITY)
    m = 0
    for i in range(start, start + period):
        exact.check_room(m, 1)
        m = exact.grow(parts, m, x[i])
    value = exact.mean(parts, m, period, 1.0 / period)
    out[start + period - 1] = value
    for i in range(start + period, n):
        value += alpha * (x[i] - value)
        out[i] = value
    return out


@njit(cache=True)
def ema(x: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - compiled
    """Exponential moving average, alpha = 2 / (period + 1), seeded with the SMA of
    the first ``period`` valid values."""
    return _smooth(x, period, 2.0 / (period + 1.0))


@njit(cache=True)
def wilder(x: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - compiled
    """Wilder's smoothing (alpha = 1 / period), seeded with the mean of the first
    ``period`` valid values."""
    return _smooth(x, period, 1.0 / period)


@njit(cache=True)
def rsi(close: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - compiled
    """Wilder's RSI (0..100) over ``period`` price changes; 50 when prices are flat."""
    n = len(close)
    gain = np.full(n, np.nan)
    loss = np.full(n, np.nan)
    for i in range(1, n):
        change = close[i] - close[i - 1]
        gain[i] = change if change > 0 else 0.0
        loss[i] = -change if change < 0 else 0.0
    avg_gain = wilder(gain, period)
    avg_loss = wilder(loss, period)
    out = np.full(n, np.nan)
    for i in range(n):
        g = avg_gain[i]
        lo = avg_loss[i]
        if np.isnan(g) or np.isnan(lo):
            continue
        if lo == 0.0:
            out[i] = 50.0 if g == 0.0 else 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + g / lo)
    return out


@njit(cache=True)
def macd(close: np.ndarray, fast: int, slow: int, signal: int):  # pragma: no cover - compiled
    """MACD line (EMA fast - EMA slow), its signal line (EMA of the line) and the
    histogram (line - signal), in price units."""
    line = ema(close, fast) - ema(close, slow)
    sig = ema(line, signal)
    return line, sig, line - sig


@njit(cache=True)
def _deviation(x, period, mean):  # pragma: no cover - compiled
    """Population standard deviation of the last ``period`` values about ``mean``."""
    n = len(x)
    out = np.full(n, np.nan)
    for i in range(n):
        m = mean[i]
        if np.isnan(m):
            continue
        acc = 0.0
        for k in range(i - period + 1, i + 1):
            d = x[k] - m
            acc += d * d
        out[i] = np.sqrt(acc / period)
    return out


@njit(cache=True)
def rolling_std(x: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - compiled
    """Population standard deviation (ddof = 0) of the last ``period`` values,
    about their `sma` (exactly 0 when they are equal)."""
    return _deviation(x, period, sma(x, period))


@njit(cache=True)
def bollinger(close: np.ndarray, period: int, width: float):  # pragma: no cover - compiled
    """Bollinger bands: (lower, middle, upper) = SMA -/+ ``width`` population
    standard deviations of the last ``period`` closes (all three equal the close
    when those closes are equal)."""
    mid = sma(close, period)
    dev = _deviation(close, period, mid)
    return mid - width * dev, mid, mid + width * dev


@njit(cache=True)
def true_range(high, low, close):  # pragma: no cover - compiled
    """True range per bar (the first bar: high - low), in price units."""
    n = len(close)
    out = np.empty(n)
    for i in range(n):
        if i == 0:
            out[i] = high[i] - low[i]
        else:
            out[i] = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
    return out


@njit(cache=True)
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover
    """Average true range (Wilder's smoothing), in price units."""
    return wilder(true_range(high, low, close), period)


@njit(cache=True)
def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover
    """Wilder's average directional index (0..100)."""
    n = len(close)
    plus_dm = np.full(n, np.nan)
    minus_dm = np.full(n, np.nan)
    tr = np.full(n, np.nan)
    for i in range(1, n):
        up = high[i] - high[i - 1]
        down = low[i - 1] - low[i]
        plus_dm[i] = up if (up > down and up > 0) else 0.0
        minus_dm[i] = down if (down > up and down > 0) else 0.0
        tr[i] = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
    s_plus = wilder(plus_dm, period)
    s_minus = wilder(minus_dm, period)
    s_tr = wilder(tr, period)
    dx = np.full(n, np.nan)
    for i in range(n):
        if np.isnan(s_tr[i]):
            continue
        if s_tr[i] == 0.0:
            dx[i] = 0.0
            continue
        p = 100.0 * s_plus[i] / s_tr[i]
        m = 100.0 * s_minus[i] / s_tr[i]
        dx[i] = 0.0 if p + m == 0.0 else 100.0 * abs(p - m) / (p + m)
    return wilder(dx, period)


@njit(cache=True)
def _prior_extreme(x, period, sign):  # pragma: no cover - compiled
    # Monotonic deque of indices over the window [i - period, i - 1]; O(n).
    n = len(x)
    out = np.full(n, np.nan)
    queue = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    for i in range(n):
        if i >= period:
            while queue[head] < i - period:
                head += 1
            out[i] = x[queue[head]]
        while tail > head and sign * x[queue[tail - 1]] <= sign * x[i]:
            tail -= 1
        queue[tail] = i
        tail += 1
    return out


@njit(cache=True)
def prior_max(x: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - compiled
    """Highest value of the ``period`` bars before each bar (the bar itself excluded)."""
    return _prior_extreme(x, period, 1.0)


@njit(cache=True)
def prior_min(x: np.ndarray, period: int) -> np.ndarray:  # pragma: no cover - compiled
    """Lowest value of the ``period`` bars before each bar (the bar itself excluded)."""
    return _prior_extreme(x, period, -1.0)
