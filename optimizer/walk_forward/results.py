"""A walk-forward's out-of-sample results: the folds' test windows stitched into one
curve, and the figures that judge it (docs/OPTIMIZER.md, "Walk-forward").

* The stitched curve compounds: fold k's test equity is scaled by the stitched
  equity at the end of fold k-1 (equity starts at 1.0), its trades' P&L likewise
  (``pnl_pct`` is per trade, unchanged). A fold without a selected member (no valid
  evaluation) is flat, with no trades. So the stitched return is
  ``prod(1 + fold test return) - 1`` exactly.
* Efficiency: the stitched curve's annualized return over the mean annualized
  training return of the selected members, each annualized simply over its own
  window (``r * 365.25 / days``, not compounded: compounding a 3-day return to a
  year makes ~1e25 of it, Pardo's walk-forward efficiency is the simple rate);
  None where the in-sample return is not positive.
* t-statistic of the stitched per-bar returns (``mean / (std / sqrt(n))``, sample
  deviation); None when they do not vary.
* ``profitable_folds_pct``: percent of folds whose test return is above 0;
  ``max_fold_profit_share``: the largest fold's profit (in stitched equity) over
  the total profit, None when the total is not positive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.backtest import BacktestResult
from optimizer.config_walk_forward import Criteria
from optimizer.data import MarketData
from optimizer.genes import Gene
from optimizer.periods import YEAR_DAYS
from optimizer.stats import IndividualStats, buy_and_hold_pct, compute_stats
from optimizer.walk_forward.windows import FoldWindow


@dataclass
class FoldResult:
    """One finished fold: its window, the selected member's parameters and its
    statistics on the training and the test window (None without a valid member),
    its test backtest (per-bar equity) and the fold's search counts."""

    window: FoldWindow
    seed: int
    params: dict[str, Any] | None
    train: IndividualStats | None
    test: IndividualStats | None
    backtest: BacktestResult | None
    evaluations: int
    failed_evaluations: int
    generations: int
    stopped_early: bool
    test_evaluations: int = 0
    note: str | None = None
    """Why the fold has no selected member (None when it has one), in words."""
    selected_id: int | None = None
    """The selected member's id in the fold's search (None without one)."""

    def to_dict(self, time: np.ndarray) -> dict[str, Any]:
        """The fold's JSON object (the issue's contract: ``fold``, the four times,
        ``params``, ``train``, ``test``; plus counts and bar indices)."""
        return {
            **self.window.to_dict(time),
            "seed": self.seed,
            "params": None if self.params is None else {k: _plain(v) for k, v in self.params.items()},
            "train": None if self.train is None else self.train.to_dict(),
            "test": None if self.test is None else end_of_fold(self.test.to_dict(), self._boundary(time)),
            "evaluations": self.evaluations,
            "failed_evaluations": self.failed_evaluations,
            "generations": self.generations,
            "stopped_early": self.stopped_early,
            "test_evaluations": self.test_evaluations,
            "selected_id": self.selected_id,
            **({} if self.note is None else {"note": self.note}),
        }

    def _boundary(self, time: np.ndarray) -> str | None:
        """`end_of_fold`'s ``last_exit`` for this fold's test trades: "*" before the data's end."""
        return None if self.window.test_stop == len(time) else "*"


END_OF_FOLD = "end_of_fold"
"""The reason of a test-window trade closed on the window's last bar when that bar is
not the data's last (a stitched fold boundary): ``end_of_data`` is the data's end only."""


def end_of_fold(stats: dict[str, Any], last_exit: str | None) -> dict[str, Any]:
    """A statistics object whose ``end_of_data`` closes are fold boundaries relabelled
    `END_OF_FOLD`: all of them (``last_exit`` "*", a fold before the last), or those
    not exiting at ``last_exit`` (the data's last bar, ISO 8601; the stitched curve);
    None: unchanged. The trades are copied, the object is changed in place."""
    if last_exit is None or not stats.get("trades"):
        return stats
    stats["trades"] = [{**t, "reason": END_OF_FOLD} if t.get("reason") == "end_of_data"
                       and (last_exit == "*" or t.get("exit_time") != last_exit) else t
                       for t in stats["trades"]]  # fmt: skip
    return stats


def empty_fold_note(fold: int, stats: Sequence[IndividualStats], valid: int, min_trades: int, select: str) -> str:
    """Why fold ``fold`` has no selected member, from its search's evaluations
    (``stats``; ``valid`` of them valid): below the minimum of trades, failed, or
    with ``select`` undefined."""
    total = len(stats)
    failed = sum(1 for s in stats if s.failed)
    few = sum(1 for s in stats if not s.failed and (s.total_trades or 0) < min_trades)
    if valid:
        return (f"no valid member of fold {fold} has a defined {select} on its training window (the statistic that "
                f"selects the member carried forward): the fold trades nothing")  # fmt: skip
    if total and few == total:
        return (f"no member of fold {fold} met the minimum of {min_trades} trades (ga.min_trades) on its training "
                f"window: the fold trades nothing")  # fmt: skip
    parts = [f"{few} of {total} made fewer than the minimum of {min_trades} trades"] if few else []
    parts += [f"{failed} failed"] if failed else []
    other = total - few - failed
    parts += [f"{other} had an undefined objective"] if other > 0 else []
    return f"no member of fold {fold} was valid on its training window ({', '.join(parts) or 'none evaluated'}): " \
           "the fold trades nothing"


def stitch(folds: Sequence[FoldResult]) -> tuple[BacktestResult, list[float]]:
    """The folds' test backtests as one compounded backtest over their bars (indices
    from the first test bar), and each fold's profit in stitched equity units."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _FIELDS}
    scale = 1.0
    profits = []
    for fold in folds:
        offset = fold.window.test_start - folds[0].window.test_start
        bars = fold.window.test_stop - fold.window.test_start
        result = fold.backtest if fold.backtest is not None else _flat(bars)
        parts["entry_index"].append(result.entry_index + offset)
        parts["exit_index"].append(result.exit_index + offset)
        for name in ("side", "entry_price", "exit_price", "pnl_pct", "reason"):
            parts[name].append(getattr(result, name))
        for name in ("pnl", "equity", "worst_equity"):
            parts[name].append(getattr(result, name) * scale)
        end = scale * float(result.equity[-1])
        profits.append(end - scale)
        scale = end
    stitched = BacktestResult(**{name: np.concatenate(arrays) for name, arrays in parts.items()})
    return stitched, profits


_FIELDS = ("entry_index", "exit_index", "side", "entry_price", "exit_price", "pnl_pct", "pnl", "reason", "equity",
           "worst_equity")  # fmt: skip


def _flat(bars: int) -> BacktestResult:
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    return BacktestResult(empty_i, empty_i, np.zeros(0, np.int8), empty_f, empty_f, empty_f, empty_f,
                          np.zeros(0, np.int8), np.ones(bars))  # fmt: skip


def stitched_stats(
    folds: Sequence[FoldResult], market: MarketData, trading_days: int, costs: tuple[float, float]
) -> tuple[IndividualStats, list[float], BacktestResult]:
    """Full statistics of the stitched out-of-sample curve (trades included; buy
    and hold over the same bars at ``costs``, commission and slippage), the
    folds' profits, and the stitched backtest."""
    result, profits = stitch(folds)
    first, last = folds[0].window.test_start, folds[-1].window.test_stop
    close = market.candles.close
    stats = compute_stats(
        result, market.candles.time[first:last], bar_ns=market.bar_ns,
        market_return_pct=buy_and_hold_pct(float(close[first]), float(close[last - 1]), *costs),
        trading_days=trading_days,
    )  # fmt: skip
    return stats, profits, result


def annualized(total_return_pct: float, span_days: float) -> float | None:
    """A return in percent over ``span_days`` days as a simple (not compounded)
    yearly rate, a fraction: ``r / 100 * 365.25 / span_days``; None without a span."""
    if span_days <= 0:
        return None
    return total_return_pct / 100.0 * (YEAR_DAYS / span_days)


def efficiency(stitched: IndividualStats, folds: Sequence[FoldResult]) -> float | None:
    """Annualized out-of-sample return / mean annualized in-sample return; None
    where the in-sample return is not positive (or there is none)."""
    in_sample = [annualized(f.train.total_return_pct or 0.0, f.train.span_days or 0.0)
                 for f in folds if f.train is not None]  # fmt: skip
    in_sample = [r for r in in_sample if r is not None]
    out = annualized(stitched.total_return_pct or 0.0, stitched.span_days or 0.0)
    if not in_sample or out is None:
        return None
    mean_in = math.fsum(in_sample) / len(in_sample)
    return None if mean_in <= 0 else out / mean_in


def t_stat(equity: np.ndarray) -> float | None:
    """The t-statistic of the per-bar returns of ``equity`` (from a start of 1.0)."""
    previous = np.concatenate(([1.0], equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(previous > 0, equity / previous - 1.0, 0.0)
    if len(returns) < 2:
        return None
    deviation = float(np.std(returns, ddof=1))
    if not deviation > 0:
        return None
    return float(np.mean(returns)) / (deviation / math.sqrt(len(returns)))


def profit_share(profits: Sequence[float]) -> float | None:
    """The largest fold profit over the total profit; None when the total is not positive."""
    total = math.fsum(profits)
    return None if total <= 0 or not profits else max(profits) / total


def drift(folds: Sequence[FoldResult], genes: Sequence[Gene]) -> dict[str, dict[str, Any]]:
    """Each gene's selected value fold by fold, with its mean, standard deviation,
    that deviation as a fraction of the gene's range (``relative_std``), and the
    range (``low``, ``high``)."""
    out = {}
    for gene in genes:
        values = [None if f.params is None else _plain(f.params.get(gene.name)) for f in folds]
        known = np.array([v for v in values if v is not None], dtype=np.float64)
        std = float(np.std(known)) if len(known) else None
        width = gene.high - gene.low
        out[gene.name] = {
            "values": values,
            "mean": float(np.mean(known)) if len(known) else None,
            "std": std,
            "min": float(known.min()) if len(known) else None,
            "max": float(known.max()) if len(known) else None,
            "relative_std": None if std is None or width <= 0 else std / width,
            "low": gene.low,
            "high": gene.high,
        }
    return out


def criteria(
    criteria: Criteria, stitched: IndividualStats, eff: float | None, profitable_pct: float, share: float | None
) -> list[dict[str, Any]]:
    """The pass/fail criteria, each with its threshold, value and verdict (an
    undefined value fails)."""
    rows = [
        ("profitable", "stitched out-of-sample return (%)", ">", criteria.min_return_pct, stitched.total_return_pct),
        ("efficiency", "walk-forward efficiency", ">=", criteria.min_efficiency, eff),
        ("profitable_folds", "profitable folds (%)", ">=", criteria.min_profitable_folds_pct, profitable_pct),
        ("fold_profit_share", "largest fold's share of the profit", "<=", criteria.max_fold_profit_share, share),
        ("max_drawdown", "stitched max drawdown (%)", "<", criteria.max_drawdown_pct, stitched.max_drawdown_pct),
    ]
    out = []
    for name, label, op, threshold, value in rows:
        passed = value is not None and _OPS[op](float(value), float(threshold))
        out.append({"name": name, "label": label, "op": op, "threshold": threshold,
                    "value": None if value is None else float(value), "passed": passed,
                    "verdict": "pass" if passed else "fail"})  # fmt: skip
    return out


_OPS = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
