"""The one grammar of a walk-forward window's duration: ``<number><unit>``, decimals
allowed, the unit one of s, m, h, d, w (spaces around either ignored), refused with
one error that lists the units; the JSON Schema's pattern says the same."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from optimizer.config import parse_config
from optimizer.config_walk_forward import duration_ns
from optimizer.errors import ConfigError
from optimizer.schema import config_schema
from optimizer.walk_forward import fold_windows
from tests.conftest import GOOG, market_of, sma_cross_config

HOUR = 3600 * 10**9


def _doc(train, test="30d"):
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, 60)
    doc["walk_forward"] = {"folds": 2, "train": train, "test": test}
    return doc


@pytest.mark.parametrize(
    ("text", "hours", "stored"),
    [("60d", 1440, "60d"), ("60 d", 1440, "60d"), (" 1.5d ", 36, "1.5d"), ("0.5w", 84, "0.5w"), (".5h", 0.5, ".5h"),
     ("90m", 1.5, "90m"), ("7200s", 2, "7200s")],
)
def test_a_number_and_a_unit_are_a_duration_decimals_included(text, hours, stored):
    assert duration_ns(text) == round(hours * HOUR)
    config = parse_config(_doc(text))
    assert config.raw["walk_forward"]["train"] == stored
    assert Draft202012Validator(config_schema()).is_valid(_doc(text))


@pytest.mark.parametrize("text", ["90 days", "1.5", "d", "0d", "0.0h", "-1d", "1e3d", "2.d", "1,5d", "1d2h"])
def test_anything_else_is_one_error_naming_the_field_and_listing_the_units(text):
    with pytest.raises(ConfigError) as caught:
        parse_config(_doc(text))
    (detail,) = caught.value.details
    assert detail.startswith(f"walk_forward.train: {text!r} is no duration"), detail
    for unit in ("s (seconds)", "m (minutes)", "h (hours)", "d (days)", "w (weeks)", '"1.5d"'):
        assert unit in detail, detail
    assert not Draft202012Validator(config_schema()).is_valid(_doc(text))


def test_a_decimal_duration_holds_the_bars_opening_within_it():
    market = market_of(GOOG)  # daily bars opening at the same time of day
    time = market.candles.time
    section = parse_config(_doc("400.5d", "45.5d")).settings.walk_forward
    windows = fold_windows(section, time, market.bar_ns)
    for w in windows:
        for start, stop, days in ((w.test_start, w.test_stop, 45.5), (w.train_start, w.train_stop, 400.5)):
            end = int(time[stop - 1]) + market.bar_ns
            assert int(time[start]) >= end - days * 24 * HOUR
            assert start == 0 or int(time[start - 1]) < end - days * 24 * HOUR


def test_the_form_help_and_the_schema_describe_the_grammar():
    train = config_schema()["$defs"]["WalkForward"]["properties"]["train"]
    text = train.get("description", "")
    assert "<number><unit>" in text and "decimals allowed" in text and "w (weeks)" in text, text
