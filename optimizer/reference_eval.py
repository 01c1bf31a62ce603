"""The straightforward evaluation path, kept as the reference of the fast one.

This is `Engine.evaluate` as it was before the compiled plan (issue 18), moved
here unchanged: signals as whole arrays, each rule's fires as a boolean array
(`rule_fires`), the simulation kernel writing the equity of every bar
(`simulate`), then `compute_stats` walking that equity again for the drawdown,
the return moments, the daily returns and the downsampled curve.

`Engine.backtest` (trades and equity per bar) is built on it, and
`tests/test_engine_equality.py` holds the fast path to it: every statistic of
thousands of random parameter sets equal. Change the semantics here and in
`optimizer.one_pass` together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.backtest import BacktestResult, rule_fires, simulate
from optimizer.objectives import fitness_of
from optimizer.signals import compute_signal, uniform
from optimizer.stats import IndividualStats, compute_stats
from optimizer.strategy import Rule, Strategy

if TYPE_CHECKING:
    from optimizer.engine import Engine


def simulate_strategy(engine: Engine, strategy: Strategy) -> BacktestResult:
    """Trades and equity per bar of ``strategy`` on ``engine``'s window."""
    market = engine.market
    values = {
        spec.name: compute_signal(market, spec.kind, dict(spec.params), spec.tf_ns, spec.candles, engine.cache)
        for spec in strategy.signals
    }
    window = slice(engine.start, engine.stop)
    if engine.start or engine.stop < len(market):
        values = {name: array[window] for name, array in values.items()}
    c = market.candles.slice(engine.start, engine.stop)
    never = np.zeros(engine.stop - engine.start, np.bool_)
    return simulate(
        c.open, c.high, c.low, c.close, market.day_end[window],
        _fires(strategy.long_entry, values, never), _fires(strategy.long_exit, values, never),
        _fires(strategy.short_entry, values, never), _fires(strategy.short_exit, values, never),
        fill_close=strategy.fill == "close",
        commission=strategy.commission,
        slippage=strategy.slippage,
        position_fraction=strategy.position_fraction,
        stop_loss=strategy.stop_loss,
        take_profit=strategy.take_profit,
        trailing_stop=strategy.trailing_stop,
        trailing_activation=strategy.trailing_activation,
        max_bars=strategy.max_bars,
        end_of_day=strategy.end_of_day,
    )  # fmt: skip


def reference_evaluate(engine: Engine, params: Mapping[str, Any]) -> IndividualStats:
    """Full statistics of ``params`` on ``engine``'s window, the straightforward
    way, with fitness in the configuration's objective order."""
    strategy = engine.strategy(params)
    result = simulate_strategy(engine, strategy)
    stats = compute_stats(
        result,
        engine.market.candles.time[engine.start : engine.stop],
        bar_ns=engine.market.bar_ns,
        market_return_pct=engine.market_return_pct(strategy.commission, strategy.slippage),
        params=dict(params),
        trading_days=engine.trading_days,
        blocks=engine.blocks,
    )
    stats.fitness = fitness_of(stats, engine.config.objectives)
    return stats


def _fires(rule: Rule | None, values: dict[str, np.ndarray], never: np.ndarray) -> np.ndarray:
    if rule is None:
        return never
    signals = uniform(tuple(values[name] for name, _ in rule.weights))
    weights = np.array([weight for _, weight in rule.weights], dtype=np.float64)
    return rule_fires(signals, weights, float(rule.threshold))
