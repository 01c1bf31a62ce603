"""Objectives: which statistics a run optimizes, and in which direction.

A fitness is the list of the objectives' metric values, in configuration order,
each in the metric's own unit. An undefined metric (None: e.g. a Sharpe ratio
with no trades) has no fitness value; the optimizer ranks it worst.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optimizer.stats import IndividualStats


def fitness_of(stats: IndividualStats, objectives: Sequence[dict[str, Any]]) -> list[float | None]:
    """The metric values of ``stats`` for each objective (None when undefined)."""
    return [stats.metric(objective["metric"]) for objective in objectives]


def weights_of(objectives: Sequence[dict[str, Any]]) -> tuple[float, ...]:
    """DEAP-style weights: +1.0 to maximize, -1.0 to minimize, per objective."""
    return tuple(1.0 if objective["goal"] == "max" else -1.0 for objective in objectives)
