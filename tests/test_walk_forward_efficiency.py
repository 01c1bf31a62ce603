"""Walk-forward efficiency on intraday folds (BTC-1m, windows of a few days): simply
annualized on both sides (return x 365.25 days / window days), so it is finite
and comparable; compounded to a year, a 1-day return of a few percent is ~1e10
and the efficiency ~1e-20."""

from __future__ import annotations

import dataclasses
import math

import pytest

from optimizer.periods import YEAR_DAYS
from optimizer.walk_forward.results import annualized, efficiency
from tests.conftest import BTC, market_of, sma_cross_config
from tests.test_walk_forward import _walk


@pytest.fixture(scope="module")
def btc_walk():
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"})
    doc["ga"] = {"population": 8, "generations": 2, "seed": 4, "min_trades": 1}
    doc["robustness"] = {"enabled": False}
    doc["walk_forward"] = {"folds": 4, "train": 1500, "test": 500}
    walk, _ = _walk(doc, market=market_of(BTC))
    return walk, walk.summary()


def test_the_efficiency_of_intraday_folds_is_the_ratio_of_simple_yearly_rates(btc_walk):
    walk, summary = btc_walk
    trains = [f.train for f in walk.results if f.train is not None]
    assert trains and all(t.span_days < 2.0 for t in trains)  # ~1500 minutes: intraday windows
    stitched = summary["stitched"]
    mean_in = math.fsum(t.total_return_pct / 100 * YEAR_DAYS / t.span_days for t in trains) / len(trains)
    assert mean_in > 0  # the search maximizes the training return: the in-sample side is defined
    expected = stitched["total_return_pct"] / 100 * YEAR_DAYS / stitched["span_days"] / mean_in
    assert summary["efficiency"] == pytest.approx(expected, rel=1e-12)
    assert math.isfinite(summary["efficiency"]) and abs(summary["efficiency"]) < 1e3
    criterion = next(c for c in summary["criteria"] if c["name"] == "efficiency")
    assert criterion["value"] == summary["efficiency"]


def test_equal_returns_per_day_in_and_out_of_sample_give_efficiency_1(btc_walk):
    walk, _ = btc_walk
    folds = [f for f in walk.results if f.train is not None]
    per_day = 1.5  # percent a day, on every window whatever its length
    same_rate = [dataclasses.replace(f, train=dataclasses.replace(f.train, total_return_pct=per_day * f.train.span_days))
                 for f in folds]  # fmt: skip
    stitched = walk.results[0].test
    stitched = dataclasses.replace(stitched, total_return_pct=per_day * 4 * stitched.span_days,
                                   span_days=4 * stitched.span_days)  # fmt: skip
    assert efficiency(stitched, same_rate) == pytest.approx(1.0, rel=1e-12)
    doubled = dataclasses.replace(stitched, total_return_pct=2 * stitched.total_return_pct)
    assert efficiency(doubled, same_rate) == pytest.approx(2.0, rel=1e-12)


def test_annualized_is_simple_and_efficiency_is_null_without_a_positive_in_sample(btc_walk):
    walk, _ = btc_walk
    assert annualized(2.0, YEAR_DAYS / 2) == pytest.approx(0.04)  # 2% in half a year: 4% a year, not 4.04%
    assert annualized(5.0, 0.0) is None
    losing = [dataclasses.replace(f, train=dataclasses.replace(f.train, total_return_pct=-1.0))
              for f in walk.results if f.train is not None]  # fmt: skip
    assert efficiency(walk.results[0].test, losing) is None
