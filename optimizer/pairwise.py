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

import numpy as np
from numba import njit

BLOCK = 128  # numpy's PW_BLOCKSIZE
SUM, SQUARES, DEVIATIONS = range(3)  # what `pairwise_in` sums


@njit(cache=True)
def _leaf(a, lo, n, mode, mean):  # pragma: no cover - compiled
    """numpy's sums of at most `BLOCK` values: of ``a`` (`SUM`), of its squares
    (`SQUARES`; then the second sum is of ``a`` too), or of d², d²·d, d²·d²
    with d = a - mean (`DEVIATIONS`). Eight running sums each, as locals;
    unsigned indices (numba's wraparound of negative ones kept the loops
    from vectorizing)."""
    one = np.uint64(1)
    lo = np.uint64(lo)
    n = np.uint64(n)
    stop = lo + n
    if n < np.uint64(8):
        s0 = s1 = s2 = -0.0
        for i in range(lo, stop):
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
    eight = np.uint64(8)
    end = stop - n % eight
    i1, i2, i3, i4, i5, i6, i7 = lo + one, lo + np.uint64(2), lo + np.uint64(3), lo + np.uint64(4), lo + np.uint64(5), lo + np.uint64(6), lo + np.uint64(7)  # fmt: skip
    if mode == DEVIATIONS:
        d0, d1, d2, d3 = a[lo] - mean, a[i1] - mean, a[i2] - mean, a[i3] - mean
        d4, d5, d6, d7 = a[i4] - mean, a[i5] - mean, a[i6] - mean, a[i7] - mean
        q0, q1, q2, q3, q4, q5, q6, q7 = d0 * d0, d1 * d1, d2 * d2, d3 * d3, d4 * d4, d5 * d5, d6 * d6, d7 * d7
        c0, c1, c2, c3, c4, c5, c6, c7 = q0 * d0, q1 * d1, q2 * d2, q3 * d3, q4 * d4, q5 * d5, q6 * d6, q7 * d7
        f0, f1, f2, f3, f4, f5, f6, f7 = q0 * q0, q1 * q1, q2 * q2, q3 * q3, q4 * q4, q5 * q5, q6 * q6, q7 * q7
        for i in range(lo + eight, end, eight):
            d0, d1, d2, d3 = a[i] - mean, a[i + one] - mean, a[i + np.uint64(2)] - mean, a[i + np.uint64(3)] - mean
            d4, d5 = a[i + np.uint64(4)] - mean, a[i + np.uint64(5)] - mean
            d6, d7 = a[i + np.uint64(6)] - mean, a[i + np.uint64(7)] - mean
            e0, e1, e2, e3, e4, e5, e6, e7 = d0 * d0, d1 * d1, d2 * d2, d3 * d3, d4 * d4, d5 * d5, d6 * d6, d7 * d7
            q0, q1, q2, q3, q4, q5, q6, q7 = q0 + e0, q1 + e1, q2 + e2, q3 + e3, q4 + e4, q5 + e5, q6 + e6, q7 + e7
            c0, c1, c2, c3 = c0 + e0 * d0, c1 + e1 * d1, c2 + e2 * d2, c3 + e3 * d3
            c4, c5, c6, c7 = c4 + e4 * d4, c5 + e5 * d5, c6 + e6 * d6, c7 + e7 * d7
            f0, f1, f2, f3 = f0 + e0 * e0, f1 + e1 * e1, f2 + e2 * e2, f3 + e3 * e3
            f4, f5, f6, f7 = f4 + e4 * e4, f5 + e5 * e5, f6 + e6 * e6, f7 + e7 * e7
        s0 = ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7))
        s1 = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7))
        s2 = ((f0 + f1) + (f2 + f3)) + ((f4 + f5) + (f6 + f7))
        for i in range(end, stop):
            d = a[i] - mean
            q = d * d
            s0 += q
            s1 += q * d
            s2 += q * q
        return s0, s1, s2
    r0, r1, r2, r3, r4, r5, r6, r7 = a[lo], a[i1], a[i2], a[i3], a[i4], a[i5], a[i6], a[i7]
    if mode == SQUARES:
        p0, p1, p2, p3 = r0 * r0, r1 * r1, r2 * r2, r3 * r3
        p4, p5, p6, p7 = r4 * r4, r5 * r5, r6 * r6, r7 * r7
        for i in range(lo + eight, end, eight):
            x0, x1, x2, x3 = a[i], a[i + one], a[i + np.uint64(2)], a[i + np.uint64(3)]
            x4, x5, x6, x7 = a[i + np.uint64(4)], a[i + np.uint64(5)], a[i + np.uint64(6)], a[i + np.uint64(7)]
            r0, r1, r2, r3, r4, r5, r6, r7 = r0 + x0, r1 + x1, r2 + x2, r3 + x3, r4 + x4, r5 + x5, r6 + x6, r7 + x7
            p0, p1, p2, p3 = p0 + x0 * x0, p1 + x1 * x1, p2 + x2 * x2, p3 + x3 * x3
            p4, p5, p6, p7 = p4 + x4 * x4, p5 + x5 * x5, p6 + x6 * x6, p7 + x7 * x7
        s0 = ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7))
        s1 = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for i in range(end, stop):
            s0 += a[i] * a[i]
            s1 += a[i]
        return s0, s1, -0.0
    for i in range(lo + eight, end, eight):
        r0, r1, r2, r3 = r0 + a[i], r1 + a[i + one], r2 + a[i + np.uint64(2)], r3 + a[i + np.uint64(3)]
        r4, r5 = r4 + a[i + np.uint64(4)], r5 + a[i + np.uint64(5)]
        r6, r7 = r6 + a[i + np.uint64(6)], r7 + a[i + np.uint64(7)]
    s0 = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(end, stop):
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
