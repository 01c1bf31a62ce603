"""Exact sums of float64 values, and their mean rounded once.

A sum is held as an *expansion*: float64 parts that do not overlap, by increasing
magnitude, whose unrounded sum is exactly the sum of every value added (Shewchuk,
"Adaptive precision floating-point arithmetic", 1997; the partials of Python's
``math.fsum``). Adding or removing a value is exact, so a rolling sum never drifts.
`mean` divides such a sum by a count and rounds once, to within a hair of the
nearest float64 of the exact mean: the mean of equal values is that value.

Values and sums must stay within about 1e300 in magnitude (no overflow).
"""

from __future__ import annotations

import numpy as np
from numba import njit

CAPACITY = 2200  # parts; a nonoverlapping expansion of float64 has at most ~2098
MAX_COUNT = 2**26  # counts `mean` divides by exactly (n * half of a split float64 is exact)
_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitter for 53-bit significands


@njit(cache=True)
def two_sum(a: float, b: float) -> tuple[float, float]:  # pragma: no cover - compiled
    """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True)
def grow(parts: np.ndarray, m: int, x: float) -> int:  # pragma: no cover - compiled
    """Add ``x`` exactly to the expansion ``parts[:m]``; returns its new length
    (at most m + 1: the caller checks that ``m < CAPACITY``, see `check_room`).

    Zero parts are dropped, so the length stays small for real data (2 or 3).
    """
    j = 0
    for k in range(m):
        x, low = two_sum(x, parts[k])
        if low != 0.0:
            parts[j] = low
            j += 1
    parts[j] = x
    return j + 1


@njit(cache=True)
def check_room(m: int, more: int) -> None:  # pragma: no cover - compiled
    """Raise OverflowError unless an expansion of ``m`` parts can grow by ``more``
    (it cannot only once a sum has overflowed float64 into infinities and NaNs)."""
    if m + more > CAPACITY:
        raise OverflowError("exact sum overflows float64")


@njit(cache=True)
def mean(parts: np.ndarray, m: int, count: int, inverse: float) -> float:  # pragma: no cover - compiled
    """The expansion ``parts[:m]`` divided by ``count`` (1 <= count < `MAX_COUNT`;
    ``inverse`` is ``1.0 / count``), rounded to nearest.

    The sum is first taken as high + low (to ~1e-32 of itself); a first quotient
    q is then corrected by the remainder (high - q * count + low) / count, whose
    first two terms are exact (q is split in two 26-bit halves), so the result is
    the exact mean rounded to nearest, but for means within ~1e-15 ulp of halfway
    between two floats. Equal values therefore average to themselves.
    """
    high = 0.0
    low = 0.0
    for k in range(m):
        high, error = two_sum(high, parts[k])
        low += error
    q = high * inverse
    c = _SPLIT * q
    q_high = c - (c - q)  # q = q_high + q_low, each with at most 26 significant bits
    q_low = q - q_high
    remainder = ((high - q_high * count) - q_low * count) + low  # exact but for the last addition
    return q + remainder * inverse
