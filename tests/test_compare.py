"""The compare page's configuration difference (visualization_apps.compare) over
real normalized configurations: null and absent are the same."""

from __future__ import annotations

from optimizer.config import parse_config
from tests.test_api import run_config
from visualization_apps.compare import config_diff


def _normalized(direction: str = "long", seed: int = 3) -> dict:
    doc = run_config(generations=2, seed=seed)
    doc["strategy"]["direction"] = direction
    if direction == "both":
        doc["strategy"]["entry_short"] = {"weights": {"down": 1.0}, "threshold": 1.0}
    return parse_config(doc).to_json()  # as the server stores it: every default written, nulls included


def test_null_and_absent_are_no_difference():
    long, both = _normalized("long"), _normalized("both", seed=4)
    assert long["strategy"]["entry_short"] is None and "strategy" in both  # null in one, a rule in the other
    diff = config_diff([long, both, _normalized("long", seed=5)])
    assert "strategy.entry_short" not in diff  # null | absent | null: the same
    assert diff == {
        "ga.seed": [3, 4, 5],
        "strategy.direction": ["long", "both", "long"],
        "strategy.entry_short.threshold": [None, 1.0, None],
        "strategy.entry_short.weights.down": [None, 1.0, None],
    }


def test_a_null_against_a_value_is_a_difference():
    first, second = _normalized(), _normalized()
    second["ga"]["stall_generations"] = 5
    assert config_diff([first, second]) == {"ga.stall_generations": [None, 5]}
    assert config_diff([first, _normalized()]) == {}
