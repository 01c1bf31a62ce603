"""Per-individual statistics, computed once in the worker from one simulation.

`IndividualStats` is the product's "pre-computed statistics, no recalculation":
everything a table or chart shows about an individual, compact (numpy arrays,
no Python objects per trade) and cheap to pickle. `to_dict` gives the JSON of
DESIGN.md's statistics contract. Undefined values are None (JSON null), never
a sentinel.

Units: ``*_pct`` fields are percent (2.5 = 2.5 %); ratios (Sharpe, Sortino,
Calmar, profit factor) are plain numbers, Sharpe and Sortino annualized with the
number of bars per year observed in the data (bars over the time they span);
equity is relative to the starting equity (1.0 = start).
"""

from __future__ import annotations

import base64
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numba import njit

from optimizer.backtest import REASONS, BacktestResult

EQUITY_POINTS = 500
MAX_BINS = 20
SCALAR_FIELDS = (
    "total_trades", "winning_trades", "losing_trades", "win_rate_pct", "total_return_pct",
    "market_return_pct", "avg_win_pct", "avg_loss_pct", "best_trade_pct", "worst_trade_pct",
    "profit_factor", "expectancy_pct", "max_drawdown_pct", "sharpe", "sortino", "calmar",
    "cagr_pct", "exposure_pct", "avg_bars_held",
)  # fmt: skip
_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_F = np.zeros(0, np.float64)


@dataclass(eq=False)
class IndividualStats:
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
    trade_entry_time: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    trade_exit_time: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    trade_side: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    trade_entry_price: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    trade_exit_price: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    trade_pnl_pct: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    trade_reason: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    trade_bars_held: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    pnl_history: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    equity_time: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    equity_value: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    win_edges: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    win_counts: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    loss_edges: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    loss_counts: np.ndarray = field(default_factory=lambda: _EMPTY_I)

    def __getstate__(self) -> tuple:
        """Compact pickling: the scalars as a tuple in field order, the arrays as one
        bytes object and their lengths (workers send thousands of these per
        second; a dict and one numpy array per field cost several times more to
        load in the coordinating process)."""
        return tuple(self.__dict__[name] for name in _SCALAR_STATE), *self.packed_arrays()

    def packed_arrays(self) -> tuple[tuple[int, ...], bytes]:
        """Every array's length (in field order) and their values as one bytes
        object (little-endian, each array's dtype fixed): see `with_packed_arrays`."""
        packed = self.__dict__.get("_packed")
        if packed is not None:
            return packed
        arrays = [np.ascontiguousarray(getattr(self, name), dtype) for name, dtype in _ARRAY_DTYPES]
        return tuple(len(a) for a in arrays), b"".join(a.tobytes() for a in arrays)

    def with_packed_arrays(self, lengths: Sequence[int], blob: bytes) -> IndividualStats:
        """Set every array from `packed_arrays`' form (read on first use); returns self.
        `ValueError` if the lengths do not match the bytes."""
        if len(lengths) != len(_ARRAY_DTYPES) or packed_size(lengths) != len(blob):
            raise ValueError("packed arrays: the lengths do not match the bytes")
        for name in _ARRAY_FIELDS:
            self.__dict__.pop(name, None)
        self.__dict__["_packed"] = (tuple(int(n) for n in lengths), bytes(blob))
        return self

    def __setstate__(self, state: tuple) -> None:
        """Restore the scalars now and the arrays on first use: most individuals
        of a generation are reduced to their scalars without ever reading them."""
        values, lengths, blob = state
        self.__dict__.update(zip(_SCALAR_STATE, values, strict=True))
        self.__dict__["_packed"] = (lengths, blob)

    def __getattr__(self, name: str) -> Any:
        packed = self.__dict__.get("_packed")
        if packed is None or name not in _ARRAY_FIELD_SET:
            raise AttributeError(name)
        del self.__dict__["_packed"]
        lengths, blob = packed
        offset = 0
        for (field_name, dtype), length in zip(_ARRAY_DTYPES, lengths, strict=True):
            self.__dict__[field_name] = np.frombuffer(blob, dtype, length, offset) if length else _empty(dtype)
            offset += length * dtype.itemsize
        return self.__dict__[name]

    def drop_series(self) -> None:
        """Forget the trades, P&L history and equity, in place (an individual that
        is not in the elite); the win/loss distributions stay."""
        packed = self.__dict__.get("_packed")
        if packed is not None:  # the distributions are the blob's tail: keep that slice
            lengths, blob = packed
            cut = packed_size(lengths[:_N_SERIES])
            self.__dict__["_packed"] = (_NO_SERIES_LENGTHS + tuple(lengths[_N_SERIES:]), blob[cut:])
        else:
            for name, dtype in _ARRAY_DTYPES[:_N_SERIES]:
                self.__dict__[name] = _empty(dtype)

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


_ARRAY_FIELDS = tuple(f.name for f in fields(IndividualStats) if f.name not in SCALAR_FIELDS
                      and f.name.startswith(("trade_", "equity_", "win_", "loss_", "pnl_")))  # fmt: skip
_ARRAY_FIELD_SET = frozenset(_ARRAY_FIELDS)
_SCALAR_STATE = tuple(f.name for f in fields(IndividualStats) if f.name not in _ARRAY_FIELD_SET)
_HEAD_STATE = tuple(name for name in _SCALAR_STATE if name not in SCALAR_FIELDS)
_INT_SCALARS = frozenset(f.name for f in fields(IndividualStats) if f.name in SCALAR_FIELDS and f.type == "int")
# The arrays as they are packed: the series first, then the distributions (kept by `drop_series`).
_SMALL_INTS = frozenset({"trade_side", "trade_reason"})
_ARRAY_DTYPES = tuple(
    (name, np.dtype(np.int8 if name in _SMALL_INTS else np.int64 if name.endswith(("_time", "_counts", "_held"))
                    else np.float64))
    for name in _ARRAY_FIELDS
)  # fmt: skip
_ITEMSIZES = tuple(dtype.itemsize for _, dtype in _ARRAY_DTYPES)
_N_SERIES = sum(not name.startswith(("win_", "loss_")) for name in _ARRAY_FIELDS)
assert all(name.startswith(("win_", "loss_")) for name in _ARRAY_FIELDS[_N_SERIES:])
_NO_SERIES = IndividualStats()
_NO_SERIES_LENGTHS = (0,) * _N_SERIES


def packed_size(lengths: Sequence[int]) -> int:
    """Bytes taken by arrays of these lengths (the first ``len(lengths)`` arrays of
    `IndividualStats.packed_arrays`)."""
    if len(lengths) > len(_ITEMSIZES):
        raise ValueError(f"{len(lengths)} array lengths for {len(_ITEMSIZES)} arrays")
    return sum(map(operator.mul, lengths, _ITEMSIZES))


def _empty(dtype: str) -> np.ndarray:
    return np.zeros(0, dtype=np.dtype(dtype))


def compute_stats(
    result: BacktestResult,
    time: np.ndarray,
    *,
    bar_ns: int,
    market_return_pct: float,
    params: dict[str, Any] | None = None,
) -> IndividualStats:
    """All statistics of one simulation on bars with open times ``time`` (int64 ns).

    ``market_return_pct`` is the dataset's buy-and-hold return, computed once per
    dataset by the caller.
    """
    n = len(result.equity)
    pct = result.pnl_pct * 100.0
    bars_held = result.exit_index - result.entry_index
    trades = len(pct)
    n_win, n_loss, sum_win, sum_loss, best, worst, total, gross_win, gross_loss = _trade_summary(pct, result.pnl)
    max_dd, mean_r, std_r, downside = _equity_summary(result.equity)
    span_years = (int(time[-1]) + bar_ns - int(time[0])) / (365.25 * 86400e9) if n else 0.0
    per_year = n / span_years if span_years > 0 else math.nan
    final = float(result.equity[-1]) if n else 1.0
    cagr = None
    if span_years > 0:
        cagr = -100.0 if final <= 0 else (final ** (1.0 / span_years) - 1.0) * 100.0
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
        profit_factor=gross_win / gross_loss if gross_loss > 0 else None,
        expectancy_pct=total / trades if trades else None,
        max_drawdown_pct=max_dd * 100.0,
        sharpe=_ratio(mean_r, std_r, per_year),
        sortino=_ratio(mean_r, downside, per_year),
        calmar=(cagr / 100.0) / max_dd if cagr is not None and max_dd > 0 else None,
        cagr_pct=cagr,
        exposure_pct=float(bars_held.sum()) / n * 100.0 if n else None,
        avg_bars_held=float(bars_held.sum()) / trades if trades else None,
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
    )


@njit(cache=True)
def _equity_summary(equity):  # pragma: no cover - compiled
    """Max drawdown (fraction) and the mean, standard deviation (ddof 1) and
    downside deviation of per-bar returns (the first from the start, 1.0)."""
    n = len(equity)
    peak = 1.0
    max_dd = 0.0
    previous = 1.0
    total = 0.0
    total_sq = 0.0
    down_sq = 0.0
    for i in range(n):
        value = equity[i]
        if value > peak:
            peak = value
        dd = 1.0 - value / peak
        if dd > max_dd:
            max_dd = dd
        r = value / previous - 1.0 if previous > 0 else 0.0
        total += r
        total_sq += r * r
        if r < 0:
            down_sq += r * r
        previous = value
    if n < 2:
        return max_dd, np.nan, np.nan, np.nan
    mean = total / n
    var = (total_sq - n * mean * mean) / (n - 1)
    return max_dd, mean, np.sqrt(max(var, 0.0)), np.sqrt(down_sq / n)


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
def _trade_summary(pct, pnl):  # pragma: no cover - compiled
    """Counts and sums over trades: (wins, losses, sum of winning %, sum of losing %,
    best %, worst %, sum of all %, gross profit, gross loss) with P&L in money."""
    n_win = 0
    n_loss = 0
    sum_win = 0.0
    sum_loss = 0.0
    best = -np.inf
    worst = np.inf
    total = 0.0
    gross_win = 0.0
    gross_loss = 0.0
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
        if pnl[k] > 0:
            gross_win += pnl[k]
        elif pnl[k] < 0:
            gross_loss -= pnl[k]
    return n_win, n_loss, sum_win, sum_loss, best, worst, total, gross_win, gross_loss


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


def stats_to_record(stats: IndividualStats) -> list[Any]:
    """A compact JSON-able form of ``stats`` without trades and equity (for a
    checkpoint's log of evaluations): params, fitness, failed, error and bars as
    they are; the scalar statistics as float64 (NaN for None) and the win/loss
    distributions' lengths and values, raw little-endian in base64. Floats
    round-trip exactly; writing decimal floats costs several times more."""
    d = stats.__dict__
    scalars = np.array([np.nan if d[name] is None else d[name] for name in SCALAR_FIELDS], dtype="<f8")
    lengths, blob = stats.packed_arrays()
    tail = blob[packed_size(lengths[:_N_SERIES]) :]
    return [[d[name] for name in _HEAD_STATE], base64.b64encode(scalars.tobytes() + tail).decode("ascii"),
            list(lengths[_N_SERIES:])]  # fmt: skip


def stats_from_record(record: Any) -> IndividualStats:
    """The inverse of `stats_to_record` (`ValueError` on a malformed record)."""
    try:
        head, packed, distribution_lengths = record
        raw = base64.b64decode(packed, validate=True)
        cut = 8 * len(SCALAR_FIELDS)
        stats = object.__new__(IndividualStats)
        stats.__dict__.update(zip(_HEAD_STATE, head, strict=True))
        for name, value in zip(SCALAR_FIELDS, np.frombuffer(raw[:cut], "<f8").tolist(), strict=True):
            stats.__dict__[name] = None if math.isnan(value) else int(value) if name in _INT_SCALARS else value
        stats.with_packed_arrays(_NO_SERIES_LENGTHS + tuple(distribution_lengths), raw[cut:])
    except (TypeError, ValueError) as exc:  # binascii.Error is a ValueError
        raise ValueError(f"not a statistics record: {exc}") from exc
    return stats
