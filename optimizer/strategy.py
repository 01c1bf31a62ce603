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

from optimizer.config import RunConfig, is_range
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
    """Parameters (gene name -> value) from a vector of values in [0, 1]."""
    if len(genes) != len(config.genes):
        raise ValueError(f"expected {len(config.genes)} genes, got {len(genes)}")
    return {gene.name: gene.from_unit(float(u)) for gene, u in zip(config.genes, genes, strict=True)}


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
    s = _substitute(config.raw["strategy"], "strategy", params)
    e = _substitute(config.raw["execution"], "execution", params)
    signals = tuple(
        SignalSpec(
            name=name,
            kind=spec["kind"],
            tf_ns=parse_timeframe(spec["timeframe"]) if spec["timeframe"] else None,
            candles=spec["candles"],
            params=spec["params"],
        )
        for name, spec in sorted(s["signals"].items())
    )
    rules = {key: _rule(s[key]) for key in ("entry", "exit", "entry_short", "exit_short")}
    direction = s["direction"]
    return Strategy(
        signals=signals,
        long_entry=rules["entry"] if direction != "short" else None,
        long_exit=rules["exit"] if direction != "short" else None,
        short_entry=rules["entry"] if direction == "short" else rules["entry_short"],
        short_exit=rules["exit"] if direction == "short" else rules["exit_short"],
        stop_loss=s["stop_loss"],
        take_profit=s["take_profit"],
        trailing_stop=s["trailing_stop"],
        trailing_activation=s["trailing_activation"],
        max_bars=s["max_bars"],
        end_of_day=s["end_of_day"],
        fill=e["fill"],
        commission=e["commission"],
        slippage=e["slippage"],
        position_fraction=e["position_fraction"],
    )


def _rule(rule: dict | None) -> Rule | None:
    if rule is None:
        return None
    return Rule(weights=tuple(sorted(rule["weights"].items())), threshold=rule["threshold"])


def _substitute(value: Any, path: str, params: Mapping[str, float]) -> Any:
    if is_range(value):
        return params[path]
    if isinstance(value, dict):
        return {key: _substitute(item, f"{path}.{key}", params) for key, item in value.items()}
    return value
