"""INTERIM stand-ins for R1's `optimizer.robustness` (issue 15's contract), to be
deleted when branch s7-rstats is merged: `optimizer.run_robustness` then imports
the same names from `optimizer.robustness`. Same signatures and conventions as
R1's (per-bar, non-annualized Sharpe ratios; non-excess kurtosis; NaN where a
probability is undefined), minimal and unvectorised where it does not matter.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
from scipy.stats import norm

EULER_GAMMA = 0.5772156649015329


def _radicand(sharpe: float, skewness: float, kurtosis: float) -> float:
    return 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe


def _defined(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def probabilistic_sharpe_ratio(
    sharpe: float | None, bars: int, skewness: float | None, kurtosis: float | None, benchmark: float = 0.0
) -> float:
    """P(true per-bar Sharpe > ``benchmark``); NaN where undefined."""
    if not _defined(sharpe, skewness, kurtosis) or bars < 2:
        return math.nan
    radicand = _radicand(sharpe, skewness, kurtosis)
    if radicand <= 0:
        return math.nan
    return float(norm.cdf((sharpe - benchmark) * math.sqrt(bars - 1) / math.sqrt(radicand)))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0: the expected maximum per-bar Sharpe ratio of ``trials`` unskilled trials."""
    if trials <= 1 or not variance > 0:
        return 0.0
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * norm.ppf(1 - 1 / trials)
                                  + EULER_GAMMA * norm.ppf(1 - 1 / (trials * math.e)))  # fmt: skip


def deflated_sharpe_ratio(
    sharpe: float | None, bars: int, skewness: float | None, kurtosis: float | None, trials: int,
    trials_variance: float,
) -> float:  # fmt: skip
    """The PSR of ``sharpe`` against SR0 (`expected_max_sharpe`)."""
    return probabilistic_sharpe_ratio(sharpe, bars, skewness, kurtosis, expected_max_sharpe(trials, trials_variance))


def min_track_record_length(
    sharpe: float | None, skewness: float | None, kurtosis: float | None, benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float | None:  # fmt: skip
    """Bars needed for PSR(``benchmark``) to reach ``confidence``; None where undefined."""
    if not _defined(sharpe, skewness, kurtosis) or sharpe <= benchmark:
        return None
    radicand = _radicand(sharpe, skewness, kurtosis)
    if radicand <= 0:
        return None
    return 1.0 + radicand * (norm.ppf(confidence) / (sharpe - benchmark)) ** 2


def _sharpe(s: np.ndarray, q: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (q - s * s / n) / (n - 1)
        out = (s / n) / np.sqrt(var)
    return np.where((var > 1e-30) & (n > 1), out, 0.0)  # no spread in a half: a Sharpe ratio of 0


def pbo_from_blocks(block_sums: np.ndarray, block_squares: np.ndarray, block_counts: np.ndarray) -> dict[str, Any]:
    """CSCV over (S x candidates) block sums, squares and counts."""
    sums, squares = np.asarray(block_sums, float), np.asarray(block_squares, float)
    counts = np.asarray(block_counts, float)
    if counts.ndim == 1:
        counts = np.repeat(counts[:, None], sums.shape[1], axis=1)
    blocks, candidates = sums.shape
    halves = np.zeros((math.comb(blocks, blocks // 2), blocks))
    for row, chosen in enumerate(combinations(range(blocks), blocks // 2)):
        halves[row, list(chosen)] = 1.0
    s_in, q_in, n_in = halves @ sums, halves @ squares, halves @ counts
    inside = _sharpe(s_in, q_in, n_in)
    outside = _sharpe(sums.sum(0) - s_in, squares.sum(0) - q_in, counts.sum(0) - n_in)
    rows = np.arange(len(halves))
    choice = inside.argmax(axis=1)
    value = outside[rows, choice]
    below = np.count_nonzero(outside < value[:, None], axis=1)
    at_most = np.count_nonzero(outside <= value[:, None], axis=1)
    omega = (below + (at_most - below + 1) / 2.0) / (candidates + 1.0)
    logits = np.log(omega / (1 - omega))
    x, y = inside[rows, choice], value
    dx = x - x.mean()
    slope = float(dx @ (y - y.mean()) / (dx @ dx)) if dx @ dx > 0 else None
    intercept = None if slope is None else float(y.mean() - slope * x.mean())
    return {"pbo": float(np.mean(logits <= 0)), "logits": logits.tolist(), "degradation_slope": slope,
            "degradation_intercept": intercept, "prob_oos_loss": float(np.mean(y < 0)), "is_sharpe": x.tolist(),
            "oos_sharpe": y.tolist(), "selected": choice.tolist(), "splits": len(halves), "candidates": candidates,
            "blocks": blocks}  # fmt: skip


def _drawdowns(paths: np.ndarray) -> np.ndarray:
    equity = np.cumprod(1.0 + paths, axis=1)
    peaks = np.maximum.accumulate(np.maximum(equity, 1.0), axis=1)
    return (1.0 - equity / peaks).max(axis=1, initial=0.0)


def monte_carlo(
    trade_returns: np.ndarray, resamples: int = 1000, seed: int = 0, ruin_drawdown: float = 0.5
) -> dict[str, Any]:
    """Reshuffled (drawdowns) and bootstrapped (returns) trade sequences, compounded."""
    r = np.asarray(trade_returns, float)
    if len(r) == 0 or resamples <= 0:
        return {"mc_return_pct": None, "mc_drawdown_pct": None, "ruin_probability": None, "fan": None}
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.tile(r, (resamples, 1)), axis=1)
    boot = r[rng.integers(0, len(r), size=(resamples, len(r)))]
    drawdowns = _drawdowns(shuffled)
    equity = np.cumprod(1.0 + boot, axis=1)
    returns = (equity[:, -1] - 1.0) * 100.0
    step = max(1, math.ceil(len(r) / 100))
    trades = np.arange(step - 1, len(r), step)
    fan = np.percentile(equity[:, trades], [5, 50, 95], axis=0)
    pct = [5, 50, 95]
    return {"mc_return_pct": np.percentile(returns, pct).tolist(),
            "mc_drawdown_pct": (np.percentile(drawdowns, pct) * 100.0).tolist(),
            "ruin_probability": float(np.mean(drawdowns >= ruin_drawdown)),
            "fan": {"trade": (trades + 1).tolist(), "p5": fan[0].tolist(), "p50": fan[1].tolist(),
                    "p95": fan[2].tolist()}}  # fmt: skip
