"""End to end on real data: a walk-forward fails a strategy without skill and passes
one that knows the next bar (test-only kinds of `tests.plugins.oracles`; the
oracle looks ahead, so the walk-forward is built here without the look-ahead
self-check, as `tests/test_run_robustness.py` builds its optimizer)."""

from __future__ import annotations

import pytest

from tests.conftest import EURUSD
from tests.test_walk_forward import _walk


@pytest.fixture
def oracles(monkeypatch):
    monkeypatch.setenv("OPTIMIZER_PLUGINS", "tests.plugins.oracles")
    from optimizer.plugins import load_plugins

    load_plugins()


def _doc(signals: dict, entry: dict, exit_: dict, **execution) -> dict:
    return {
        "name": "walk-forward e2e",
        "data": {"path": str(EURUSD)},
        "strategy": {"direction": "long", "signals": signals, "entry": entry, "exit": exit_},
        "execution": {"fill": "close", **execution},
        "objectives": [{"metric": "total_return_pct", "goal": "max"}],
        "ga": {"population": 16, "generations": 3, "seed": 5, "min_trades": 5},
        "robustness": {"enabled": False},
        "walk_forward": {"folds": 4, "train": 1000, "test": 500},
    }


def _summary(doc: dict) -> dict:
    return _walk(doc)[0].summary()


def _verdicts(summary: dict) -> dict[str, bool]:
    return {c["name"]: c["passed"] for c in summary["criteria"]}


def test_a_coin_flip_strategy_has_a_low_efficiency_and_fails(oracles):
    seed = {"min": 1, "max": 100_000, "type": "int"}
    doc = _doc({"flip": {"kind": "coin_flip", "params": {"seed": seed}},
                "flap": {"kind": "coin_flip", "params": {"seed": seed}}},
               {"weights": {"flip": 1.0}, "threshold": 1.0}, {"weights": {"flap": 1.0}, "threshold": 1.0},
               commission=0.0)  # fmt: skip
    summary = _summary(doc)
    assert all(f["train"]["total_return_pct"] > 0 for f in summary["folds"])  # the search found lucky seeds
    assert summary["efficiency"] is None or summary["efficiency"] < 0.5
    assert not summary["passed"] and not _verdicts(summary)["efficiency"]


def test_a_strategy_that_knows_the_next_close_passes(oracles):
    doc = _doc({"up": {"kind": "oracle_up", "params": {"period": {"min": 1, "max": 40, "type": "int"}}},
                "down": {"kind": "oracle_down", "params": {"period": 1}}},
               {"weights": {"up": 1.0}, "threshold": 1.0}, {"weights": {"down": 1.0}, "threshold": 1.0},
               position_fraction=0.05)  # fmt: skip
    summary = _summary(doc)
    assert summary["passed"], summary["criteria"]
    assert summary["efficiency"] >= 0.5 and summary["profitable_folds_pct"] == 100.0
    assert summary["t_stat"] > 3.0
    assert all(f["params"]["strategy.signals.up.params.period"] < 40 for f in summary["folds"])
