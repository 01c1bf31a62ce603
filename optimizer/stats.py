"""Per-individual statistics, computed once in the worker from one simulation.

`IndividualStats` is the product's "pre-computed statistics, no recalculation":
everything a table or chart shows about an individual, compact (numpy arrays,
no Python objects per trade) and cheap to pickle. `to_dict` gives the JSON of
DESIGN.md's statistics contract; `optimizer.stats_codec` declares each field's
group and dtype and packs, pickles and records them. Undefined values are None (JSON null), never
a sentinel.

Units: ``*_pct`` fields are percent (2.5 = 2.5 %); ratios (Sharpe, Sortino,
Calmar, profit factor) are plain numbers; ``sharpe`` and ``sortino`` are
annualized from the equity's daily returns (`optimizer.periods`),
``sharpe_per_bar`` is not annualized; equity is relative to the starting equity
(1.0 = start). Annualized figures need a long enough window (`MIN_CAGR_DAYS`,
`MIN_RETURN_PERIODS`): shorter, they are None, and ``span_days`` and
``return_periods`` say why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizer.backtest import REASONS, BacktestResult
from optimizer.periods import EVERY_DAY, NS_PER_DAY, YEAR_DAYS, period_returns, periods_per_year
from optimizer.returns_summary import summary as returns_summary
from optimizer.stats_codec import SCALAR_FIELDS, PackedStats, check_fields
from optimizer.stats_kernels import (
    annualized_ratio,
    downsample_indices,
    equity_summary,
    histogram,
    trade_summary,
)

EQUITY_POINTS = 500
MIN_CAGR_DAYS = 365.0  # CAGR and Calmar need a window of a year (GIPS: no annualized return under a year)
MIN_RETURN_PERIODS = 30  # Sharpe and Sortino need 30 period (daily) returns
_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_F = np.zeros(0, np.float64)
_EMPTY_I1 = np.zeros(0, np.int8)


@dataclass(eq=False)
class IndividualStats(PackedStats):
    """Statistics of one individual (one parameter set) on one dataset.

    Trade arrays are parallel: times in int64 ns UTC, prices in the data's
    currency, ``trade_pnl_pct`` in percent, ``trade_reason`` indexing
    `optimizer.backtest.REASONS`. ``pnl_history`` is the cumulative P&L after
    each closed trade, in percent of the starting equity.
    """

    params: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    fitness: list[float | None] = field(default_factory=list)
    failed: bool = False
    error: str | None = None
    bars: int = 0
    total_trades: int = 0
    winning_trades: int = 0
    losing_trades: int = 0
    win_rate_pct: float | None = None
    total_return_pct: float | None = None
    market_return_pct: float | None = None
    avg_win_pct: float | None = None
    avg_loss_pct: float | None = None
    best_trade_pct: float | None = None
    worst_trade_pct: float | None = None
    profit_factor: float | None = None
    expectancy_pct: float | None = None
    max_drawdown_pct: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    calmar: float | None = None
    cagr_pct: float | None = None
    exposure_pct: float | None = None
    avg_bars_held: float | None = None
    sharpe_per_bar: float | None = None
    gross_profit_pct: float | None = None
    gross_loss_pct: float | None = None
    span_days: float | None = None
    periods_per_year: float | None = None
    return_periods: int | None = None
    returns_mean: float | None = None
    returns_variance: float | None = None
    returns_skewness: float | None = None
    returns_kurtosis: float | None = None
    trade_entry_time: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    trade_exit_time: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    trade_side: np.ndarray = field(default_factory=lambda: _EMPTY_I1)
    trade_entry_price: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    trade_exit_price: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    trade_pnl_pct: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    trade_reason: np.ndarray = field(default_factory=lambda: _EMPTY_I1)
    trade_bars_held: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    pnl_history: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    equity_time: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    equity_value: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    win_edges: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    win_counts: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    loss_edges: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    loss_counts: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    block_sums: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    block_squares: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    block_counts: np.ndarray = field(default_factory=lambda: _EMPTY_I)

    @classmethod
    def failure(cls, params: dict[str, Any], error: str) -> IndividualStats:
        """The statistics of an individual whose evaluation raised ``error``."""
        return cls(params=dict(params), failed=True, error=error)

    def metric(self, name: str) -> float | None:
        """A scalar statistic by its JSON name (None when undefined)."""
        if name not in SCALAR_FIELDS:
            raise KeyError(name)
        value = getattr(self, name)
        return None if value is None else float(value)

    def to_dict(self, *, series: bool = True) -> dict[str, Any]:
        """The JSON object of DESIGN.md's statistics contract (plain Python types);
        without ``series``, its trades, P&L history and equity are empty."""
        out: dict[str, Any] = {
            "id": self.id,
            "params": {k: _plain(v) for k, v in self.params.items()},
            "fitness": [_plain(v) for v in self.fitness],
            "failed": self.failed,
            "error": self.error,
            "bars": self.bars,
        }
        for name in SCALAR_FIELDS:
            out[name] = _plain(getattr(self, name))
        source = self if series else _NO_SERIES
        entry_times = iso_times(source.trade_entry_time)
        exit_times = iso_times(source.trade_exit_time)
        out["trades"] = [
            {
                "entry_time": entry_times[k],
                "exit_time": exit_times[k],
                "side": "long" if source.trade_side[k] > 0 else "short",
                "entry_price": float(source.trade_entry_price[k]),
                "exit_price": float(source.trade_exit_price[k]),
                "pnl_pct": float(source.trade_pnl_pct[k]),
                "reason": REASONS[int(source.trade_reason[k])],
                "bars_held": int(source.trade_bars_held[k]),
            }
            for k in range(len(source.trade_side))
        ]
        out["pnl_history"] = [float(v) for v in source.pnl_history]
        out["equity"] = {"time": iso_times(source.equity_time), "value": [float(v) for v in source.equity_value]}
        out["winning_trades_distribution"] = _histogram_dict(self.win_edges, self.win_counts)
        out["losing_trades_distribution"] = _histogram_dict(self.loss_edges, self.loss_counts)
        return out


check_fields(IndividualStats)
_NO_SERIES = IndividualStats()


def compute_stats(
    result: BacktestResult,
    time: np.ndarray,
    *,
    bar_ns: int,
    market_return_pct: float,
    params: dict[str, Any] | None = None,
    trading_days: int = EVERY_DAY,
    blocks: int = 0,
) -> IndividualStats:
    """All statistics of one simulation on bars with open times ``time`` (int64 ns).

    ``market_return_pct`` is buy and hold's return over the same bars, after costs
    (`buy_and_hold_pct`), from the caller. ``trading_days`` (365 or 252, from
    `optimizer.periods.trading_days_of` or the configuration) annualizes the daily
    Sharpe and Sortino. ``blocks``: S, the contiguous blocks of the window whose
    per-bar return sums are kept for PBO (`optimizer.returns_summary`; 0: none).
    """
    n = len(result.equity)
    moments, (sums, squares, counts) = returns_summary(result.equity, blocks)
    pct = result.pnl_pct * 100.0
    bars_held = result.bars_held
    trades = len(pct)
    n_win, n_loss, sum_win, sum_loss, best, worst, total = trade_summary(pct)
    max_dd, mean_r, std_r = equity_summary(result.equity, result.worst_equity)
    span_days = (int(time[-1]) + bar_ns - int(time[0])) / NS_PER_DAY if n else 0.0
    per_year = periods_per_year(bar_ns, trading_days)
    periods, mean_p, std_p, downside_p = period_returns(result.equity, time, bar_ns, trading_days == EVERY_DAY)
    enough = periods >= MIN_RETURN_PERIODS
    final = float(result.equity[-1]) if n else 1.0
    cagr = None
    if span_days >= MIN_CAGR_DAYS:
        cagr = -100.0 if final <= 0 else (final ** (YEAR_DAYS / span_days) - 1.0) * 100.0
    edges_w, counts_w = histogram(pct[pct > 0])
    edges_l, counts_l = histogram(pct[pct < 0])
    idx = downsample_indices(result.equity, EQUITY_POINTS)
    return IndividualStats(
        params=dict(params or {}),
        bars=n,
        total_trades=trades,
        winning_trades=n_win,
        losing_trades=n_loss,
        win_rate_pct=n_win / trades * 100.0 if trades else None,
        total_return_pct=(final - 1.0) * 100.0,
        market_return_pct=market_return_pct,
        avg_win_pct=sum_win / n_win if n_win else None,
        avg_loss_pct=sum_loss / n_loss if n_loss else None,
        best_trade_pct=best if trades else None,
        worst_trade_pct=worst if trades else None,
        profit_factor=sum_win / -sum_loss if n_loss else None,
        expectancy_pct=total / trades if trades else None,
        max_drawdown_pct=max_dd * 100.0,
        sharpe=annualized_ratio(mean_p, std_p, per_year) if enough else None,
        sortino=annualized_ratio(mean_p, downside_p, per_year) if enough else None,
        calmar=(cagr / 100.0) / max_dd if cagr is not None and max_dd > 0 else None,
        cagr_pct=cagr,
        exposure_pct=float(bars_held.sum()) / n * 100.0 if n else None,
        avg_bars_held=float(bars_held.sum()) / trades if trades else None,
        sharpe_per_bar=annualized_ratio(mean_r, std_r, 1.0),
        gross_profit_pct=sum_win if trades else None,
        gross_loss_pct=-sum_loss if trades else None,
        span_days=span_days,
        periods_per_year=per_year,
        return_periods=periods,
        returns_mean=moments["mean"],
        returns_variance=moments["variance"],
        returns_skewness=moments["skewness"],
        returns_kurtosis=moments["kurtosis"],
        trade_entry_time=time[result.entry_index],
        trade_exit_time=time[result.exit_index],
        trade_side=result.side,
        trade_entry_price=result.entry_price,
        trade_exit_price=result.exit_price,
        trade_pnl_pct=pct,
        trade_reason=result.reason,
        trade_bars_held=bars_held,
        pnl_history=np.cumsum(result.pnl) * 100.0,
        equity_time=time[idx],
        equity_value=result.equity[idx],
        win_edges=edges_w,
        win_counts=counts_w,
        loss_edges=edges_l,
        loss_counts=counts_l,
        block_sums=sums,
        block_squares=squares,
        block_counts=counts,
    )


def buy_and_hold_pct(first_close: float, last_close: float, commission: float = 0.0, slippage: float = 0.0) -> float:
    """Buy and hold's return in percent, with the strategy's costs: all equity
    bought at the first bar's close and sold at the last bar's close, one entry
    and one exit, each fill moved by ``slippage`` and charged ``commission``
    (fractions) as a trade's are (`optimizer.backtest`)."""
    entry = first_close * (1.0 + slippage)
    exit_ = last_close * (1.0 - slippage)
    return ((1.0 - commission) ** 2 * exit_ / entry - 1.0) * 100.0


def iso_times(ns: np.ndarray) -> list[str]:
    """int64 ns UTC as ISO 8601 strings ending in Z (seconds, or finer when needed)."""
    if len(ns) == 0:
        return []
    ns = np.asarray(ns, dtype=np.int64)
    unit = "s"
    if np.any(ns % 1_000_000_000):
        unit = "ms" if not np.any(ns % 1_000_000) else "ns"
    return [str(s) for s in np.datetime_as_string(ns.astype("datetime64[ns]"), unit=unit, timezone="UTC")]


def _histogram_dict(edges: np.ndarray, counts: np.ndarray) -> dict[str, list]:
    return {"edges": [float(v) for v in edges], "counts": [int(v) for v in counts]}


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value
