"""A walk-forward set up to go, as `optimizer.prepare.prepare_run` sets up a run:
the candles loaded and checked (timeframes, warm-up, no look-ahead), the folds
placed on them, one executor for all folds started."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace, TracebackType

from optimizer.config import RunConfig
from optimizer.data import MarketData
from optimizer.errors import ConfigError
from optimizer.evaluation import Executor, RunSpec, make_executor
from optimizer.objectives import undefined_objectives
from optimizer.periods import trading_days_for
from optimizer.prepare import executor_kind, load_checked
from optimizer.walk_forward.loop import WalkForward
from optimizer.walk_forward.windows import FoldWindow, fold_windows

log = logging.getLogger(__name__)


@dataclass
class PreparedWalkForward:
    """A walk-forward and the executor its folds evaluate on; close it (or use
    ``with``) to shut the executor's workers down."""

    config: RunConfig
    walk_forward: WalkForward
    executor: Executor
    checkpoint_dir: Path

    def close(self) -> None:
        """Shut the executor down."""
        self.executor.close()

    def __enter__(self) -> PreparedWalkForward:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def fold_spec(config: RunConfig, windows: list[FoldWindow]) -> RunSpec:
    """What the workers of a walk-forward need: the configuration and each fold's bars."""
    return RunSpec(config.raw, None, folds=tuple((w.train_start, w.test_start, w.test_stop) for w in windows))


def windows_of(config: RunConfig, market: MarketData) -> list[FoldWindow]:
    """The folds of ``config``'s walk-forward on ``market``, once each fold's training
    window can have its objectives and its ``walk_forward.select`` metric
    (`undefined_objectives`); `ConfigError` otherwise."""
    section = config.settings.walk_forward
    if section is None:
        raise ConfigError("walk_forward: the configuration has none")
    windows = fold_windows(section, market.candles.time, market.bar_ns)
    days = trading_days_for(config.execution.trading_days, market.candles.time)
    shortest = min(windows, key=lambda w: w.test_start - w.train_start)
    train_time = market.candles.time[shortest.train_start:shortest.test_start]  # fmt: skip
    problems = undefined_objectives(config.objectives, train_time, market.bar_ns, days)
    if section.select is not None:  # the member carried forward is picked on it: undefined, every fold is flat
        selected = undefined_objectives([SimpleNamespace(metric=section.select)], train_time, market.bar_ns, days)  # type: ignore[list-item]
        problems += [line.replace("objectives.0.metric", "walk_forward.select", 1)
                     .replace("every individual would be undefined", "no fold could select a member", 1)
                     for line in selected]  # fmt: skip
    if problems:
        raise ConfigError([f"{line} (fold {shortest.fold}'s training window)" for line in problems])
    return windows


def prepare_walk_forward(
    config: RunConfig,
    data_path: str | Path,
    *,
    checkpoint_dir: str | Path,
    resume: bool = False,
    executor: str | None = None,
) -> PreparedWalkForward:
    """The walk-forward of ``config`` on the candles in ``data_path``, ready to
    iterate with ``prepared.walk_forward.run(...)``. Arguments and errors as
    `optimizer.prepare.prepare_run`'s; nothing is left running when it raises."""
    market, report = load_checked(config, data_path)
    log.debug("%s", report.summary())
    windows = windows_of(config, market)
    pool = make_executor(executor_kind(config, executor), fold_spec(config, windows), market.candles, config.workers)
    folder = Path(checkpoint_dir)
    try:
        walk = WalkForward(config, market, pool, windows, checkpoint_dir=folder, resume=resume)
    except BaseException:
        pool.close()
        raise
    return PreparedWalkForward(config, walk, pool, folder)
