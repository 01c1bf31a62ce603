"""One configuration on one dataset: parameters in, full statistics out.

An `Engine` is what a worker holds: the market data, the indicator and signal
cache, and the market's trading days a year (inferred once, or configured).
`evaluate` runs signals -> simulation -> statistics for one parameter set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from optimizer.backtest import BacktestResult, rule_fires, simulate
from optimizer.cache import DEFAULT_CACHE_BYTES, ArrayCache
from optimizer.config import RunConfig
from optimizer.data.market import MarketData
from optimizer.data.timeframes import format_timeframe, parse_timeframe
from optimizer.errors import ConfigError
from optimizer.periods import trading_days_for
from optimizer.plan import EvaluationPlan, warm_up_pass
from optimizer.reference_eval import simulate_strategy
from optimizer.stats import IndividualStats, buy_and_hold_pct, compute_stats
from optimizer.strategy import Strategy, StrategyBuilder


class Engine:
    """Backtests parameter sets of ``config`` on ``market``.

    Trading, equity and statistics cover the window of bars ``start:stop`` (all by
    default). Indicators are computed on all of ``market``: history before
    ``start`` warms them up (a held-out test period), and since a value at bar i
    uses bars <= i only, bars after ``stop`` never reach a decision inside the
    window (a training period). Engines of one market may share an indicator
    ``cache``.
    """

    def __init__(
        self,
        config: RunConfig,
        market: MarketData,
        *,
        start: int = 0,
        stop: int | None = None,
        cache: ArrayCache | None = None,
    ) -> None:
        check_compatible(config, market)
        stop = len(market) if stop is None else stop
        if not 0 <= start <= stop - 2 or stop > len(market):
            raise ValueError(f"bars {start}:{stop} of {len(market)} hold fewer than 2 bars")
        self.config = config
        self.market = market
        self.start = start
        self.stop = stop
        self.cache = cache if cache is not None else ArrayCache(DEFAULT_CACHE_BYTES)
        close = market.candles.close
        self._first_last_close = float(close[start]), float(close[stop - 1])
        self.trading_days = trading_days_for(config.execution.trading_days, market.candles.time)
        self._builder = StrategyBuilder(config)
        self._objectives = config.objectives
        robustness = config.robustness
        self.blocks = robustness.blocks if robustness.enabled else 0  # the per-block sums PBO needs
        self._plan = EvaluationPlan(self)

    @property
    def strategy_builder(self) -> StrategyBuilder:
        """The configuration's strategy template (`StrategyBuilder`)."""
        return self._builder

    def strategy(self, params: Mapping[str, Any]) -> Strategy:
        """The concrete strategy for ``params`` (gene name -> value)."""
        return self._builder.build(params)

    def backtest(self, params: Mapping[str, Any]) -> BacktestResult:
        """Simulate the strategy of ``params``: trades and equity per bar."""
        return simulate_strategy(self, self.strategy(params))

    def market_return_pct(self, commission: float = 0.0, slippage: float = 0.0) -> float:
        """Buy and hold over the window's bars, in percent, at these costs (`buy_and_hold_pct`)."""
        return buy_and_hold_pct(*self._first_last_close, commission, slippage)

    def evaluate(self, params: Mapping[str, Any]) -> IndividualStats:
        """Full statistics of ``params``, with fitness in the configuration's objective order."""
        return self._plan.evaluate(params)


def check_compatible(config: RunConfig, market: MarketData) -> None:
    """Reject what this configuration cannot do on this data, naming the field:
    a signal timeframe below the bar size or not a multiple of it, or an
    end-of-day exit on bars of a day or more."""
    errors = []
    bar = market.bar_ns
    for name, spec in config.strategy.signals.items():
        if not spec.timeframe:
            continue
        tf = parse_timeframe(spec.timeframe)
        path = f"strategy.signals.{name}.timeframe"
        if tf < bar:
            errors.append(f"{path}: {spec.timeframe} is shorter than the data's bars ({format_timeframe(bar)})")
        elif tf % bar:
            errors.append(f"{path}: {spec.timeframe} is not a multiple of the data's bars ({format_timeframe(bar)})")
    if config.strategy.end_of_day and not market.is_intraday:
        errors.append(f"strategy.end_of_day: needs intraday data; the data's bars are {format_timeframe(bar)}")
    if errors:
        raise ConfigError(errors)


def warm_up_kernels() -> None:
    """Run the simulation, statistics and common indicator kernels once on 64
    synthetic bars, which loads their compiled code (numba's cache)."""
    from optimizer import indicators
    from optimizer.signals import cross_up

    close = 100.0 + np.sin(np.arange(64) / 4.0)
    fast, slow = indicators.sma(close, 3), indicators.sma(close, 9)
    up = rule_fires((cross_up(fast, slow),), np.ones(1), 1.0)
    down = rule_fires((cross_up(slow, fast),), np.ones(1), 1.0)
    never = np.zeros(64, np.bool_)
    result = simulate(close, close + 1, close - 1, close, never, up, down, never, never, stop_loss=0.01)
    time = np.arange(64, dtype=np.int64) * 3_600_000_000_000
    compute_stats(result, time, bar_ns=3_600_000_000_000, market_return_pct=0.0)
    warm_up_pass(close, cross_up(fast, slow), time)
