"""The ``walk_forward`` section of a run configuration (docs/OPTIMIZER.md, "Walk-forward").

Declared here, beside `optimizer.config_model` (which holds it as
``RunSettings.walk_forward``), so that the model of a configuration stays one
readable module. What can be checked without the data is checked here (a fraction
of the data that the folds cannot fit in, fewer than 2 bars); where the windows
fall on the bars is `optimizer.walk_forward.windows`'s.

A window length (``train``, ``test``) is one of:

* an int: a number of bars (at least 2);
* a duration string ``<number><unit>``: a positive number (decimals allowed:
  ``"90d"``, ``"1.5d"``) and one of the `DURATION_UNITS` (``s``, ``m``, ``h``,
  ``d``, ``w``); spaces around the number or the unit are ignored (``"60 d"`` is
  ``"60d"``, the form stored). The bars opening within that much time;
* a float in (0, 1): that fraction of the data's bars.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, WithJsonSchema, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from optimizer.config_fields import Section, describe, setting
from optimizer.stats import SCALAR_FIELDS

MODES = ("rolling", "anchored")
MIN_WINDOW_BARS = 2
MAX_FOLDS = 1000
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
"""The units of a duration string and their length in seconds."""
DURATION = r"^\s*(?=[0-9.]*[1-9])([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([smhdw])\s*$"
_DURATION = re.compile(DURATION)
_UNITS_TEXT = "s (seconds), m (minutes), h (hours), d (days) or w (weeks)"
DURATION_HELP = f"<number><unit>, decimals allowed, the unit one of {_UNITS_TEXT}: \"90d\", \"1.5d\", \"36h\""
"""The duration grammar in words (the form's help text and the schema's description)."""


def duration_ns(text: str) -> int:
    """A duration string (`DURATION`: ``"90d"``, ``"1.5d"``) in nanoseconds,
    rounded to the nearest nanosecond; ValueError for anything else or for zero."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is no duration: a positive number and a unit, {_UNITS_TEXT} (\"90d\", \"1.5d\")")
    seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    return round(seconds * 1e9)


def _window(value: Any) -> int | float | str:
    """A window length as written: an int bar count, a fraction in (0, 1) or a duration."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PydanticCustomError("window", "must be a bar count, a duration such as \"90d\" or a fraction in "
                                  "(0, 1), not {kind}", {"kind": describe(value)})  # fmt: skip
    if isinstance(value, int):
        if value < MIN_WINDOW_BARS:
            raise PydanticCustomError("window_bars", "{value} bar; a window needs at least {least}",
                                      {"value": value, "least": MIN_WINDOW_BARS})  # fmt: skip
        return value
    if isinstance(value, float):
        if not 0.0 < value < 1.0:
            raise PydanticCustomError("window_fraction", "{value} is no fraction in (0, 1) (a bar count is an "
                                      "integer)", {"value": value})  # fmt: skip
        return value
    try:
        duration_ns(value)
    except ValueError:
        raise PydanticCustomError("window_duration", "{value} is no duration: a positive number (decimals allowed) "
                                  "and a unit, {units}, as in \"90d\" or \"1.5d\"",
                                  {"value": repr(value), "units": _UNITS_TEXT}) from None  # fmt: skip
    return "".join(value.split())


_WINDOW_SCHEMA = {"oneOf": [
    {"type": "integer", "minimum": MIN_WINDOW_BARS},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "not": {"type": "integer"}},
    {"type": "string", "pattern": DURATION},
]}  # fmt: skip
Window = Annotated[Any, BeforeValidator(_window), WithJsonSchema(_WINDOW_SCHEMA)]


class Criteria(Section):
    """The thresholds of the walk-forward's pass/fail summary (each one must hold)."""

    min_return_pct: setting() = Field(0.0, description="the stitched out-of-sample return must be above this, "
                                      "in percent (0: profitable overall)")  # fmt: skip
    min_efficiency: setting() = Field(0.5, description="the walk-forward efficiency (annualized out-of-sample / "
                                      "in-sample return) must be at least this")  # fmt: skip
    min_profitable_folds_pct: setting(low=0.0, high=100.0) = Field(
        50.0, description="at least this percentage of the folds must be profitable out of sample"
    )
    max_fold_profit_share: setting(low=0.0, low_open=True) = Field(
        0.5, description="no fold may bring more than this share (0.5 = half) of the total profit"
    )
    max_drawdown_pct: setting(low=0.0, low_open=True) = Field(
        40.0, description="the stitched out-of-sample maximum drawdown must be under this, in percent"
    )


class WalkForward(Section):
    """Walk-forward optimization: the search re-run fold by fold on a training window,
    the selected member judged on the test window that follows it. The test windows
    are consecutive and end at the data's last bar; bars before the first training
    window only warm the indicators up."""

    folds: setting(integer=True, low=1, high=MAX_FOLDS) = Field(5, description="K, the number of folds (1: a "
                                                                "plain train/test split)")  # fmt: skip
    mode: Literal[MODES] = Field("rolling", description="rolling: each training window is the `train` bars "
                                 "before its test window; anchored: every training window starts where the "
                                 "first one does and grows fold by fold")  # fmt: skip
    train: Window = Field(description="the (first) training window: a bar count (an integer, at least 2), a "
                          f"fraction of the data's bars in (0, 1), or a duration {DURATION_HELP}")  # fmt: skip
    test: Window = Field(description="each fold's test window: a bar count (an integer, at least 2), a fraction "
                         f"of the data's bars in (0, 1), or a duration {DURATION_HELP}")  # fmt: skip
    select: Literal[SCALAR_FIELDS] | None = Field(None, description="the statistic that picks the member carried "
                                                  "forward from each fold's elite; null: the first objective")  # fmt: skip
    select_goal: Literal["max", "min"] | None = Field(None, description="max or min for `select`; null: the "
                                                      "objective's goal, or max")  # fmt: skip
    criteria: Criteria = Field(default_factory=Criteria, description="the pass/fail summary's thresholds")

    @field_validator("test")
    @classmethod
    def _folds_fit(cls, test: Any, info: Any) -> Any:
        folds = info.data.get("folds")
        if isinstance(test, float) and folds is not None and test * folds >= 1.0:
            raise PydanticCustomError("windows_too_long", "{folds} folds of {test} of the bars need more than all "
                                      "of them", {"folds": folds, "test": test})  # fmt: skip
        return test

    @model_validator(mode="after")
    def _train_fits(self) -> WalkForward:
        if isinstance(self.train, float) and isinstance(self.test, float):
            total = self.train + self.folds * self.test
            if total > 1.0 and self.folds * self.test < 1.0:
                error = PydanticCustomError("windows_too_long", "{train} + {folds} folds of test {test} = {total} "
                                            "of the bars; at most 1", {"train": self.train, "folds": self.folds,
                                            "test": self.test, "total": f"{total:.4g}"})  # fmt: skip
                details = InitErrorDetails(type=error, loc=("train",), input=self.train)
                raise ValidationError.from_exception_data("walk_forward", [details])
        return self
