"""The per-bar returns summary of one evaluation, made in the worker.

What the robustness statistics (`optimizer.run_robustness`) need of an
evaluation, without its equity series: the moments of its per-bar returns and
the sums of S contiguous blocks of them. Per-bar returns are the equity's
simple returns bar after bar, the first from the starting equity (1.0), as
``sharpe_per_bar`` counts them.

The moments and block sums are `optimizer.robustness`'s (`returns_moments`,
`block_sums`); `summary` guards what they refuse (fewer bars than blocks: no block
sums, and the evaluation stays out of the PBO).
"""

from __future__ import annotations

import numpy as np

from optimizer.robustness import block_sums, returns_moments


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """Simple per-bar returns of an equity curve (fractions), the first from 1.0;
    a bar after a non-positive equity returns 0."""
    equity = np.asarray(equity, dtype=np.float64)
    previous = np.concatenate(([1.0], equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(previous > 0, equity / previous - 1.0, 0.0)
    return out


def summary(equity: np.ndarray, blocks: int) -> tuple[dict[str, float | int | None], tuple[np.ndarray, ...]]:
    """The moments (``returns_moments`` as a dict) and the block sums, squares and
    counts of the per-bar returns of ``equity`` (empty arrays for ``blocks`` 0 or
    a window of fewer bars than blocks)."""
    returns = bar_returns(equity)
    moments = returns_moments(returns)
    if blocks <= 0 or len(returns) < blocks:
        empty = np.zeros(0)
        return moments._asdict(), (empty, empty, np.zeros(0, np.int64))
    return moments._asdict(), block_sums(returns, blocks)
