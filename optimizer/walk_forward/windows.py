"""Where the folds of a walk-forward fall on the bars (docs/OPTIMIZER.md, "Walk-forward").

The test windows are laid from the end of the data: the last fold's test window
ends at the last bar, each earlier one ends where the next begins, so together
they are one contiguous out-of-sample stretch. A fold's training window ends
where its test window starts (they never overlap, the test always comes after):

* ``rolling``: the training window is the ``train`` length before its test window;
* ``anchored``: every training window starts where the first fold's does (the
  ``train`` length before the first test window) and grows by one test window a fold.

Bars before a training window warm its indicators up and are never traded. A
length is a bar count, a fraction of all bars (rounded) or a duration (the bars
opening within that span before the window's end: the end is the close of its
last bar). Windows that do not fit, or hold fewer than 2 bars, raise
`ConfigError` naming ``walk_forward.train`` or ``walk_forward.test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.config_walk_forward import MIN_WINDOW_BARS, WalkForward, duration_ns
from optimizer.errors import ConfigError
from optimizer.stats import iso_times


@dataclass(frozen=True)
class FoldWindow:
    """One fold's bars: training ``train_start:test_start``, test ``test_start:test_stop``
    (indices of the data's bars, stops exclusive); ``fold`` counts from 1."""

    fold: int
    train_start: int
    test_start: int
    test_stop: int

    @property
    def train_stop(self) -> int:
        """The end (exclusive) of the training window: the first test bar."""
        return self.test_start

    def times(self, time: np.ndarray) -> dict[str, str]:
        """The ISO 8601 UTC open times of the first and last bar of each window
        (``train_start``, ``train_end``, ``test_start``, ``test_end``)."""
        first_train, last_train, first_test, last_test = iso_times(
            time[[self.train_start, self.test_start - 1, self.test_start, self.test_stop - 1]]
        )
        return {"train_start": first_train, "train_end": last_train, "test_start": first_test, "test_end": last_test}

    def to_dict(self, time: np.ndarray) -> dict[str, Any]:
        """The fold's number, bar indices and times, for JSON."""
        return {"fold": self.fold, **self.times(time), "train_bars": self.test_start - self.train_start,
                "test_bars": self.test_stop - self.test_start, "bars": [self.train_start, self.test_start,
                                                                         self.test_stop]}  # fmt: skip


def fold_windows(section: WalkForward, time: np.ndarray, bar_ns: int) -> list[FoldWindow]:
    """The folds of ``section`` on bars opening at ``time`` (int64 ns, sorted) of
    ``bar_ns`` each, in time order; `ConfigError` when they do not fit."""
    n = len(time)
    ends = [n]
    for _ in range(section.folds):
        start = _back(section.test, ends[-1], time, bar_ns)
        if start is None:
            need = _need(section.test, section.folds, n)
            raise ConfigError(f"walk_forward.test: {section.folds} test windows of {section.test!r} {need} the "
                              f"{n} bars of the data")  # fmt: skip
        ends.append(start)
    bounds = ends[::-1]  # test windows: bounds[k]:bounds[k + 1]
    for k in range(section.folds):
        bars = bounds[k + 1] - bounds[k]
        if bars < MIN_WINDOW_BARS:
            raise ConfigError(f"walk_forward.test: fold {k + 1}'s test window holds {bars} bar(s); each needs "
                              f"at least {MIN_WINDOW_BARS}")  # fmt: skip
    first = _back(section.train, bounds[0], time, bar_ns)
    if first is None:
        raise ConfigError(f"walk_forward.train: a training window of {section.train!r} before the first test "
                          f"window (bar {bounds[0]}) would start before the data's first bar")  # fmt: skip
    folds = []
    for k in range(section.folds):
        train_start = first if section.mode == "anchored" or k == 0 else _back(section.train, bounds[k], time, bar_ns)
        assert train_start is not None  # a later window has more bars before it than the first
        bars = bounds[k] - train_start
        if bars < MIN_WINDOW_BARS:
            raise ConfigError(f"walk_forward.train: fold {k + 1}'s training window holds {bars} bar(s); each "
                              f"needs at least {MIN_WINDOW_BARS}")  # fmt: skip
        folds.append(FoldWindow(k + 1, train_start, bounds[k], bounds[k + 1]))
    return folds


def _back(length: int | float | str, end: int, time: np.ndarray, bar_ns: int) -> int | None:
    """The first bar of a window of ``length`` that ends (exclusive) at bar ``end``;
    None when it would start before the first bar."""
    n = len(time)
    if isinstance(length, str):
        if end == 0:
            return None
        close = int(time[end - 1]) + bar_ns  # the window's end: its last bar's close
        opening = close - duration_ns(length)
        if opening < int(time[0]):
            return None
        return int(np.searchsorted(time, opening, side="left"))
    bars = round(n * length) if isinstance(length, float) else length
    return end - bars if end - bars >= 0 else None


def _need(length: int | float | str, folds: int, n: int) -> str:
    if isinstance(length, str):
        return "span more time than"
    bars = round(n * length) if isinstance(length, float) else length
    return f"need {folds * bars} bars; more than"
