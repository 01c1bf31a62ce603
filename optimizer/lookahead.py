"""The look-ahead self-check: does any signal of a run read bars after its own?

A signal's value at bar i must depend on bars <= i only (docs/ENGINE.md, "No
look-ahead"). `check_lookahead` tests that of every signal a configuration uses,
built-in or from a plugin, on the run's own data: each signal, with its fixed
parameters and each range at its midpoint, is computed on the whole data, then
on the data cut after bar k and on the data altered after bar k (the later bars
scaled up, scaled down, and replaced by a random walk), for a few k spread over
the data. Any value at or before k that differs from the whole data's is look-
ahead: the check fails naming the signal, its kind, the first bar that moved
and how the data was changed.

It is run at the start of every run (`optimizer.prepare.prepare_run`) and by
``python -m optimizer check CONFIG.json [--data PATH]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from optimizer.cache import ArrayCache
from optimizer.config import RunConfig
from optimizer.data import Candles, MarketData
from optimizer.data.timeframes import format_timeframe
from optimizer.errors import InputError
from optimizer.evaluation.worker import interrupt_behind
from optimizer.interrupts import raise_if_interrupted
from optimizer.signals import compute_signal
from optimizer.strategy import build_strategy

log = logging.getLogger(__name__)

# Where the data is cut or altered: after bar k = fraction * bars + offset (the odd
# offsets keep k off the boundaries of higher-timeframe candles).
CUTS = ((0.25, 1), (0.5, 3), (0.75, 5))
SEED = 12  # the random walk's, so that the check is reproducible
SCALE_UP, SCALE_DOWN = 1.3, 0.7


class LookaheadError(InputError):
    """A signal whose value at some bar changes when later bars change; one detail
    per signal, starting with its dotted path."""


@dataclass(frozen=True)
class SignalUse:
    """One signal of a configuration as the check computes it: its name, kind,
    parameters (ranges at their midpoints), timeframe (ns; None = the data's own
    bars) and candle type."""

    name: str
    kind: str
    params: tuple[tuple[str, float], ...]
    tf_ns: int | None
    candles: str


@dataclass(frozen=True)
class CheckReport:
    """What a passing check covered: the signals checked, the bars of the data
    and the cut points k (bar indices)."""

    signals: tuple[SignalUse, ...]
    bars: int
    cuts: tuple[int, ...]
    skipped: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the command line and the log."""
        kinds = sorted({use.kind for use in self.signals})
        text = (
            f"no look-ahead in {len(self.signals)} signal{'s' * (len(self.signals) != 1)} "
            f"({', '.join(kinds)}) on {self.bars} bars, cut and altered after bars {', '.join(map(str, self.cuts))}"
        )
        if self.skipped:
            text += f"; not checked (they raised): {', '.join(self.skipped)}"
        return text


def signal_uses(config: RunConfig) -> list[SignalUse]:
    """The signals of ``config`` with every gene at its range's midpoint."""
    midpoints = {gene.name: gene.from_unit(0.5) for gene in config.genes}
    strategy = build_strategy(config, midpoints)
    return [
        SignalUse(spec.name, spec.kind, tuple(sorted(spec.params.items())), spec.tf_ns, spec.candles)
        for spec in strategy.signals
    ]


def cut_points(bars: int) -> tuple[int, ...]:
    """The bars k after which the check cuts and alters the data (distinct; each
    keeps at least 2 bars up to it and 1 after it: none for fewer than 3 bars)."""
    points = {min(int(bars * fraction) + offset, bars - 2) for fraction, offset in CUTS}
    return tuple(sorted(k for k in points if k >= 1))


def altered(candles: Candles, k: int) -> list[tuple[str, Candles]]:
    """The candles with the bars after ``k`` changed, three ways (with what was
    done, for messages): every price and volume scaled up, scaled down, and the
    prices replaced by a seeded random walk from bar k's close. Bars 0..k and all
    times are kept; every bar stays a valid candle."""
    tail = slice(k + 1, None)
    variants = []
    for label, factor in ((f"scaled by {SCALE_UP}", SCALE_UP), (f"scaled by {SCALE_DOWN}", SCALE_DOWN)):
        arrays = {name: getattr(candles, name).copy() for name in ("open", "high", "low", "close", "volume")}
        for array in arrays.values():
            array[tail] *= factor
        variants.append((label, Candles(candles.time, **arrays, bar_ns=candles.bar_ns)))
    rng = np.random.default_rng(SEED + k)
    m = len(candles) - k - 1
    close = candles.close.copy()
    close[tail] = candles.close[k] * np.exp(np.cumsum(rng.normal(0.0, 0.01, m)))
    open_ = candles.open.copy()
    open_[tail] = np.r_[candles.close[k], close[k + 1 : -1]] * np.exp(rng.normal(0.0, 0.002, m))
    high = candles.high.copy()
    low = candles.low.copy()
    high[tail] = np.maximum(open_[tail], close[tail]) * (1.0 + rng.uniform(0.0, 0.005, m))
    low[tail] = np.minimum(open_[tail], close[tail]) * (1.0 - rng.uniform(0.0, 0.005, m))
    volume = candles.volume.copy()
    volume[tail] = rng.uniform(0.5, 2.0, m) * (volume[tail] + 1.0)
    variants.append(("replaced by a random walk", Candles(candles.time, open_, high, low, close, volume,
                                                           bar_ns=candles.bar_ns)))  # fmt: skip
    return variants


def check_lookahead(config: RunConfig, market: MarketData) -> CheckReport:
    """Check every signal of ``config`` on ``market`` for look-ahead (see the
    module docstring). Returns what was checked; raises `LookaheadError` with one
    line per signal that looks ahead. A signal that raises on the whole data is
    not checked (logged; its individuals fail as usual when the run evaluates them);
    a Ctrl-C behind such an error is raised as `KeyboardInterrupt`."""
    candles = market.candles
    uses = list({(u.kind, u.params, u.tf_ns, u.candles): u for u in signal_uses(config)}.values())
    cuts = cut_points(len(candles))
    problems: list[str] = []
    skipped: list[str] = []
    variants = {k: [("cut", MarketData(candles.slice(0, k + 1)))]
                + [(label, MarketData(c)) for label, c in altered(candles, k)] for k in cuts}  # fmt: skip
    for use in uses:
        raise_if_interrupted()
        where = f"strategy.signals.{use.name}"
        try:
            full = _compute(market, use)
        except Exception as exc:  # a plugin's error: the run's evaluations report it
            if interrupt_behind(exc):
                raise KeyboardInterrupt from exc
            log.warning("%s (kind %s) not checked for look-ahead: it raised %s: %s",
                        where, use.kind, type(exc).__name__, exc)  # fmt: skip
            skipped.append(use.name)
            continue
        problem = _first_move(use, full, variants, candles)
        if problem:
            problems.append(f"{where}: {problem}")
    if problems:
        raise LookaheadError(problems)
    return CheckReport(tuple(uses), len(candles), cuts, tuple(skipped))


def _compute(market: MarketData, use: SignalUse) -> np.ndarray:
    return compute_signal(market, use.kind, dict(use.params), use.tf_ns, use.candles, ArrayCache())


def _first_move(
    use: SignalUse, full: np.ndarray, variants: dict[int, list[tuple[str, MarketData]]], candles: Candles
) -> str | None:
    """The reason ``use`` looks ahead (the first bar that moved), or None."""
    tf = "" if use.tf_ns is None else f" on {format_timeframe(use.tf_ns)}"
    for k, changes in variants.items():
        for label, market in changes:
            raise_if_interrupted()
            how = f"the data was cut after bar {k}" if label == "cut" else f"the bars after bar {k} were {label}"
            try:
                values = _compute(market, use)
            except Exception as exc:
                if interrupt_behind(exc):
                    raise KeyboardInterrupt from exc
                return f"kind {use.kind}{tf} looks ahead: it raised {type(exc).__name__}: {exc} when {how}"
            head, before = np.asarray(values[: k + 1], dtype=np.float64), full[: k + 1]
            same = (head == before) | (np.isnan(head) & np.isnan(before))
            if len(head) != len(before) or not same.all():
                bar = int(np.flatnonzero(~same)[0]) if len(head) == len(before) else min(len(head), k)
                stamp = np.datetime_as_string(candles.time[bar].astype("datetime64[ns]"), unit="s")
                return (
                    f"kind {use.kind}{tf} looks ahead: its value at bar {bar} ({stamp}Z) changed from "
                    f"{before[bar]:g} to {head[bar] if bar < len(head) else float('nan'):g} when {how}"
                )
    return None
