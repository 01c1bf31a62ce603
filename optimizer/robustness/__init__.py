"""Robustness statistics (issue 15): is an elite's in-sample result real?

Pure, vectorised functions over numbers the run already keeps; nothing here
touches the run, its storage or its events.

- `optimizer.robustness.sharpe`: the Probabilistic and Deflated Sharpe Ratios,
  the minimum track record length and the expected maximum Sharpe ratio of N
  trials (Bailey and López de Prado, 2012 and 2014).
- `optimizer.robustness.moments`: one evaluation's per-bar returns summarized
  (`returns_moments`) and cut into S contiguous blocks (`block_sums`), in the
  worker.
- `optimizer.robustness.cscv`: the Probability of Backtest Overfitting by
  combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado and
  Zhu), from the per-block sums of every candidate (`pbo_from_blocks`) or from a
  (bars x candidates) matrix of returns (`pbo`).
- `optimizer.robustness.montecarlo`: reshuffled and bootstrapped trade sequences
  (`monte_carlo`).

Units: Sharpe ratios are **per bar, not annualized** (mean per-bar return over
its standard deviation), track lengths are in bars, kurtosis is the plain
(non-excess) fourth standardized moment (3 for a normal distribution).
"""

from __future__ import annotations

import importlib
from typing import Any

# Each name's module, imported on first use: a worker needs only `moments`, and the
# others bring SciPy's statistics (about a second of every worker's start).
_MODULES = {
    "MAX_BLOCKS": "cscv", "pbo": "cscv", "pbo_from_blocks": "cscv", "split_halves": "cscv",
    "ReturnsMoments": "moments", "block_sums": "moments", "returns_moments": "moments",
    "FAN_POINTS": "montecarlo", "compound_paths": "montecarlo", "monte_carlo": "montecarlo",
    "deflated_sharpe_ratio": "sharpe", "expected_max_sharpe": "sharpe", "min_track_record_length": "sharpe",
    "probabilistic_sharpe_ratio": "sharpe", "sharpe_radicand": "sharpe",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "FAN_POINTS",
    "MAX_BLOCKS",
    "ReturnsMoments",
    "block_sums",
    "compound_paths",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "min_track_record_length",
    "monte_carlo",
    "pbo",
    "pbo_from_blocks",
    "probabilistic_sharpe_ratio",
    "returns_moments",
    "sharpe_radicand",
    "split_halves",
]
