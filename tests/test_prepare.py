"""A run set up (`prepare_run`): what is refused before any worker starts."""

from __future__ import annotations

import pytest

from optimizer.errors import ConfigError
from optimizer.prepare import prepare_run
from tests.conftest import BTC, EURUSD, parse, sma_cross_config


def _config(metric: str, split: dict | None = None):
    doc = sma_cross_config({"min": 5, "max": 20, "type": "int"}, 40, objectives=[{"metric": metric, "goal": "max"}])
    doc["ga"] = {"population": 4, "generations": 1}
    doc["workers"] = 1
    if split:
        doc["split"] = split
    return parse(doc)


@pytest.mark.parametrize(("metric", "needs"), [("sharpe", "30 daily returns"), ("sortino", "30 daily returns"),
                                               ("cagr_pct", "a window of 365 days"), ("calmar", "a window of 365 days")])  # fmt: skip
def test_an_objective_no_individual_can_have_is_refused_naming_it(tmp_path, metric, needs):
    """Ten days of minute bars: Sharpe and CAGR are undefined for everyone (ENGINE.md's
    minimum windows), so the run would rank every individual worst; it is refused."""
    with pytest.raises(ConfigError) as info:
        prepare_run(_config(metric), BTC, checkpoint_dir=tmp_path)
    assert info.value.details[0].startswith(f"objectives.0.metric: {metric} needs {needs}")


def test_the_window_that_counts_is_the_training_one(tmp_path):
    """EURUSD hourly spans ~10 months: Sharpe is defined on it, and on a training
    window of 30 % of it no longer."""
    with prepare_run(_config("sharpe"), EURUSD, checkpoint_dir=tmp_path / "a") as run:
        assert run.optimizer.generation == 0
    with pytest.raises(ConfigError, match=r"objectives\.0\.metric: sharpe needs 30 daily returns"):
        prepare_run(_config("sharpe", {"test_fraction": 0.9}), EURUSD, checkpoint_dir=tmp_path / "b")
