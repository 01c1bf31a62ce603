"""Monte Carlo on an individual's trades: reshuffled order and bootstrap.

Trade returns are **fractions of the equity compounded trade after trade**:
each trade's equity after / equity before - 1 (0.02 is +2 % of the equity; with
``position_fraction`` f and the rest idle, f x the trade's ``pnl_pct`` / 100).
The equity path of a sequence starts at 1.0 and is the running product of
(1 + r); its drawdown is measured at trade ends only (between trades; the
statistics' ``max_drawdown_pct`` also sees intrabar lows, so it can be larger).

- **Reshuffled order** (permutations of the same trades): the final equity is
  the same for every order (a product commutes; ``shuffle_return_pct`` shows it
  to rounding), the path is not: the distribution of the maximum drawdown
  (``mc_drawdown_pct``) and the probability that it reaches ``ruin_drawdown``
  (``ruin_probability``).
- **Bootstrap** (as many trades drawn with replacement): the distribution of
  the total return (``mc_return_pct``) and the equity fan (5th, 50th and 95th
  percentile of the equity after each trade, at most `FAN_POINTS` trade
  indices, for the individual page).

Deterministic from ``seed``: two numpy Generators spawned from its SeedSequence
(one per resampling), resamples drawn in chunks in a fixed order. Percentiles
use numpy's default (linear) interpolation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAN_POINTS = 100
PERCENTILES = (5.0, 50.0, 95.0)
_CHUNK_ELEMENTS = 1 << 20
_RUIN_ROUNDING = 1e-12  # a drawdown this close below the level reaches it (1 - 0.8 is 0.19999999999999996)


def compound_paths(trade_returns: np.ndarray) -> np.ndarray:
    """Equity paths of (resamples x trades) trade returns: (resamples x trades + 1), starting at 1.0."""
    values = np.asarray(trade_returns, dtype=np.float64)
    paths = np.ones((values.shape[0], values.shape[1] + 1))
    np.cumprod(1.0 + values, axis=1, out=paths[:, 1:])
    return paths


def _max_drawdowns(paths: np.ndarray) -> np.ndarray:
    """Each path's largest fall below its running peak (the start 1.0 included), a fraction."""
    peaks = np.maximum.accumulate(paths, axis=1)
    return (1.0 - paths / peaks).max(axis=1)


def _checked(trade_returns: np.ndarray, resamples: int, ruin_drawdown: float) -> np.ndarray:
    values = np.asarray(trade_returns, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"trade_returns: expected a 1-D sequence, got shape {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values) | (values < -1.0))
    if bad.size:
        raise ValueError(
            f"trade_returns: trade {int(bad[0])} is {values[bad[0]]!r}; a trade return is a finite fraction >= -1"
        )
    if not isinstance(resamples, int | np.integer) or resamples < 1:
        raise ValueError(f"resamples: {resamples!r} must be a whole number >= 1")
    if not 0.0 < ruin_drawdown <= 1.0:
        raise ValueError(f"ruin_drawdown: {ruin_drawdown!r} must be a fraction in (0, 1] (0.5 = a 50 % drawdown)")
    return values


def _percentiles(values: np.ndarray, scale: float = 100.0) -> list[float]:
    return [float(v) * scale for v in np.percentile(values, PERCENTILES)]


def monte_carlo(
    trade_returns: np.ndarray, resamples: int = 1000, seed: int = 0, ruin_drawdown: float = 0.5
) -> dict[str, Any]:
    """Reshuffle and bootstrap ``trade_returns`` (fractions, compounded) ``resamples`` times each.

    Returns a JSON-ready dict: ``mc_return_pct`` [p5, p50, p95] of the
    bootstrap's total return in percent; ``mc_drawdown_pct`` [p5, p50, p95] of the
    reshuffles' maximum drawdown in percent (positive); ``ruin_probability``, the
    share of reshuffles whose maximum drawdown reaches ``ruin_drawdown`` (a
    fraction: 0.5 is 50 %); ``shuffle_return_pct`` [p5, p50, p95] of the
    reshuffles' total return (all equal to ``final_return_pct``, the trades' own
    compounded return, up to rounding); ``fan`` ``{trade, p5, p50, p95}``: the
    bootstrap's equity percentiles (1.0 = start) after ``trade`` trades; and
    ``resamples``, ``trades``, ``seed``. Without trades every figure is 0.
    """
    values = _checked(trade_returns, resamples, ruin_drawdown)
    trades = len(values)
    marks = np.unique(np.linspace(0, trades, min(trades + 1, FAN_POINTS)).round().astype(np.int64))
    shuffle_rng, boot_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    drawdowns = np.empty(resamples)
    shuffled_final = np.empty(resamples)
    boot_final = np.empty(resamples)
    fan = np.empty((resamples, len(marks)))
    step = max(1, _CHUNK_ELEMENTS // max(trades, 1))
    for start in range(0, resamples, step):
        rows = min(step, resamples - start)
        done = slice(start, start + rows)
        order = shuffle_rng.permuted(np.broadcast_to(values, (rows, trades)), axis=1)
        paths = compound_paths(order)
        drawdowns[done] = _max_drawdowns(paths)
        shuffled_final[done] = paths[:, -1]
        drawn = values[boot_rng.integers(0, trades, size=(rows, trades))] if trades else np.zeros((rows, 0))
        paths = compound_paths(drawn)
        boot_final[done] = paths[:, -1]
        fan[done] = paths[:, marks]
    bands = np.percentile(fan, PERCENTILES, axis=0)
    return {
        "mc_return_pct": _percentiles(boot_final - 1.0),
        "mc_drawdown_pct": _percentiles(drawdowns),
        "ruin_probability": float(np.count_nonzero(drawdowns >= ruin_drawdown - _RUIN_ROUNDING) / resamples),
        "shuffle_return_pct": _percentiles(shuffled_final - 1.0),
        "final_return_pct": (float(np.prod(1.0 + values)) - 1.0) * 100.0,
        "fan": {
            "trade": marks.tolist(),
            "p5": bands[0].tolist(),
            "p50": bands[1].tolist(),
            "p95": bands[2].tolist(),
        },
        "resamples": int(resamples),
        "trades": trades,
        "seed": int(seed),
    }
