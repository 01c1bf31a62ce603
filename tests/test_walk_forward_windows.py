"""Walk-forward folds on real data: where the windows fall, and the configuration's errors."""

from __future__ import annotations

import copy

import pytest

from optimizer.config import parse_config
from optimizer.config_walk_forward import WalkForward
from optimizer.errors import ConfigError
from optimizer.schema import config_schema
from optimizer.split import holdout_start
from optimizer.walk_forward import fold_windows, windows_of
from tests.conftest import EURUSD, GOOG, market_of, sma_cross_config

DAY = 86_400 * 10**9


def _section(**fields) -> WalkForward:
    return WalkForward.model_validate(fields)


def _doc(**walk_forward) -> dict:
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, 60)
    doc["walk_forward"] = walk_forward
    return doc


def _check_layout(windows, n):
    """Every fold: training before test, no overlap; tests contiguous and ending at the last bar."""
    assert windows[-1].test_stop == n
    for k, w in enumerate(windows):
        assert w.fold == k + 1
        assert 0 <= w.train_start < w.train_stop == w.test_start < w.test_stop <= n
        assert w.test_stop - w.test_start >= 2 and w.train_stop - w.train_start >= 2
        if k:
            assert w.test_start == windows[k - 1].test_stop


@pytest.mark.parametrize("path", [EURUSD, GOOG], ids=["eurusd", "goog"])
def test_rolling_folds_slide_by_one_test_window(path):
    market = market_of(path)
    n = len(market)
    windows = fold_windows(_section(folds=4, train=600, test=200), market.candles.time, market.bar_ns)
    _check_layout(windows, n)
    assert [w.test_stop - w.test_start for w in windows] == [200] * 4
    assert [w.train_stop - w.train_start for w in windows] == [600] * 4
    assert windows[0].train_start == n - 600 - 4 * 200
    assert [w.train_start for w in windows] == [windows[0].train_start + 200 * k for k in range(4)]


def test_anchored_folds_grow_from_the_first_training_window():
    market = market_of(EURUSD)
    n = len(market)
    windows = fold_windows(_section(folds=5, mode="anchored", train=0.3, test=0.1), market.candles.time,
                           market.bar_ns)  # fmt: skip
    _check_layout(windows, n)
    test = round(n * 0.1)
    assert {w.train_start for w in windows} == {n - 5 * test - round(n * 0.3)}
    assert [w.train_stop - w.train_start for w in windows] == [round(n * 0.3) + k * test for k in range(5)]
    rolling = fold_windows(_section(folds=5, train=0.3, test=0.1), market.candles.time, market.bar_ns)
    assert [w.test_start for w in rolling] == [w.test_start for w in windows]  # same test windows
    assert rolling[0] == windows[0]


def test_durations_hold_the_bars_opening_within_them_on_data_with_gaps():
    market = market_of(GOOG)  # daily bars, no weekends
    time = market.candles.time
    windows = fold_windows(_section(folds=3, train="365d", test="90d"), time, market.bar_ns)
    _check_layout(windows, len(market))
    for w in windows:
        for start, stop, days in ((w.test_start, w.test_stop, 90), (w.train_start, w.train_stop, 365)):
            end = int(time[stop - 1]) + market.bar_ns  # the window's end: its last bar's close
            assert int(time[start]) >= end - days * DAY  # every bar opens within the span
            assert start == 0 or int(time[start - 1]) < end - days * DAY  # and every bar that does is in
        assert 55 <= w.test_stop - w.test_start <= 70  # about 63 sessions in 90 days


def test_one_fold_is_the_plain_split():
    market = market_of(EURUSD)
    n = len(market)
    split = holdout_start(parse_config({**_doc(folds=1, train=2, test=2), "walk_forward": None,
                                        "split": {"test_fraction": 0.25}}), market)  # fmt: skip
    (fold,) = fold_windows(_section(folds=1, train=n - round(n * 0.25), test=0.25), market.candles.time,
                           market.bar_ns)  # fmt: skip
    assert (fold.train_start, fold.test_start, fold.test_stop) == (0, split, n)


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"folds": 10, "train": 100, "test": 600}, "walk_forward.test", "need 6000 bars"),
        ({"folds": 4, "train": 3000, "test": 600}, "walk_forward.train", "before the data's first bar"),
        ({"folds": 2, "train": "2000d", "test": "30d"}, "walk_forward.train", "before the data's first bar"),
        ({"folds": 2, "train": 500, "test": "30m"}, "walk_forward.test", "holds 0 bar(s)"),
        ({"folds": 2, "train": 500, "test": 0.0002}, "walk_forward.test", "holds 1 bar(s)"),
    ],
    ids=["tests too long", "train too long", "train duration too long", "test under a bar", "test of 1 bar"],
)
def test_windows_that_do_not_fit_the_data_get_one_error_naming_the_field(fields, path, words):
    market = market_of(EURUSD)
    with pytest.raises(ConfigError) as caught:
        windows_of(parse_config(_doc(**fields)), market)
    assert len(caught.value.details) == 1
    assert caught.value.details[0].startswith(f"{path}: ") and words in caught.value.details[0]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"folds": 0, "train": 100, "test": 10}, "walk_forward.folds: 0 must be at least 1"),
        ({"folds": 2, "train": 1, "test": 10}, "walk_forward.train: 1 bar; a window needs at least 2"),
        ({"train": 100, "test": 1.5}, "walk_forward.test: 1.5 is no fraction in (0, 1)"),
        ({"train": 100, "test": "90 days"}, "walk_forward.test: '90 days' is no duration"),
        ({"train": True, "test": 10}, "walk_forward.train: must be a bar count"),
        ({"folds": 5, "train": 100, "test": 0.2}, "walk_forward.test: 5 folds of 0.2 of the bars need more"),
        ({"folds": 5, "train": 0.6, "test": 0.1}, "walk_forward.train: 0.6 + 5 folds of test 0.1 = 1.1"),
        ({"train": 100, "test": 10, "mode": "expanding"}, "walk_forward.mode:"),
        ({"train": 100, "test": 10, "select": "luck"}, "walk_forward.select:"),
        ({"train": 100}, "walk_forward.test: is required"),
        ({"train": 100, "test": 10, "criteria": {"max_drawdown_pct": 0}}, "walk_forward.criteria.max_drawdown_pct:"),
    ],
)
def test_bad_sections_get_one_error_naming_the_dotted_path(fields, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(_doc(**fields))
    assert len(caught.value.details) == 1, caught.value.details
    assert caught.value.details[0].startswith(expected), caught.value.details


def test_a_split_and_a_walk_forward_are_one_error():
    doc = _doc(train=100, test=10)
    doc["split"] = {"test_fraction": 0.2}
    with pytest.raises(ConfigError) as caught:
        parse_config(doc)
    assert caught.value.details == ["walk_forward: cannot be combined with split: each fold has its own test window"]


def test_the_section_is_in_the_schema_and_left_out_of_configurations_without_it():
    schema = config_schema()
    assert "walk_forward" in schema["properties"]
    section = schema["$defs"]["WalkForward"]
    assert set(section["properties"]) >= {"folds", "mode", "train", "test", "select"}
    assert section["required"] == ["train", "test"]
    assert section["properties"]["mode"]["enum"] == ["rolling", "anchored"]
    plain = parse_config(sma_cross_config(10, 60))
    assert "walk_forward" not in plain.raw
    config = parse_config(_doc(train="365d", test=0.1, folds=3))
    assert config.raw["walk_forward"]["train"] == "365d" and config.raw["walk_forward"]["test"] == 0.1
    assert parse_config(copy.deepcopy(config.raw)).raw == config.raw  # the normalized JSON validates again


def test_schema_windows_accept_what_the_validator_accepts():
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(config_schema())
    for train, test, ok in [(100, 10, True), ("90d", 0.1, True), (1, 10, False), (100, 1.5, False),
                            (100, "9x", False), (100, True, False)]:  # fmt: skip
        doc = _doc(train=train, test=test, folds=2)
        valid = validator.is_valid(doc)
        try:
            parse_config(doc)
            parsed = True
        except ConfigError:
            parsed = False
        assert valid == parsed == ok, (train, test)
