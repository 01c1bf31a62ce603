"""A run set up to go: the one place the command line and the dashboard's run
process build an optimization from a configuration and a data file.

`prepare_run` loads the candles, checks that the configuration can run on them
(timeframes, warm-up) and that none of its signals looks ahead
(`optimizer.lookahead`), places the train/test split, picks and starts the
executor, and builds the `Optimizer` (from the checkpoint when resuming).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from optimizer.config import RunConfig
from optimizer.data import MarketData, load_candles
from optimizer.engine import check_compatible
from optimizer.errors import ConfigError
from optimizer.evaluation import Executor, RunSpec, make_executor
from optimizer.ga import Optimizer
from optimizer.lookahead import CheckReport, check_lookahead
from optimizer.objectives import undefined_objectives
from optimizer.periods import trading_days_for
from optimizer.split import holdout_start

log = logging.getLogger(__name__)


@dataclass
class PreparedRun:
    """An optimizer and the executor it evaluates on; close it (or use ``with``)
    to shut the executor's workers down."""

    config: RunConfig
    optimizer: Optimizer
    executor: Executor
    checkpoint_dir: Path

    def close(self) -> None:
        """Shut the executor down (its worker processes, or the Dask client)."""
        self.executor.close()

    def __enter__(self) -> PreparedRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def executor_kind(config: RunConfig, requested: str | None = None) -> str:
    """``requested`` if given (``sequential``, ``process``, ``dask://HOST:PORT``),
    else ``sequential`` for ``workers: 1`` or a single backtest (no ranges: one
    evaluation per period, no pool worth starting) and ``process`` otherwise."""
    if requested:
        return requested
    return "sequential" if config.workers == 1 or not config.genes else "process"


def load_checked(config: RunConfig, data_path: str | Path) -> tuple[MarketData, CheckReport]:
    """The candles of ``data_path`` (read with ``data.timestamps``) once they are
    fit for ``config``: its timeframes and exits work on them (`check_compatible`)
    and no signal it uses looks ahead (`check_lookahead`, whose report is returned).
    What every run, backtest and ``check`` starts with; `InputError` otherwise."""
    market = MarketData(load_candles(data_path, timestamps=config.data.timestamps))
    check_compatible(config, market)
    return market, check_lookahead(config, market)


def prepare_run(
    config: RunConfig,
    data_path: str | Path,
    *,
    checkpoint_dir: str | Path,
    resume: bool = False,
    executor: str | None = None,
) -> PreparedRun:
    """The run of ``config`` on the candles in ``data_path`` (CSV or Parquet), ready
    to iterate with ``prepared.optimizer.generations(...)``.

    ``checkpoint_dir`` receives a checkpoint after every generation; with ``resume``
    the optimizer goes on from the one there. ``executor`` overrides the kind chosen
    from ``config.workers`` (see `executor_kind`). Bad input raises
    `InputError` (`ConfigError`, `DataError`, `LookaheadError`); a pool whose workers cannot start,
    `WorkerStartError`. Nothing is left running when it raises.
    """
    market, report = load_checked(config, data_path)
    log.debug("%s", report.summary())
    split = holdout_start(config, market)
    training = market.candles.time[:split]
    days = trading_days_for(config.execution.trading_days, market.candles.time)
    problems = undefined_objectives(config.objectives, training, market.bar_ns, days)
    if problems:
        raise ConfigError(problems)
    kind = executor_kind(config, executor)
    pool = make_executor(kind, RunSpec(config.raw, split), market.candles, config.workers)
    folder = Path(checkpoint_dir)
    try:
        optimizer = Optimizer(config, market, pool, split=split, checkpoint_dir=folder, resume=resume)
    except BaseException:
        pool.close()
        raise
    return PreparedRun(config, optimizer, pool, folder)
