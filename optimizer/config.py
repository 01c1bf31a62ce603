"""The run configuration: validation, defaults and the genes its ranges define.

`parse_config` checks a configuration (a JSON object) against DESIGN.md's
contract and returns a `RunConfig`, or raises `ConfigError` listing every
problem as ``dotted.path: reason``. Any numeric leaf under ``strategy`` or
``execution`` may be a range ``{"min", "max", "type"}``: each range is one gene
named by its dotted path. Genes are kept sorted by name, so that the order of
keys in the file never changes a result.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimizer.data.timeframes import parse_timeframe
from optimizer.errors import ConfigError
from optimizer.signals import SIGNAL_KINDS
from optimizer.stats import SCALAR_FIELDS

DIRECTIONS = ("long", "short", "both")
FILLS = ("next_open", "close")
CANDLE_TYPES = ("normal", "heiken_ashi")
GOALS = ("max", "min")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Statistics that can be objectives: every scalar of the statistics contract.
METRICS = SCALAR_FIELDS

GA_DEFAULTS: dict[str, Any] = {
    "population": 64,
    "generations": 30,
    "seed": 0,
    "crossover_prob": 0.9,
    "mutation_prob": 0.2,
    "eta_crossover": 15.0,
    "eta_mutation": 20.0,
    "tournament_size": 3,
    "elite": 4,
    "min_trades": 1,
    "stall_generations": None,
}


@dataclass(frozen=True)
class Gene:
    """One searched value: its dotted path, inclusive bounds and whether integer."""

    name: str
    low: float
    high: float
    integer: bool

    def from_unit(self, u: float) -> float | int:
        """The value at position ``u`` in [0, 1] of the range (integers rounded)."""
        value = self.low + min(max(u, 0.0), 1.0) * (self.high - self.low)
        if self.integer:
            return int(min(max(math.floor(value + 0.5), self.low), self.high))
        return value

    def to_unit(self, value: float) -> float:
        """The position in [0, 1] of ``value`` within the range."""
        return 0.0 if self.high == self.low else (float(value) - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class RunConfig:
    """A validated configuration: the normalized JSON (defaults filled in) and its genes."""

    raw: dict[str, Any]
    genes: tuple[Gene, ...]

    @property
    def gene_names(self) -> tuple[str, ...]:
        return tuple(gene.name for gene in self.genes)

    @functools.cached_property
    def decode_plan(self) -> tuple[tuple[str, float, float, float, bool], ...]:
        """(name, low, span, high, integer) per gene, for fast decoding."""
        return tuple((g.name, g.low, g.high - g.low, g.high, g.integer) for g in self.genes)

    def to_json(self) -> dict[str, Any]:
        """A deep copy of the normalized configuration."""
        return copy.deepcopy(self.raw)


def load_config(path: str | Path) -> RunConfig:
    """Read a JSON configuration file and validate it (see `parse_config`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text") from exc
    return parse_config(document)


def parse_config(document: Any) -> RunConfig:
    """Validate a configuration object; raise `ConfigError` listing every problem."""
    checker = _Checker()
    raw = checker.config(document)
    if checker.errors:
        raise ConfigError(checker.errors)
    genes = tuple(sorted(checker.genes, key=lambda gene: gene.name))
    return RunConfig(raw=raw, genes=genes)


def is_range(value: Any) -> bool:
    """Whether a configuration leaf is a range (a gene) rather than a fixed value."""
    return isinstance(value, dict) and "min" in value and "max" in value


class _Checker:
    """Walks a configuration, collecting errors and genes."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.genes: list[Gene] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(f"{path or 'configuration'}: {reason}")

    def obj(self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, not {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(_join(path, key), f"unknown field (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.fail(_join(path, key), "is required")
        return value

    def choice(self, value: Any, path: str, options: tuple[str, ...]) -> Any:
        if value not in options:
            self.fail(path, f"{json.dumps(value)} is not one of {', '.join(options)}")
        return value

    def number(
        self,
        value: Any,
        path: str,
        *,
        integer: bool = False,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
        gene: bool = False,
        nullable: bool = False,
    ) -> Any:
        """A numeric leaf: a fixed number or (``gene=True``) a range, within bounds."""
        if value is None and nullable:
            return None
        if gene and isinstance(value, dict):
            return self.range(value, path, integer=integer, low=low, high=high, low_open=low_open, high_open=high_open)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            expected = "an integer" if integer else "a number"
            if gene:
                expected += ' or a range {"min", "max"}'
            if nullable:
                expected += " or null"
            self.fail(path, f"must be {expected}, not {_kind(value)}")
            return value
        if not math.isfinite(value):
            self.fail(path, f"{value} is not a finite number")
            return value
        if integer and float(value) != int(value):
            self.fail(path, f"{value} is not an integer")
            return value
        self._bounds(value, path, low, high, low_open, high_open)
        return int(value) if integer else float(value)

    def _bounds(self, value: float, path: str, low, high, low_open, high_open, what: str = "") -> bool:
        if low is not None and (value < low or (low_open and value == low)):
            self.fail(path, f"{what}{_num(value)} must be {'above' if low_open else 'at least'} {_num(low)}")
            return False
        if high is not None and (value > high or (high_open and value == high)):
            self.fail(path, f"{what}{_num(value)} must be {'below' if high_open else 'at most'} {_num(high)}")
            return False
        return True

    def range(self, value: dict, path: str, *, integer: bool, low, high, low_open, high_open) -> Any:
        self.obj(value, path, ("min", "max", "type"), ("min", "max"))
        kind = value.get("type", "int" if integer else "float")
        if kind not in ("int", "float"):
            self.fail(_join(path, "type"), f"{json.dumps(kind)} is not one of int, float")
            return value
        if integer and kind == "float":
            self.fail(_join(path, "type"), "must be int: this value is a whole number")
            return value
        ok = True
        bounds: dict[str, float] = {}
        for key in ("min", "max"):
            v = value.get(key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                if key in value:
                    self.fail(_join(path, key), f"must be a finite number, not {_kind(v)}")
                ok = False
                continue
            if kind == "int" and float(v) != int(v):
                self.fail(_join(path, key), f"{v} is not an integer (type is int)")
                ok = False
                continue
            ok = self._bounds(v, path, low, high, low_open, high_open, what=f"{key} ") and ok
            bounds[key] = float(v)
        if not ok:
            return value
        if bounds["min"] > bounds["max"]:
            self.fail(path, f"min {_num(value['min'])} is above max {_num(value['max'])}")
            return value
        if bounds["min"] == bounds["max"]:
            return int(bounds["min"]) if kind == "int" else bounds["min"]
        self.genes.append(Gene(path, bounds["min"], bounds["max"], kind == "int"))
        return {"min": value["min"], "max": value["max"], "type": kind}

    # -- sections ---------------------------------------------------------------------

    def config(self, doc: Any) -> dict:
        top = ("name", "data", "strategy", "execution", "objectives", "ga", "workers", "split")
        doc = self.obj(doc, "", top, ("data", "strategy"))
        if not doc:
            return {}
        name = doc.get("name", "run")
        if not isinstance(name, str) or not name.strip():
            self.fail("name", "must be a non-empty string")
        return {
            "name": name,
            "data": self.data(doc["data"]) if "data" in doc else {},
            "strategy": self.strategy(doc["strategy"]) if "strategy" in doc else {},
            "execution": self.execution(doc.get("execution", {})),
            "objectives": self.objectives(doc.get("objectives", [{"metric": "total_return_pct", "goal": "max"}])),
            "ga": self.ga(doc.get("ga", {})),
            "workers": self.number(doc.get("workers", 0), "workers", integer=True, low=0, high=1024),
            "split": self.split(doc.get("split")),
        }

    def data(self, value: Any) -> dict:
        data = self.obj(value, "data", ("path", "dataset"))
        if data and ("path" in data) == ("dataset" in data):
            self.fail("data", "must hold exactly one of path (command line) or dataset (an id)")
        for key in ("path", "dataset"):
            if key in data and (not isinstance(data[key], str) or not data[key].strip()):
                self.fail(f"data.{key}", "must be a non-empty string")
        return dict(data)

    def strategy(self, value: Any) -> dict:
        fields = (
            "direction", "signals", "entry", "exit", "entry_short", "exit_short", "stop_loss",
            "take_profit", "trailing_stop", "trailing_activation", "max_bars", "end_of_day",
        )  # fmt: skip
        s = self.obj(value, "strategy", fields, ("signals", "entry"))
        if not s and not isinstance(value, dict):
            return {}
        direction = self.choice(s.get("direction", "long"), "strategy.direction", DIRECTIONS)
        signals = self.signals(s.get("signals", {}))
        # Rules may name any declared signal, even one with its own error (reported once, there).
        names = set(signals) | set(s["signals"] if isinstance(s.get("signals"), dict) else ())
        out: dict[str, Any] = {"direction": direction, "signals": signals}
        for rule in ("entry", "exit", "entry_short", "exit_short"):
            if s.get(rule) is not None or (rule == "entry" and rule in s):
                out[rule] = self.rule(s[rule], f"strategy.{rule}", names)
            else:
                out[rule] = None
        if direction == "both" and out["entry_short"] is None:
            self.fail("strategy.entry_short", 'is required when direction is "both"')
        if direction != "both":
            for rule in ("entry_short", "exit_short"):
                if out[rule] is not None:
                    self.fail(f"strategy.{rule}", 'is only used when direction is "both"')
        for key, high in (("stop_loss", 1.0), ("trailing_stop", 1.0), ("take_profit", None)):
            out[key] = self.number(
                s.get(key), f"strategy.{key}", low=0.0, low_open=True, high=high, high_open=high is not None,
                gene=True, nullable=True,
            )  # fmt: skip
        out["trailing_activation"] = self.number(
            s.get("trailing_activation", 0.0), "strategy.trailing_activation", low=0.0, gene=True
        )
        out["max_bars"] = self.number(
            s.get("max_bars"), "strategy.max_bars", integer=True, low=1, gene=True, nullable=True
        )
        eod = s.get("end_of_day", False)
        if not isinstance(eod, bool):
            self.fail("strategy.end_of_day", f"must be true or false, not {_kind(eod)}")
        out["end_of_day"] = eod
        return out

    def signals(self, value: Any) -> dict:
        if not isinstance(value, dict) or not value:
            self.fail("strategy.signals", "must be a non-empty object of named signals")
            return {}
        out = {}
        for name, spec in value.items():
            path = f"strategy.signals.{name}"
            if not NAME.match(name):
                self.fail(path, "a signal name is letters, digits and underscores, not starting with a digit")
                continue
            spec = self.obj(spec, path, ("kind", "timeframe", "candles", "params"), ("kind",))
            if not spec:
                continue
            kind = spec.get("kind")
            if kind not in SIGNAL_KINDS:
                self.fail(
                    f"{path}.kind", f"{json.dumps(kind)} is not a signal kind ({', '.join(sorted(SIGNAL_KINDS))})"
                )
                continue
            entry: dict[str, Any] = {"kind": kind, "timeframe": None, "candles": "normal", "params": {}}
            if spec.get("timeframe") is not None:
                try:
                    parse_timeframe(spec["timeframe"])
                    entry["timeframe"] = spec["timeframe"].strip()
                except ValueError as exc:
                    self.fail(f"{path}.timeframe", str(exc))
            entry["candles"] = self.choice(spec.get("candles", "normal"), f"{path}.candles", CANDLE_TYPES)
            params = spec.get("params", {})
            if not isinstance(params, dict):
                self.fail(f"{path}.params", f"must be an object, not {_kind(params)}")
                params = {}
            known = {p.name: p for p in SIGNAL_KINDS[kind].params}
            for key in params:
                if key not in known:
                    self.fail(f"{path}.params.{key}", f"unknown parameter of {kind} (expected: {', '.join(known)})")
            for p in known.values():
                if p.name not in params:
                    self.fail(f"{path}.params.{p.name}", f"is required ({p.doc})")
                    continue
                entry["params"][p.name] = self.number(
                    params[p.name], f"{path}.params.{p.name}", integer=p.integer, low=p.low, high=p.high,
                    low_open=p.low_open, gene=True,
                )  # fmt: skip
            out[name] = entry
        return out

    def rule(self, value: Any, path: str, names: set[str]) -> dict:
        rule = self.obj(value, path, ("weights", "threshold"), ("weights", "threshold"))
        weights = rule.get("weights", {})
        out: dict[str, Any] = {"weights": {}, "threshold": None}
        if not isinstance(weights, dict) or not weights:
            if "weights" in rule:
                self.fail(f"{path}.weights", "must be a non-empty object of signal name -> weight")
        else:
            for name, weight in weights.items():
                if name not in names:
                    self.fail(f"{path}.weights.{name}", "names no signal in strategy.signals")
                    continue
                out["weights"][name] = self.number(weight, f"{path}.weights.{name}", low=0.0, gene=True)
        if "threshold" in rule:
            out["threshold"] = self.number(rule["threshold"], f"{path}.threshold", low=0.0, high=1.0, gene=True)
        return out

    def execution(self, value: Any) -> dict:
        e = self.obj(value, "execution", ("fill", "commission", "slippage", "position_fraction"))
        return {
            "fill": self.choice(e.get("fill", "next_open"), "execution.fill", FILLS),
            "commission": self.number(
                e.get("commission", 0.0), "execution.commission", low=0.0, high=1.0, high_open=True, gene=True
            ),
            "slippage": self.number(
                e.get("slippage", 0.0), "execution.slippage", low=0.0, high=1.0, high_open=True, gene=True
            ),
            "position_fraction": self.number(
                e.get("position_fraction", 1.0),
                "execution.position_fraction",
                low=0.0,
                low_open=True,
                high=1.0,
                gene=True,
            ),
        }

    def objectives(self, value: Any) -> list:
        if not isinstance(value, list) or not value:
            self.fail("objectives", "must be a non-empty list of {metric, goal}")
            return []
        out = []
        for i, item in enumerate(value):
            path = f"objectives.{i}"
            item = self.obj(item, path, ("metric", "goal"), ("metric", "goal"))
            if not item:
                continue
            metric = self.choice(item.get("metric"), f"{path}.metric", METRICS)
            goal = self.choice(item.get("goal"), f"{path}.goal", GOALS)
            out.append({"metric": metric, "goal": goal})
        return out

    def ga(self, value: Any) -> dict:
        g = self.obj(value, "ga", tuple(GA_DEFAULTS))
        out = dict(GA_DEFAULTS)
        out.update({k: v for k, v in g.items() if k in GA_DEFAULTS})
        int_fields = {"population": (2, 100_000), "generations": (1, 100_000), "seed": (0, 2**32 - 1),
                      "tournament_size": (1, 1000), "elite": (0, 100_000), "min_trades": (0, 10**9)}  # fmt: skip
        for key, (low, high) in int_fields.items():
            out[key] = self.number(out[key], f"ga.{key}", integer=True, low=low, high=high)
        for key in ("crossover_prob", "mutation_prob"):
            out[key] = self.number(out[key], f"ga.{key}", low=0.0, high=1.0)
        for key in ("eta_crossover", "eta_mutation"):
            out[key] = self.number(out[key], f"ga.{key}", low=0.0, low_open=True, high=1000.0)
        out["stall_generations"] = self.number(
            out["stall_generations"], "ga.stall_generations", integer=True, low=1, nullable=True
        )
        population, elite = out["population"], out["elite"]
        if isinstance(elite, int) and isinstance(population, int) and 2 <= population < elite:
            self.fail("ga.elite", f"{out['elite']} is more than the population {out['population']}")
        return out

    def split(self, value: Any) -> dict | None:
        if value is None:
            return None
        s = self.obj(value, "split", ("test_fraction", "test_from"))
        if s and ("test_fraction" in s) == ("test_from" in s):
            self.fail("split", "must hold exactly one of test_fraction or test_from")
            return None
        if "test_fraction" in s:
            return {
                "test_fraction": self.number(
                    s["test_fraction"], "split.test_fraction", low=0.0, high=1.0, low_open=True, high_open=True
                )
            }
        if "test_from" in s:
            if not isinstance(s["test_from"], str):
                self.fail("split.test_from", f"must be an ISO 8601 date, not {_kind(s['test_from'])}")
            return {"test_from": s["test_from"]}
        return None


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
