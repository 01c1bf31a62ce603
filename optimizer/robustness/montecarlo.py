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
from numba import njit

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


@njit(cache=True, nogil=True)
def _walk(returns, marks, final, drawdowns, fan, offset):  # pragma: no cover - compiled
    """Walk each row of ``returns`` (resamples x trades) as an equity path from 1.0, once:
    its final equity into ``final[offset + row]``, its largest fall below the running peak
    (the start included; a fraction) into ``drawdowns[offset + row]`` and its equity after
    ``marks[i]`` trades into ``fan[i, offset + row]``. The same products, peaks and ratios,
    in the same order, as `compound_paths` with numpy's accumulations (a NaN propagates as
    in ``maximum.accumulate`` and ``max``)."""
    rows, trades = returns.shape
    points = min(len(marks), fan.shape[0])  # no fan: nothing to mark
    for row in range(rows):
        path = 1.0
        peak = 1.0
        deepest = 0.0
        mark = 0
        while mark < points and marks[mark] == 0:
            fan[mark, offset + row] = path
            mark += 1
        for t in range(trades):
            path = path * (1.0 + returns[row, t])
            if path > peak or path != path or peak != peak:
                peak = path if peak == peak else peak
            fall = 1.0 - path / peak
            if fall > deepest or fall != fall or deepest != deepest:
                deepest = fall if deepest == deepest else deepest
            while mark < points and marks[mark] == t + 1:
                fan[mark, offset + row] = path
                mark += 1
        final[offset + row] = path
        drawdowns[offset + row] = deepest


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
    boot_drawdowns = np.empty(resamples)  # not reported: the bootstrap's paths give its fan
    fan = np.empty((len(marks), resamples))  # a row per mark: numpy's percentile reads each contiguously
    no_fan = np.empty((0, resamples))
    step = max(1, _CHUNK_ELEMENTS // max(trades, 1))
    for start in range(0, resamples, step):
        rows = min(step, resamples - start)
        order = shuffle_rng.permuted(np.broadcast_to(values, (rows, trades)), axis=1)
        _walk(order, marks, shuffled_final, drawdowns, no_fan, start)
        drawn = values[boot_rng.integers(0, trades, size=(rows, trades))] if trades else np.zeros((rows, 0))
        _walk(drawn, marks, boot_final, boot_drawdowns, fan, start)
    returns_pct, drawdown_pct, shuffled_pct = (
        [float(v) for v in row]
        for row in np.percentile(np.stack((boot_final - 1.0, drawdowns, shuffled_final - 1.0)), PERCENTILES, axis=1).T
        * 100.0
    )
    bands = np.percentile(fan, PERCENTILES, axis=1)
    return {
        "mc_return_pct": returns_pct,
        "mc_drawdown_pct": drawdown_pct,
        "ruin_probability": float(np.count_nonzero(drawdowns >= ruin_drawdown - _RUIN_ROUNDING) / resamples),
        "shuffle_return_pct": shuffled_pct,
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
