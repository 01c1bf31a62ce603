"""Sums in numpy's order, for compiled code that must give numpy's results bit for bit.

numpy sums a contiguous float64 array (``a.sum()``, ``a.mean()``) by pairwise
summation: below 8 values one by one from -0.0; up to 128 values in 8 running
sums (values i, i+8, i+16, ... in the j-th) combined as ((s0+s1)+(s2+s3)) +
((s4+s5)+(s6+s7)), then the rest one by one; above 128 values the two halves
(the first a multiple of 8 long) summed so and added. ``np.add.reduceat`` gives
a segment's first value plus that sum of the others. The per-bar return moments
and block sums of `optimizer.robustness` are defined by those numpy calls; the
compiled evaluation (`optimizer.one_pass`) calls these to give the same floats,
not merely close ones (a mean of returns that nearly cancel would otherwise
differ in its leading digits). `tests/test_engine_pairwise.py` holds them to numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from optimizer import lanes
from optimizer.compiled_cache import drop_stale_cache
from optimizer.lanes import lane_deviations, lane_squares, lane_sums

drop_stale_cache(Path(__file__), (lanes,))

BLOCK = 128  # numpy's PW_BLOCKSIZE
SUM, SQUARES, DEVIATIONS = range(3)  # what `pairwise_in` sums


@njit(cache=True)
def _combine(r0, r1, r2, r3, r4, r5, r6, r7):  # pragma: no cover - compiled
    """numpy's sum of its eight running sums."""
    return ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))


@njit(cache=True)
def _leaf(a, lo, n, mode, mean):  # pragma: no cover - compiled
    """numpy's sums of at most `BLOCK` values: of ``a`` (`SUM`), of its squares
    (`SQUARES`; then the second sum is of ``a`` too), or of d², d²·d, d²·d²
    with d = a - mean (`DEVIATIONS`). Eight running sums each, the lanes of a
    vector (`optimizer.lanes`), then the values past the last multiple of 8."""
    if n < 8:
        s0 = s1 = s2 = -0.0
        for i in range(lo, lo + n):
            x = a[i]
            if mode == DEVIATIONS:
                d = x - mean
                q = d * d
                s0 += q
                s1 += q * d
                s2 += q * q
            elif mode == SQUARES:
                s0 += x * x
                s1 += x
            else:
                s0 += x
        return s0, s1, s2
    rows = n // 8
    end = lo + 8 * rows
    if mode == DEVIATIONS:
        v = lane_deviations(a, lo, rows, mean)
        s0 = _combine(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
        s1 = _combine(v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15])
        s2 = _combine(v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23])
        for i in range(end, lo + n):
            d = a[i] - mean
            q = d * d
            s0 += q
            s1 += q * d
            s2 += q * q
        return s0, s1, s2
    if mode == SQUARES:
        v = lane_squares(a, lo, rows)
        s0 = _combine(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
        s1 = _combine(v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15])
        for i in range(end, lo + n):
            s0 += a[i] * a[i]
            s1 += a[i]
        return s0, s1, -0.0
    v = lane_sums(a, lo, rows)
    s0 = _combine(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
    for i in range(end, lo + n):
        s0 += a[i]
    return s0, -0.0, -0.0


@njit(cache=True)
def workspace() -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The stacks `pairwise_in` walks with (reusable from one call to the next)."""
    return np.empty((3, 64), np.int64), np.empty((64, 3))  # a tree over 2^64 values is as deep as it gets


@njit(cache=True)
def pairwise_in(a, lo, n, mode, mean, stack, values):  # pragma: no cover - compiled
    """numpy's pairwise recursion, walked with explicit stacks (numba's cache cannot
    load a recursive function called from another cached one): above `BLOCK`
    values, the sum of the first n2 = n/2 rounded down to a multiple of 8 and
    the sum of the rest. Three sums (see `_leaf`) of ``mode``; ``stack`` and
    ``values`` from `workspace`."""
    if n <= BLOCK:
        return _leaf(a, lo, n, mode, mean)
    los, ns, state = stack[0], stack[1], stack[2]
    state[0] = 0
    sp = 0
    vp = 0
    los[0] = lo
    ns[0] = n
    while sp >= 0:
        start, size = los[sp], ns[sp]
        if size <= BLOCK:
            values[vp, 0], values[vp, 1], values[vp, 2] = _leaf(a, start, size, mode, mean)
            vp += 1
            sp -= 1
            continue
        half = size // 2
        half -= half % 8
        if state[sp] == 0:
            state[sp] = 1
            sp += 1
            los[sp], ns[sp], state[sp] = start, half, 0
        elif state[sp] == 1:
            state[sp] = 2
            sp += 1
            los[sp], ns[sp], state[sp] = start + half, size - half, 0
        else:
            vp -= 1
            for q in range(3):
                values[vp - 1, q] += values[vp, q]
            sp -= 1
    return values[0, 0], values[0, 1], values[0, 2]


@njit(cache=True)
def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:  # pragma: no cover - compiled
    """``a[lo:lo + n].sum()`` as numpy computes it (float64)."""
    stack, values = workspace()
    return pairwise_in(a, lo, n, SUM, 0.0, stack, values)[0]


@njit(cache=True)
def pairwise_sum_squares(a: np.ndarray, lo: int, n: int) -> float:  # pragma: no cover - compiled
    """``(a * a)[lo:lo + n].sum()`` as numpy computes it."""
    stack, values = workspace()
    return pairwise_in(a, lo, n, SQUARES, 0.0, stack, values)[0]


@njit(cache=True)
def pairwise_sums_and_squares(a: np.ndarray, lo: int, n: int) -> tuple[float, float]:  # pragma: no cover
    """(``a[lo:lo + n].sum()``, ``(a * a)[lo:lo + n].sum()``) as numpy computes them, in one pass."""
    stack, values = workspace()
    squares, sums, _ = pairwise_in(a, lo, n, SQUARES, 0.0, stack, values)
    return sums, squares


@njit(cache=True)
def deviation_sums(a: np.ndarray, lo: int, n: int, mean: float) -> tuple[float, float, float]:  # pragma: no cover
    """The sums of d², d²·d and d²·d² over d = ``a[lo:lo + n] - mean``, each as
    numpy sums ``squares``, ``squares * deviations`` and ``squares * squares``
    (`optimizer.robustness.returns_moments`), in one pass."""
    stack, values = workspace()
    return pairwise_in(a, lo, n, DEVIATIONS, mean, stack, values)
