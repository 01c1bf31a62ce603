"""The elite members' robustness figures as CSV columns (GET /api/runs/<id>/export.csv).

Each figure as stored in the member's ``robustness`` (docs/OPTIMIZER.md, Robustness);
nothing is computed here. Individuals outside the final elite have no robustness:
their cells are empty.
"""

from __future__ import annotations

from typing import Any

SCALARS = ("dsr", "psr", "min_track_record", "neighbours", "ruin_probability", "stress_return_pct")
"""Robustness figures that are one number each (``min_track_record`` in bars)."""
PERCENTILES = ("p5", "p50", "p95")
BANDS = ("mc_return_pct", "mc_drawdown_pct")
"""Robustness figures that are ``[p5, p50, p95]``: each percentile its own column."""


def robustness_columns(metrics: list[str]) -> list[str]:
    """The headers: `SCALARS`, ``plateau_ratio_<metric>`` per objective (in the run's
    objective order), and ``mc_return_pct_p5`` ... ``mc_drawdown_pct_p95``."""
    return [*SCALARS, *(f"plateau_ratio_{m}" for m in metrics), *(f"{b}_{p}" for b in BANDS for p in PERCENTILES)]


def robustness_row(robustness: dict[str, Any] | None, objectives: int) -> list[Any]:
    """One individual's cells under `robustness_columns` (None: an empty cell)."""
    width = len(SCALARS) + objectives + len(BANDS) * len(PERCENTILES)
    if not robustness:
        return [None] * width
    plateau = list(robustness.get("plateau_ratio") or [])
    plateau = (plateau + [None] * objectives)[:objectives]
    bands = []
    for band in BANDS:
        values = robustness.get(band)
        bands += list(values) if values and len(values) == len(PERCENTILES) else [None] * len(PERCENTILES)
    return [*(robustness.get(k) for k in SCALARS), *plateau, *bands]
