"""The compiled kernels of the statistics (`optimizer.stats`, and the one-pass
engine's `optimizer.pass_result`): drawdown and per-bar returns, trade counts and
sums, histograms of trade returns, annualized ratios, equity downsampling.
Percent in, percent out (trades' ``pct``); equity relative to the start (1.0)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MAX_BINS = 20
"""At most this many histogram bins."""


@njit(cache=True)
def equity_summary(equity, worst):  # pragma: no cover - compiled
    """Max drawdown (fraction) and the mean and standard deviation (ddof 1) of
    per-bar returns (the first from the start, 1.0).

    The drawdown of bar i is its ``worst`` equity (open positions marked to the
    bar's worst price) below the peak of the closes before it (and the start)."""
    n = len(equity)
    peak = 1.0
    max_dd = 0.0
    previous = 1.0
    total = 0.0
    total_sq = 0.0
    for i in range(n):
        dd = 1.0 - worst[i] / peak
        if dd > max_dd:
            max_dd = dd
        value = equity[i]
        if value > peak:
            peak = value
        r = value / previous - 1.0 if previous > 0 else 0.0
        total += r
        total_sq += r * r
        previous = value
    if n < 2:
        return max_dd, np.nan, np.nan
    mean = total / n
    var = (total_sq - n * mean * mean) / (n - 1)
    return max_dd, mean, np.sqrt(max(var, 0.0))


def annualized_ratio(mean: float, deviation: float, per_year: float) -> float | None:
    """``mean / deviation * sqrt(per_year)`` (per_year 1: not annualized); None when
    any is not finite or the deviation is 0 (a flat equity)."""
    if not (math.isfinite(mean) and math.isfinite(deviation) and math.isfinite(per_year)) or deviation <= 1e-15:
        return None
    return mean / deviation * math.sqrt(per_year)


@njit(cache=True)
def histogram(values):  # pragma: no cover - compiled
    """Bins over [min, max] of ``values``: edges (one more than counts) and counts.

    ceil(sqrt(n)) bins, at most `MAX_BINS`; the edges are numpy's
    ``linspace(min, max, bins + 1)``, each bin holds [left, right) and the last
    also its right edge, as ``numpy.histogram`` counts them. None: two empty arrays.
    """
    if len(values) == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    bins = min(MAX_BINS, max(1, math.ceil(math.sqrt(len(values)))))
    return histogram_counts(values, bins)


@njit(cache=True)
def histogram_counts(values, bins):  # pragma: no cover - compiled
    low = values.min()
    high = values.max()
    if low == high:
        return np.array([low, high]), np.array([len(values)], np.int64)
    edges = np.empty(bins + 1)
    step = (high - low) / bins
    for k in range(bins):
        edges[k] = k * step + low
    edges[bins] = high
    counts = np.zeros(bins, np.int64)
    for v in values:
        j = np.searchsorted(edges, v, side="right") - 1
        counts[min(j, bins - 1)] += 1
    return edges, counts


@njit(cache=True)
def trade_summary(pct):  # pragma: no cover - compiled
    """Counts and sums over trades' ``pct`` (percent of committed capital): (wins,
    losses, sum of winning %, sum of losing %, best %, worst %, sum of all %)."""
    n_win = 0
    n_loss = 0
    sum_win = 0.0
    sum_loss = 0.0
    best = -np.inf
    worst = np.inf
    total = 0.0
    for k in range(len(pct)):
        p = pct[k]
        total += p
        best = max(best, p)
        worst = min(worst, p)
        if p > 0:
            n_win += 1
            sum_win += p
        elif p < 0:
            n_loss += 1
            sum_loss += p
    return n_win, n_loss, sum_win, sum_loss, best, worst, total


@njit(cache=True)
def downsample_indices(values: np.ndarray, points: int) -> np.ndarray:  # pragma: no cover - compiled
    """Indices of at most about ``points`` samples that keep the shape of a curve:
    the first and last, and each bucket's minimum and maximum, in order."""
    n = len(values)
    if n <= points:
        return np.arange(n)
    buckets = max(1, (points - 2) // 2)
    out = np.empty(2 * buckets + 2, np.int64)
    k = 0
    out[k] = 0
    k += 1
    for b in range(buckets):
        start = 1 + (n - 2) * b // buckets
        stop = 1 + (n - 2) * (b + 1) // buckets
        if stop <= start:
            continue
        lo_i = start
        hi_i = start
        for i in range(start, stop):
            if values[i] < values[lo_i]:
                lo_i = i
            if values[i] > values[hi_i]:
                hi_i = i
        first, second = (lo_i, hi_i) if lo_i <= hi_i else (hi_i, lo_i)
        out[k] = first
        k += 1
        if second != first:
            out[k] = second
            k += 1
    out[k] = n - 1
    k += 1
    return out[:k]
