"""The per-bar returns summary of one evaluation, made in the worker.

What the robustness statistics (`optimizer.run_robustness`) need of an
evaluation, without its equity series: the moments of its per-bar returns and
the sums of S contiguous blocks of them. Per-bar returns are the equity's
simple returns bar after bar, the first from the starting equity (1.0), as
``sharpe_per_bar`` counts them.

INTERIM: `returns_moments` and `block_sums` stand in for R1's functions of the
same names in `optimizer.robustness` (issue 15's contract) until that branch is
merged; then this module only calls them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """Simple per-bar returns of an equity curve (fractions), the first from 1.0;
    a bar after a non-positive equity returns 0."""
    equity = np.asarray(equity, dtype=np.float64)
    previous = np.concatenate(([1.0], equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(previous > 0, equity / previous - 1.0, 0.0)
    return out


def returns_moments(returns: np.ndarray) -> dict[str, float | int | None]:
    """``bars``, ``mean``, ``variance`` (ddof 1), ``skewness`` and ``kurtosis``
    (non-excess: 3 for a normal distribution; both from the population moments)
    and ``sharpe`` (mean / standard deviation, per bar, not annualized) of per-bar
    ``returns``. None where undefined (fewer than 2 bars, zero variance)."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    out: dict[str, float | int | None] = {"bars": n, "mean": None, "variance": None, "skewness": None,
                                          "kurtosis": None, "sharpe": None}  # fmt: skip
    if n < 2:
        return out
    mean = float(r.mean())
    d = r - mean
    m2 = float(np.mean(d * d))
    out["mean"] = mean
    out["variance"] = m2 * n / (n - 1)
    if m2 > 1e-30:
        out["skewness"] = float(np.mean(d**3)) / m2**1.5
        out["kurtosis"] = float(np.mean(d**4)) / m2**2
        out["sharpe"] = mean / math.sqrt(out["variance"])
    return out


def block_sums(returns: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums, sums of squares and bar counts of ``returns`` over ``blocks``
    contiguous blocks of (nearly) equal length: with n bars, the first n % blocks
    blocks hold one bar more (``numpy.array_split``'s rule). Empty arrays for
    ``blocks`` 0."""
    r = np.asarray(returns, dtype=np.float64)
    if blocks <= 0:
        return np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
    counts = np.full(blocks, len(r) // blocks, np.int64)
    counts[: len(r) % blocks] += 1
    edges = np.concatenate(([0], np.cumsum(counts)))
    sums = np.array([r[a:b].sum() for a, b in itertools.pairwise(edges)])
    squares = np.array([np.dot(r[a:b], r[a:b]) for a, b in itertools.pairwise(edges)])
    return sums, squares, counts
