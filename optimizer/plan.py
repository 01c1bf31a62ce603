"""The per-run compiled plan: parameters in, `IndividualStats` out, in one compiled call.

An `EvaluationPlan` is made once per engine (a run's window on one dataset).
It resolves the configuration once into what the kernel takes: each signal's
kind, timeframe, candles and parameters (fixed values, or the gene that sets
them), each rule as signal indices, weights and a threshold (arrays), and the
execution's scalars. An evaluation then fills those from the parameters, looks
the signal arrays up in the engine's cache, and calls `optimizer.one_pass.run_pass`
once; from its compact result (a figures array, the packed arrays' lengths and
bytes) the statistics are made with `optimizer.stats.compute_stats`'s formulas,
their arrays left packed (`optimizer.stats_codec`: made on the first read, most
never are). Every statistic equals the reference path's
(`optimizer.reference_eval`, `tests/test_engine_equality.py`).

Scratch arrays (the per-bar returns, the trades) belong to the plan and are
reused; an evaluation takes a set for itself, so concurrent ones never share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.objectives import fitness_of
from optimizer.one_pass import LONG_ENTRY, LONG_EXIT, OUT, SHORT_ENTRY, SHORT_EXIT, run_pass
from optimizer.periods import EVERY_DAY, NS_PER_DAY, YEAR_DAYS, period_ends, periods_per_year
from optimizer.robustness.moments import FLAT_TOLERANCE
from optimizer.signals import BUILT_IN_KINDS, compute_signal, signal_key, uniform
from optimizer.stats import EQUITY_POINTS, MIN_CAGR_DAYS, MIN_RETURN_PERIODS, IndividualStats
from optimizer.stats_codec import FIELDS, HEAD_FIELDS, Group
from optimizer.stats_kernels import annualized_ratio
from optimizer.strategy import _Ref

if TYPE_CHECKING:
    from optimizer.engine import Engine

PACKED = (
    "trade_entry_time", "trade_exit_time", "trade_side", "trade_entry_price", "trade_exit_price", "trade_pnl_pct",
    "trade_reason", "trade_bars_held", "pnl_history", "equity_time", "equity_value",
    "win_edges", "win_counts", "loss_edges", "loss_counts", "block_sums", "block_squares", "block_counts",
)  # fmt: skip  # the order in which run_pass packs its arrays
_CODEC_ORDER = tuple(f.name for f in FIELDS if f.group is Group.SERIES) + tuple(
    f.name for f in FIELDS if f.group is Group.DISTRIBUTION
)
if _CODEC_ORDER != PACKED:  # pragma: no cover - a guard for whoever adds a field
    raise TypeError("optimizer.plan.PACKED differs from optimizer.stats_codec's packed order")
_HEAD_DEFAULTS = {name: None for name in HEAD_FIELDS}


def _slot(leaf: Any) -> tuple[bool, Any]:
    """(is a gene, its name) or (False, the fixed value)."""
    return (True, leaf.name) if isinstance(leaf, _Ref) else (False, leaf)


def _get(params: Mapping[str, Any], slot: tuple[bool, Any]) -> Any:
    return params[slot[1]] if slot[0] else slot[1]


class EvaluationPlan:
    """What `Engine.evaluate` runs: the configuration resolved once for the kernel."""

    def __init__(self, engine: Engine) -> None:
        builder = engine.strategy_builder
        market = engine.market
        self._engine = engine
        self._market = market
        self._cache = engine.cache
        self._start = engine.start
        self._n = engine.stop - engine.start
        candles = market.candles
        self._prices = (candles.open, candles.high, candles.low, candles.close, market.day_end, candles.time)
        signals, rules, direction, scalars = builder.template()
        self._signals = []  # (kind, timeframe, candle type, parameter slots, the same sorted by name: the cache key's order)
        for _, kind, tf, candle_type, items in signals:
            slots = tuple((key, *_slot(v)) for key, v in items)
            self._signals.append((kind, tf, candle_type, slots, tuple(sorted(slots, key=lambda slot: slot[0]))))
        index = {name: i for i, (name, *_rest) in enumerate(signals)}
        short = direction == "short"
        by_side = {
            LONG_ENTRY: None if short else rules["entry"],
            LONG_EXIT: None if short else rules["exit"],
            SHORT_ENTRY: rules["entry"] if short else rules["entry_short"],
            SHORT_EXIT: rules["exit"] if short else rules["exit_short"],
        }
        self._rules = []  # per rule of `run_pass`: None, or (signal indices, weight slots, threshold slot)
        for rule in by_side.values():
            if rule is None or not rule[0]:
                self._rules.append(None)
                continue
            weights, threshold = rule
            self._rules.append((tuple(index[name] for name, _ in weights), tuple(_slot(w) for _, w in weights),
                                _slot(threshold)))  # fmt: skip
        # A rule whose weights and threshold are all fixed: (weights, their sum, threshold) made once
        # (None: made per evaluation by `_rule_scalars`; a fixed rule that never fires is None in `_rules`).
        self._fixed_rules: list[tuple | None] = []
        # A rule whose signals mix built-in kinds (uint8) with a plugin's (float64): made uniform per evaluation.
        self._mixed = [rule is not None and len({self._signals[i][0] in BUILT_IN_KINDS for i in rule[0]}) > 1
                       for rule in self._rules]  # fmt: skip
        for r, rule in enumerate(self._rules):
            fixed = rule is not None and not any(gene for gene, _ in (*rule[1], rule[2]))
            made = _rule_scalars(rule, {}) if fixed else None
            if fixed and made is None:
                self._rules[r] = None
            self._fixed_rules.append(made)
        self._scalars = {key: _slot(v) for key, v in scalars.items()}
        time = candles.time[engine.start : engine.stop]
        self._span_days = (int(time[-1]) + market.bar_ns - int(time[0])) / NS_PER_DAY
        self._per_year = periods_per_year(market.bar_ns, engine.trading_days)
        self._periods = period_ends(candles.time, engine.start, self._n, market.bar_ns,
                                    engine.trading_days == EVERY_DAY)  # fmt: skip
        self._blocks = engine.blocks
        self._objectives = engine.config.objectives
        self._scratch: list[tuple[np.ndarray, ...]] = []

    def _take_scratch(self) -> tuple[np.ndarray, ...]:
        if self._scratch:
            try:
                return self._scratch.pop()
            except IndexError:  # another thread took the last one meanwhile
                pass
        n = self._n
        cap = 2 * n + 1
        return np.empty(n), np.empty((cap, 4), np.int64), np.empty((cap, 4))

    def evaluate(self, params: Mapping[str, Any]) -> IndividualStats:
        """Full statistics of ``params`` (gene name -> value), with fitness in the
        configuration's objective order."""
        market, cache = self._market, self._cache
        arrays = []
        for kind, tf, candle_type, items, ordered in self._signals:
            # A hit without building compute_signal's arguments (its key from the slots in name order).
            values = cache.lookup(signal_key(market, kind, tuple([(key, params[x] if g else x) for key, g, x in ordered]),
                                             tf, candle_type))  # fmt: skip
            if values is None:  # uint8 for a built-in kind, float64 for a plugin's, contiguous
                values = compute_signal(market, kind, {key: params[x] if g else x for key, g, x in items}, tf,
                                        candle_type, cache)  # fmt: skip
            arrays.append(values)
        s = {key: params[x] if g else x for key, (g, x) in self._scalars.items()}
        rules = []
        for rule, fixed, mixed in zip(self._rules, self._fixed_rules, self._mixed, strict=True):
            if rule is None:
                rules.append(None)
                continue
            signals = tuple([arrays[i] for i in rule[0]])
            if mixed:
                signals = uniform(signals)
            scalars = fixed if fixed is not None else _rule_scalars(rule, params)
            rules.append(None if scalars is None else (signals, *scalars))
        scratch = self._take_scratch()
        returns, ti, tf_ = scratch
        try:
            sl, tp, trail, max_bars = s["stop_loss"], s["take_profit"], s["trailing_stop"], s["max_bars"]
            out, lengths, blob = run_pass(
                *self._prices, self._start, self._n, *rules,
                s["fill"] == "close", float(s["commission"]), float(s["slippage"]), float(s["position_fraction"]),
                math.nan if sl is None else float(sl), math.nan if tp is None else float(tp),
                None if trail is None else float(trail), float(s["trailing_activation"]),
                0 if max_bars is None else int(max_bars), bool(s["end_of_day"]),
                *self._periods, EQUITY_POINTS, self._blocks, returns, ti, tf_,
            )  # fmt: skip
        finally:
            self._scratch.append(scratch)
        market_return = self._engine.market_return_pct(s["commission"], s["slippage"])
        stats = self._stats(out.tolist(), lengths.tolist(), blob.tobytes(), params, market_return)
        stats.fitness = fitness_of(stats, self._objectives)
        return stats

    def _stats(
        self, out: list[float], lengths: list[int], blob: bytes, params: Mapping[str, Any], market_return: float
    ) -> IndividualStats:
        """`compute_stats`' statistics from `run_pass`' figures (the same formulas)."""
        f = dict(zip(OUT, out, strict=True))
        if f["bad_bar"] >= 0:
            raise ValueError(f"returns: bar {int(f['bad_bar'])} is {np.float64(f['bad_value'])!r}, not a finite number")
        n = self._n
        trades = lengths[0]
        n_win, n_loss, periods = int(f["n_win"]), int(f["n_loss"]), int(f["periods"])
        sum_win, sum_loss, max_dd, final = f["sum_win"], f["sum_loss"], f["max_dd"], f["final"]
        span_days, per_year = self._span_days, self._per_year
        enough = periods >= MIN_RETURN_PERIODS
        cagr = None
        if span_days >= MIN_CAGR_DAYS:
            cagr = -100.0 if final <= 0 else (final ** (YEAR_DAYS / span_days) - 1.0) * 100.0
        held = float(int(f["held"]))
        mean, m2 = f["r_mean"], f["m2"] / n
        variance = m2 * n / (n - 1)
        skewness = kurtosis = None
        if m2 <= (FLAT_TOLERANCE * f["abs_max"]) ** 2:
            variance = 0.0
        else:
            m3, m4 = f["m3"] / n, f["m4"] / n
            skewness, kurtosis = m3 / m2**1.5, m4 / (m2 * m2)
        stats = object.__new__(IndividualStats)
        d = stats.__dict__
        d.update(_HEAD_DEFAULTS)
        d.update(
            params=dict(params),
            fitness=[],
            failed=False,
            bars=n,
            total_trades=trades,
            winning_trades=n_win,
            losing_trades=n_loss,
            win_rate_pct=n_win / trades * 100.0 if trades else None,
            total_return_pct=(final - 1.0) * 100.0,
            market_return_pct=market_return,
            avg_win_pct=sum_win / n_win if n_win else None,
            avg_loss_pct=sum_loss / n_loss if n_loss else None,
            best_trade_pct=f["best"] if trades else None,
            worst_trade_pct=f["worst"] if trades else None,
            profit_factor=sum_win / -sum_loss if n_loss else None,
            expectancy_pct=f["total_pct"] / trades if trades else None,
            max_drawdown_pct=max_dd * 100.0,
            sharpe=annualized_ratio(f["mean_p"], f["std_p"], per_year) if enough else None,
            sortino=annualized_ratio(f["mean_p"], f["down_p"], per_year) if enough else None,
            calmar=(cagr / 100.0) / max_dd if cagr is not None and max_dd > 0 else None,
            cagr_pct=cagr,
            exposure_pct=held / n * 100.0,
            avg_bars_held=held / trades if trades else None,
            sharpe_per_bar=annualized_ratio(f["mean_r"], f["std_r"], 1.0),
            gross_profit_pct=sum_win if trades else None,
            gross_loss_pct=-sum_loss if trades else None,
            span_days=span_days,
            periods_per_year=per_year,
            return_periods=periods,
            returns_mean=mean,
            returns_variance=variance,
            returns_skewness=skewness,
            returns_kurtosis=kurtosis,
        )
        d["_packed"] = (tuple(lengths), blob)
        return stats


def _rule_scalars(rule: tuple, params: Mapping[str, Any]) -> tuple | None:
    """A rule's (weights, their sum, threshold), or None when the weights sum to no
    more than 0."""
    _, weight_slots, threshold = rule
    weights = tuple(float(_get(params, slot)) for slot in weight_slots)
    total = 0.0
    for weight in weights:  # summed in the rule's order, as the kernel's score is
        total += weight
    if not total > 0.0:
        return None
    return weights, total, float(_get(params, threshold))


def warm_up_pass(close: np.ndarray, signal: np.ndarray, time: np.ndarray) -> None:
    """Run `run_pass` once on synthetic bars (``close`` prices, one ``signal`` of
    0/1 bytes as a built-in kind's, int64 ns ``time``) with a one-signal plan:
    loads its compiled code."""
    n = len(close)
    never = np.zeros(n, np.bool_)
    rule = ((np.asarray(signal, np.uint8),), (1.0,), 1.0, 1.0)
    run_pass(close, close + 1, close - 1, close, never, time, 0, n, rule, rule, None, None, False, 0.0, 0.0, 1.0, 0.01, math.nan, None, 0.0, 0, False,
             *period_ends(time, 0, n, int(time[1] - time[0]), True), EQUITY_POINTS, 4, np.empty(n), np.empty((2 * n + 1, 4), np.int64), np.empty((2 * n + 1, 4)))  # fmt: skip
