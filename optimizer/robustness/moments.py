"""One evaluation's per-bar returns, summarized for the robustness statistics.

The worker calls these on an evaluation's per-bar returns (fractions: 0.01 is
+1 % over the bar) so that the run keeps a few numbers per evaluation instead
of its equity series: `returns_moments` for the Deflated Sharpe Ratio, and
`block_sums` (S contiguous blocks) for the Probability of Backtest Overfitting.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FLAT_TOLERANCE = 1e-12  # a standard deviation below this fraction of the largest |return| is rounding: flat


class ReturnsMoments(NamedTuple):
    """The moments of a series of per-bar returns.

    ``bars`` the number of returns; ``mean`` and ``variance`` (ddof 1) per bar;
    ``skewness`` and ``kurtosis`` (non-excess, 3 for a normal distribution) the
    sample's standardized third and fourth central moments (m3/m2^1.5, m4/m2²,
    the biased estimators, which always satisfy kurtosis >= 1 + skewness²);
    ``sharpe`` = mean / sqrt(variance), per bar, not annualized (the same as
    `IndividualStats.sharpe_per_bar` for the same returns). None where
    undefined: the mean without bars, the variance below 2 bars, the rest with
    no variance (a flat equity; a standard deviation under `FLAT_TOLERANCE`
    times the largest return is rounding and counts as none).
    """

    bars: int
    mean: float | None
    variance: float | None
    skewness: float | None
    kurtosis: float | None
    sharpe: float | None


def _checked(returns: np.ndarray, name: str = "returns") -> np.ndarray:
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(f"{name}: expected a 1-D series (or a bars x candidates matrix), got {values.ndim} dimensions")
    finite = np.isfinite(values)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        place = f"bar {where[0]}" + (f", candidate {where[1]}" if len(where) == 2 else "")
        raise ValueError(f"{name}: {place} is {values[where]!r}, not a finite number")
    return values


def returns_moments(returns: np.ndarray) -> ReturnsMoments:
    """``bars``, ``mean``, ``variance``, ``skewness``, ``kurtosis`` and ``sharpe`` of per-bar ``returns``.

    ``returns`` a 1-D array of per-bar returns (fractions). Central moments are
    computed from the deviations from the mean (two passes), not from raw
    power sums.
    """
    values = _checked(returns)
    if values.ndim != 1:
        raise ValueError(f"returns: expected a 1-D series, got shape {values.shape}")
    bars = int(values.size)
    if bars == 0:
        return ReturnsMoments(0, None, None, None, None, None)
    mean = float(values.mean())
    if bars < 2:
        return ReturnsMoments(bars, mean, None, None, None, None)
    deviations = values - mean
    squares = deviations * deviations
    m2 = float(squares.mean())
    variance = m2 * bars / (bars - 1)
    if m2 <= (FLAT_TOLERANCE * float(np.abs(values).max())) ** 2:
        return ReturnsMoments(bars, mean, 0.0, None, None, None)
    m3 = float((squares * deviations).mean())
    m4 = float((squares * squares).mean())
    return ReturnsMoments(bars, mean, variance, m3 / m2**1.5, m4 / (m2 * m2), mean / variance**0.5)


def block_bounds(bars: int, blocks: int) -> np.ndarray:
    """The ``blocks + 1`` boundaries of ``blocks`` contiguous blocks of ``bars`` bars.

    Block i holds bars [floor(i·bars/S), floor((i+1)·bars/S)): sizes differ by
    at most one bar, and the longer blocks (the remainder of bars / S) are
    spread evenly over the window rather than piled at one end.
    """
    if blocks < 1:
        raise ValueError(f"blocks: {blocks!r} must be at least 1")
    if bars < blocks:
        raise ValueError(f"blocks: {blocks} blocks need at least {blocks} bars of returns, got {bars}")
    return (np.arange(blocks + 1, dtype=np.int64) * bars) // blocks


def block_sums(returns: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sums, squares, counts) of per-bar ``returns`` over ``blocks`` contiguous blocks (`block_bounds`).

    ``returns`` a 1-D series (giving three arrays of shape (S,)) or a
    (bars x candidates) matrix (giving (S, candidates) arrays, counts repeated
    per candidate): the sum of the returns, the sum of their squares and the
    number of bars in each block. Counts are int64.
    """
    values = _checked(returns)
    bounds = block_bounds(len(values), blocks)
    sums = np.add.reduceat(values, bounds[:-1], axis=0)
    squares = np.add.reduceat(values * values, bounds[:-1], axis=0)
    counts = np.diff(bounds)
    if values.ndim == 2:
        counts = np.repeat(counts[:, None], values.shape[1], axis=1)
    return sums, squares, counts
