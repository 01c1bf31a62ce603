"""The JSON Schema of a run configuration, built from the same registries the
validator reads (signal kinds, metrics, GA settings), so the two cannot drift.

`parse_config` remains the authority (it also checks cross-field rules such as
min <= max and rule weights naming declared signals); the schema serves editors,
forms and other tools.
"""

from __future__ import annotations

from typing import Any

from optimizer.config import CANDLE_TYPES, DIRECTIONS, FILLS, GA_DEFAULTS, GOALS, METRICS
from optimizer.signals import SIGNAL_KINDS, Param


def _number(low: float | None = None, high: float | None = None, *, integer: bool = False,
            exclusive_low: bool = False, exclusive_high: bool = False) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"type": "integer" if integer else "number"}
    if low is not None:
        out["exclusiveMinimum" if exclusive_low else "minimum"] = low
    if high is not None:
        out["exclusiveMaximum" if exclusive_high else "maximum"] = high
    return out


def _gene(value: dict[str, Any]) -> dict[str, Any]:
    """A fixed value, or a range {min, max, type} searched by the optimizer."""
    kind = "int" if value["type"] == "integer" else "float"
    bound = {k: v for k, v in value.items() if k != "type"}
    return {
        "oneOf": [
            value,
            {
                "type": "object",
                "description": "a range: one gene",
                "required": ["min", "max"],
                "additionalProperties": False,
                "properties": {"min": {**value, **bound}, "max": {**value, **bound},
                               "type": {"enum": [kind] if kind == "int" else ["float", "int"]}},
            },
        ]
    }  # fmt: skip


def _param(p: Param) -> dict[str, Any]:
    return {**_gene(_number(p.low, p.high, integer=p.integer, exclusive_low=p.low_open)), "description": p.doc}


def _signal(name: str) -> dict[str, Any]:
    kind = SIGNAL_KINDS[name]
    return {
        "type": "object",
        "description": kind.doc,
        "required": ["kind", "params"],
        "additionalProperties": False,
        "properties": {
            "kind": {"const": name},
            "timeframe": {"type": ["string", "null"], "pattern": r"^\s*\d+\s*[smhdw]\s*$"},
            "candles": {"enum": list(CANDLE_TYPES)},
            "params": {
                "type": "object",
                "additionalProperties": False,
                "required": [p.name for p in kind.params],
                "properties": {p.name: _param(p) for p in kind.params},
            },
        },
    }


RULE = {
    "type": ["object", "null"],
    "required": ["weights", "threshold"],
    "additionalProperties": False,
    "properties": {
        "weights": {"type": "object", "minProperties": 1, "additionalProperties": _gene(_number(0))},
        "threshold": _gene(_number(0, 1)),
    },
}


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a run configuration."""
    fraction = _gene(_number(0, 1, exclusive_low=True, exclusive_high=True))
    nullable_fraction = {"oneOf": [{"type": "null"}, fraction]}
    ga = {key: _number(0, integer=True) for key in ("population", "generations", "seed", "tournament_size", "elite",
                                                    "min_trades")}  # fmt: skip
    ga.update({key: _number(0, 1) for key in ("crossover_prob", "mutation_prob")})
    ga.update({key: _number(0, 1000, exclusive_low=True) for key in ("eta_crossover", "eta_mutation")})
    ga["stall_generations"] = {"type": ["integer", "null"], "minimum": 1}
    assert set(ga) == set(GA_DEFAULTS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Run configuration",
        "type": "object",
        "required": ["data", "strategy"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "data": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"path": {"type": "string", "minLength": 1}, "dataset": {"type": "string", "minLength": 1}},
                "oneOf": [{"required": ["path"]}, {"required": ["dataset"]}],
            },
            "strategy": {
                "type": "object",
                "required": ["signals", "entry"],
                "additionalProperties": False,
                "properties": {
                    "direction": {"enum": list(DIRECTIONS)},
                    "signals": {
                        "type": "object",
                        "minProperties": 1,
                        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                        "additionalProperties": {"oneOf": [_signal(name) for name in sorted(SIGNAL_KINDS)]},
                    },
                    "entry": RULE, "exit": RULE, "entry_short": RULE, "exit_short": RULE,
                    "stop_loss": nullable_fraction,
                    "take_profit": {"oneOf": [{"type": "null"}, _gene(_number(0, exclusive_low=True))]},
                    "trailing_stop": nullable_fraction,
                    "trailing_activation": _gene(_number(0)),
                    "max_bars": {"oneOf": [{"type": "null"}, _gene(_number(1, integer=True))]},
                    "end_of_day": {"type": "boolean"},
                },
            },
            "execution": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "fill": {"enum": list(FILLS)},
                    "commission": _gene(_number(0, 1, exclusive_high=True)),
                    "slippage": _gene(_number(0, 1, exclusive_high=True)),
                    "position_fraction": _gene(_number(0, 1, exclusive_low=True)),
                },
            },
            "objectives": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["metric", "goal"],
                    "additionalProperties": False,
                    "properties": {"metric": {"enum": list(METRICS)}, "goal": {"enum": list(GOALS)}},
                },
            },
            "ga": {"type": "object", "additionalProperties": False, "properties": ga},
            "workers": _number(0, 1024, integer=True),
            "split": {"oneOf": [{"type": "null"}, {
                "type": "object",
                "additionalProperties": False,
                "properties": {"test_fraction": _number(0, 1, exclusive_low=True, exclusive_high=True),
                               "test_from": {"type": "string"}},
                "oneOf": [{"required": ["test_fraction"]}, {"required": ["test_from"]}],
            }]},
        },
    }  # fmt: skip
