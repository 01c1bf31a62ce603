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
from numba import njit

from optimizer.backtest import REASONS, BacktestResult
from optimizer.periods import EVERY_DAY, NS_PER_DAY, YEAR_DAYS, period_returns, periods_per_year
from optimizer.returns_summary import summary as returns_summary
from optimizer.stats_codec import SCALAR_FIELDS, PackedStats, check_fields

EQUITY_POINTS = 500
MIN_CAGR_DAYS = 365.0  # CAGR and Calmar need a window of a year (GIPS: no annualized return under a year)
MIN_RETURN_PERIODS = 30  # Sharpe and Sortino need 30 period (daily) returns
MAX_BINS = 20
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
    n_win, n_loss, sum_win, sum_loss, best, worst, total = _trade_summary(pct)
    max_dd, mean_r, std_r = _equity_summary(result.equity, result.worst_equity)
    span_days = (int(time[-1]) + bar_ns - int(time[0])) / NS_PER_DAY if n else 0.0
    per_year = periods_per_year(bar_ns, trading_days)
    periods, mean_p, std_p, downside_p = period_returns(result.equity, time, bar_ns, trading_days == EVERY_DAY)
    enough = periods >= MIN_RETURN_PERIODS
    final = float(result.equity[-1]) if n else 1.0
    cagr = None
    if span_days >= MIN_CAGR_DAYS:
        cagr = -100.0 if final <= 0 else (final ** (YEAR_DAYS / span_days) - 1.0) * 100.0
    edges_w, counts_w = _histogram(pct[pct > 0])
    edges_l, counts_l = _histogram(pct[pct < 0])
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
        sharpe=_ratio(mean_p, std_p, per_year) if enough else None,
        sortino=_ratio(mean_p, downside_p, per_year) if enough else None,
        calmar=(cagr / 100.0) / max_dd if cagr is not None and max_dd > 0 else None,
        cagr_pct=cagr,
        exposure_pct=float(bars_held.sum()) / n * 100.0 if n else None,
        avg_bars_held=float(bars_held.sum()) / trades if trades else None,
        sharpe_per_bar=_ratio(mean_r, std_r, 1.0),
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


@njit(cache=True)
def _equity_summary(equity, worst):  # pragma: no cover - compiled
    """Max drawdown (fraction) and the mean and standard deviation (ddof 1) of
    per-bar returns (the first from the start, 1.0).

    The drawdown of bar i is its ``worst`` equity (open positions marked to the
    bar's worst price) below the peak of the closes before it (and the start)."""
    n = len(equity)
    peak = 1.0
    max_dd = 0.0
    previous = 1.0
    total = 0.0
    total_sq = 0.0
    for i in range(n):
        dd = 1.0 - worst[i] / peak
        if dd > max_dd:
            max_dd = dd
        value = equity[i]
        if value > peak:
            peak = value
        r = value / previous - 1.0 if previous > 0 else 0.0
        total += r
        total_sq += r * r
        previous = value
    if n < 2:
        return max_dd, np.nan, np.nan
    mean = total / n
    var = (total_sq - n * mean * mean) / (n - 1)
    return max_dd, mean, np.sqrt(max(var, 0.0))


def _ratio(mean: float, deviation: float, per_year: float) -> float | None:
    if not (math.isfinite(mean) and math.isfinite(deviation) and math.isfinite(per_year)) or deviation <= 1e-15:
        return None
    return mean / deviation * math.sqrt(per_year)


def _histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bins over [min, max] of ``values``: edges (one more than counts) and counts.

    ceil(sqrt(n)) bins, at most `MAX_BINS`; the edges are numpy's
    ``linspace(min, max, bins + 1)``, each bin holds [left, right) and the last
    also its right edge, as ``numpy.histogram`` counts them.
    """
    if len(values) == 0:
        return _EMPTY_F, _EMPTY_I
    bins = min(MAX_BINS, max(1, math.ceil(math.sqrt(len(values)))))
    return _histogram_counts(values, bins)


@njit(cache=True)
def _histogram_counts(values, bins):  # pragma: no cover - compiled
    low = values.min()
    high = values.max()
    if low == high:
        return np.array([low, high]), np.array([len(values)], np.int64)
    edges = np.empty(bins + 1)
    step = (high - low) / bins
    for k in range(bins):
        edges[k] = k * step + low
    edges[bins] = high
    counts = np.zeros(bins, np.int64)
    for v in values:
        j = np.searchsorted(edges, v, side="right") - 1
        counts[min(j, bins - 1)] += 1
    return edges, counts


@njit(cache=True)
def _trade_summary(pct):  # pragma: no cover - compiled
    """Counts and sums over trades' ``pct`` (percent of committed capital): (wins,
    losses, sum of winning %, sum of losing %, best %, worst %, sum of all %)."""
    n_win = 0
    n_loss = 0
    sum_win = 0.0
    sum_loss = 0.0
    best = -np.inf
    worst = np.inf
    total = 0.0
    for k in range(len(pct)):
        p = pct[k]
        total += p
        best = max(best, p)
        worst = min(worst, p)
        if p > 0:
            n_win += 1
            sum_win += p
        elif p < 0:
            n_loss += 1
            sum_loss += p
    return n_win, n_loss, sum_win, sum_loss, best, worst, total


@njit(cache=True)
def downsample_indices(values: np.ndarray, points: int) -> np.ndarray:  # pragma: no cover - compiled
    """Indices of at most about ``points`` samples that keep the shape of a curve:
    the first and last, and each bucket's minimum and maximum, in order."""
    n = len(values)
    if n <= points:
        return np.arange(n)
    buckets = max(1, (points - 2) // 2)
    out = np.empty(2 * buckets + 2, np.int64)
    k = 0
    out[k] = 0
    k += 1
    for b in range(buckets):
        start = 1 + (n - 2) * b // buckets
        stop = 1 + (n - 2) * (b + 1) // buckets
        if stop <= start:
            continue
        lo_i = start
        hi_i = start
        for i in range(start, stop):
            if values[i] < values[lo_i]:
                lo_i = i
            if values[i] > values[hi_i]:
                hi_i = i
        first, second = (lo_i, hi_i) if lo_i <= hi_i else (hi_i, lo_i)
        out[k] = first
        k += 1
        if second != first:
            out[k] = second
            k += 1
    out[k] = n - 1
    k += 1
    return out[:k]


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
