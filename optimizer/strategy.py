"""From genes to a concrete strategy.

A gene vector (one value in [0, 1] per gene of `RunConfig.genes`) decodes into
parameters (gene name -> value in the range's own unit); parameters resolve the
configuration's ranges into a `Strategy`, every value fixed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optimizer.config import Range, RunConfig, is_range
from optimizer.data.timeframes import parse_timeframe
from optimizer.errors import ConfigError


@dataclass(frozen=True)
class SignalSpec:
    """One signal with fixed parameters; ``tf_ns`` None means the data's own bars."""

    name: str
    kind: str
    tf_ns: int | None
    candles: str
    params: Mapping[str, float]


@dataclass(frozen=True)
class Rule:
    """A weighted score of signals that fires when it reaches ``threshold`` (>=)."""

    weights: tuple[tuple[str, float], ...]
    threshold: float


@dataclass(frozen=True)
class Strategy:
    """Everything one backtest needs besides the data, all values fixed.

    Fractions (``stop_loss``, ``take_profit``, ``trailing_stop``,
    ``trailing_activation``, ``commission``, ``slippage``,
    ``position_fraction``) are plain fractions (0.01 = 1 %); None disables the
    stop. ``max_bars`` counts bars from the entry fill.
    """

    signals: tuple[SignalSpec, ...]
    long_entry: Rule | None
    long_exit: Rule | None
    short_entry: Rule | None
    short_exit: Rule | None
    stop_loss: float | None
    take_profit: float | None
    trailing_stop: float | None
    trailing_activation: float
    max_bars: int | None
    end_of_day: bool
    fill: str
    commission: float
    slippage: float
    position_fraction: float


def decode(config: RunConfig, genes: Sequence[float]) -> dict[str, float | int]:
    """Parameters (gene name -> value, in the genes' own units) from a vector of
    positions in [0, 1], one per gene of ``config.genes``."""
    return config.decoder.params(genes)


def decode_keys(config: RunConfig, rows: Sequence[Sequence[float]]) -> list[tuple[float | int, ...]]:
    """The values of `decode` of each gene vector in ``rows``, as tuples in gene
    order (the optimizer's parameter cache keys, a generation at a time)."""
    return config.decoder.rows(rows)


def encode(config: RunConfig, params: Mapping[str, float]) -> tuple[float, ...]:
    """The vector of values in [0, 1] of parameters (the inverse of `decode`)."""
    return tuple(gene.to_unit(params[gene.name]) for gene in config.genes)


def check_params(config: RunConfig, params: Any) -> dict[str, float | int]:
    """Validate parameters given in the genes' own units (e.g. a ``--params`` file):
    every gene present, within its range, integer where the gene is."""
    if not isinstance(params, dict):
        raise ConfigError("params: must be an object of gene name -> value")
    errors = []
    out: dict[str, float | int] = {}
    genes = {gene.name: gene for gene in config.genes}
    for name in params:
        if name not in genes:
            known = ", ".join(genes) or "none: the configuration has no ranges"
            errors.append(f"params.{name}: not a gene of this configuration (genes: {known})")
    for gene in config.genes:
        value = params.get(gene.name)
        path = f"params.{gene.name}"
        if gene.name not in params:
            errors.append(f"{path}: is required (range {gene.low:g}..{gene.high:g})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors.append(f"{path}: must be a finite number")
        elif gene.integer and float(value) != int(value):
            errors.append(f"{path}: {value} is not an integer")
        elif not gene.low <= value <= gene.high:
            errors.append(f"{path}: {value:g} is outside the range {gene.low:g}..{gene.high:g}")
        else:
            out[gene.name] = int(value) if gene.integer else float(value)
    if errors:
        raise ConfigError(errors)
    return out


def build_strategy(config: RunConfig, params: Mapping[str, float]) -> Strategy:
    """The concrete strategy of a configuration with its genes set to ``params``."""
    return StrategyBuilder(config).build(params)


class _Ref:
    """A gene's place in a strategy template: resolved from the parameters."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _leaf(value: Any, path: str) -> Any:
    """A fixed value as is; a range as the `_Ref` of its gene (named by ``path``)."""
    return _Ref(path) if isinstance(value, Range) else value


def _rule(rule: Any, path: str) -> tuple[tuple[tuple[str, Any], ...], Any] | None:
    if rule is None:
        return None
    weights = tuple((name, _leaf(w, f"{path}.weights.{name}")) for name, w in sorted(rule.weights.items()))
    return weights, _leaf(rule.threshold, f"{path}.threshold")


class StrategyBuilder:
    """Builds strategies of one configuration fast: the configuration is walked
    once into a template whose genes are `_Ref` leaves; `build` fills them in."""

    def __init__(self, config: RunConfig) -> None:
        s, e = config.strategy, config.execution
        self._signals = [
            (name, spec.kind, parse_timeframe(spec.timeframe) if spec.timeframe else None, spec.candles,
             tuple((key, _leaf(v, f"strategy.signals.{name}.params.{key}")) for key, v in spec.params))
            for name, spec in sorted(s.signals.items())
        ]  # fmt: skip
        self._rules = {key: _rule(getattr(s, key), f"strategy.{key}")
                       for key in ("entry", "exit", "entry_short", "exit_short")}  # fmt: skip
        self._direction = s.direction
        self._scalars = {key: _leaf(getattr(s, key), f"strategy.{key}") for key in (
            "stop_loss", "take_profit", "trailing_stop", "trailing_activation", "max_bars", "end_of_day")}  # fmt: skip
        self._scalars.update({key: _leaf(getattr(e, key), f"execution.{key}")
                              for key in ("fill", "commission", "slippage", "position_fraction")})  # fmt: skip

    def template(self) -> tuple[list, dict, str, dict]:
        """The walked configuration (`optimizer.plan` resolves it once per run):
        signals as (name, kind, timeframe ns or None, candle type, ((key, leaf), ...))
        sorted by name; rules by configuration key as ((signal, leaf) ..., threshold
        leaf) or None; the direction; the scalars by name. A leaf is a fixed value or
        a gene's reference (`_Ref`, its ``name``)."""
        return self._signals, self._rules, self._direction, self._scalars

    def build(self, params: Mapping[str, float]) -> Strategy:
        """The strategy with every gene set from ``params`` (gene name -> value)."""

        def value(leaf: Any) -> Any:
            return params[leaf.name] if isinstance(leaf, _Ref) else leaf

        signals = tuple(
            SignalSpec(name, kind, tf, candles, {key: value(v) for key, v in items})
            for name, kind, tf, candles, items in self._signals
        )
        rules = {
            key: None if rule is None else Rule(tuple((n, value(w)) for n, w in rule[0]), value(rule[1]))
            for key, rule in self._rules.items()
        }
        short = self._direction == "short"
        return Strategy(
            signals=signals,
            long_entry=None if short else rules["entry"],
            long_exit=None if short else rules["exit"],
            short_entry=rules["entry"] if short else rules["entry_short"],
            short_exit=rules["exit"] if short else rules["exit_short"],
            **{key: value(v) for key, v in self._scalars.items()},
        )


def _substitute(value: Any, path: str, params: Mapping[str, float]) -> Any:
    if is_range(value):
        return params[path]
    if isinstance(value, dict):
        return {key: _substitute(item, f"{path}.{key}", params) for key, item in value.items()}
    return value


def fixed_config(config: RunConfig, params: Mapping[str, float]) -> dict[str, Any]:
    """The configuration (JSON) with every gene replaced by its value in ``params``:
    re-runnable, it backtests exactly that individual."""
    raw = config.to_json()
    raw["strategy"] = _substitute(raw["strategy"], "strategy", params)
    raw["execution"] = _substitute(raw["execution"], "execution", params)
    return raw
