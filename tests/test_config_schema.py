"""The served JSON Schema and `parse_config` agree: at every bound of every numeric
field, on required fields, on null and on unknown fields.

The cases come from the declared model itself (each numeric leaf carries its
bounds as `Leaf` metadata), so a new field or signal kind is covered without
editing this file. Cross-field rules a JSON Schema cannot state (``ga.elite`` at
most the population, rule weights naming declared signals, min <= max) are kept
satisfied here and tested in test_config.py.
"""

from __future__ import annotations

import copy
import math
import types
import typing
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Tag

from optimizer.config import parse_config
from optimizer.config_fields import Leaf
from optimizer.config_model import settings_model
from optimizer.errors import ConfigError
from optimizer.schema import config_schema
from tests.conftest import sma_cross_config

BIG = 10**12  # a value past nothing: the top of an unbounded field
PROBE = "probe"  # the signal that carries a kind's parameters under test


def _accepts(document: Any) -> bool:
    try:
        parse_config(copy.deepcopy(document))
    except ConfigError:
        return False
    return True


@pytest.fixture(scope="module")
def schema_accepts():
    validator = jsonschema.Draft202012Validator(config_schema())
    return lambda document: validator.is_valid(document)


# -- numeric leaves, from the model ------------------------------------------------------


def _leaf(metadata: Any) -> Leaf | None:
    return next((m for m in metadata if isinstance(m, Leaf)), None)


def _leaves(tp: Any, path: tuple[str, ...] = (), kind: str | None = None) -> Iterator[tuple[str, Leaf, str | None]]:
    """(dotted path, leaf, signal kind) of every numeric leaf under type ``tp``."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        leaf = _leaf(tp.__metadata__)
        if leaf is not None:
            yield ".".join(path), leaf, kind
            return
        tag = next((m.tag for m in tp.__metadata__ if isinstance(m, Tag)), None)
        if tag and path[-1:] == (PROBE,):  # a branch of the signals' union: one kind
            kind = tag[1:]
        yield from _leaves(typing.get_args(tp)[0], path, kind)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            leaf = _leaf(field.metadata)
            if leaf is not None:
                yield ".".join((*path, name)), leaf, kind
            else:
                yield from _leaves(field.annotation, (*path, name), kind)
    elif origin is dict:  # weights: of the signal "up"; signals: the probe, of each kind
        value = typing.get_args(tp)[1]
        yield from _leaves(value, (*path, "up" if _leaf(getattr(value, "__metadata__", ())) else PROBE), kind)
    elif origin in (typing.Union, types.UnionType):
        for branch in typing.get_args(tp):
            yield from _leaves(branch, path, kind)


def leaf_cases() -> list[tuple[str, Leaf, str | None]]:
    return list(_leaves(settings_model()))


def _step(leaf: Leaf, value: float, up: bool) -> float:
    if leaf.bounds.integer:
        return value + (1 if up else -1)
    return math.nextafter(value, math.inf if up else -math.inf)


def _inside_low(leaf: Leaf) -> float:
    b = leaf.bounds
    if b.low is None:
        return 0
    return _step(leaf, b.low, True) if b.low_open else b.low


def _inside_high(leaf: Leaf) -> float:
    b = leaf.bounds
    if b.high is None:
        return BIG
    return _step(leaf, b.high, False) if b.high_open else b.high


def _edges(leaf: Leaf, bound: float | None, *, low: bool) -> list[Any]:
    """Values at, just inside and just outside one bound; integral and not."""
    if bound is None:
        return [BIG, float(BIG), -BIG] if not low else [-BIG]
    values = [bound, _step(leaf, bound, True), _step(leaf, bound, False)]
    if leaf.bounds.integer:
        values += [float(bound), bound + 0.5, bound - 0.5]
    else:
        values += [int(bound)] if float(bound).is_integer() else []
    return values


def _values(leaf: Leaf) -> list[Any]:
    """Fixed values and ranges to try on a leaf."""
    b = leaf.bounds
    lows, highs = _edges(leaf, b.low, low=True), _edges(leaf, b.high, low=False)
    out: list[Any] = [*lows, *highs, None, "1", True, [1]]
    if leaf.gene:
        top, bottom = _inside_high(leaf), _inside_low(leaf)
        types = [{}, {"type": "int"}, {"type": "float"}, {"type": "float64"}]
        for extra in types:
            out += [{"min": v, "max": top, **extra} for v in lows]
            out += [{"min": bottom, "max": v, **extra} for v in highs]
        out += [{"min": bottom}, {"min": bottom, "max": top, "step": 1}, {"min": "0", "max": top}]
        if b.integer or float(bottom).is_integer():
            out.append({"min": int(bottom), "max": int(bottom) + 2, "type": "int"})
    return out


def _base(path: str, kind: str | None, leaves: list[tuple[str, Leaf, str | None]]) -> dict:
    doc = sma_cross_config(10, 30, stop_loss=0.02)
    doc["split"] = {"test_fraction": 0.25}
    if path.startswith(("strategy.entry_short", "strategy.exit_short")):
        doc["strategy"]["direction"] = "both"
        for rule in ("entry_short", "exit_short"):
            doc["strategy"][rule] = {"weights": {"up": 1.0}, "threshold": 1.0}
    if path.startswith("split."):
        doc["split"] = {}
    if path == "ga.elite":  # at most the population: a cross-field rule
        doc["ga"] = {"population": 100_000}
    if kind is not None:
        params = {p.rsplit(".", 1)[1]: _inside_low(leaf) for p, leaf, k in leaves if k == kind}
        doc["strategy"]["signals"][PROBE] = {"kind": kind, "params": params}
    return doc


def _put(doc: dict, path: str, value: Any) -> dict:
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return doc


def test_every_numeric_field_and_signal_kind_is_covered():
    paths = {path for path, _, _ in leaf_cases()}
    kinds = {kind for _, _, kind in leaf_cases() if kind}
    assert {"ga.population", "ga.seed", "workers", "split.test_fraction", "strategy.stop_loss", "execution.slippage",
            "strategy.entry.weights.up", "strategy.exit_short.threshold", "strategy.max_bars"} <= paths  # fmt: skip
    assert {"sma_cross_up", "rsi_below", "macd_cross_up", "bollinger_below_lower", "adx_above"} <= kinds
    assert f"strategy.signals.{PROBE}.params.std" in paths


def _agreement(schema_accepts, stride: int) -> None:
    """parse_config and the schema on every ``stride``-th edge case (all with 1)."""
    cases = leaf_cases()
    disagreements, tried, accepted = [], 0, 0
    every = ((path, leaf, kind, value) for path, leaf, kind in cases for value in _values(leaf))
    for index, (path, _, kind, value) in enumerate(every):
        if index % stride:
            continue
        doc = _put(_base(path, kind, cases), path, copy.deepcopy(value))
        ours, theirs = _accepts(doc), schema_accepts(doc)
        tried += 1
        accepted += ours
        if ours != theirs:
            disagreements.append(f"{path} = {value!r} ({kind or ''}): parse_config {ours}, schema {theirs}")
    assert disagreements == [], "\n".join(disagreements[:40])
    assert tried > 1000 // stride and 0.2 < accepted / tried < 0.8  # both outcomes well represented


@pytest.mark.slow  # ~2,600 documents through jsonschema: ~20 s
def test_schema_and_validator_agree_at_every_bound(schema_accepts):
    _agreement(schema_accepts, stride=1)


def test_schema_and_validator_agree_at_a_sample_of_the_bounds(schema_accepts):
    """The quick suite's share of the test above: every 7th edge case (a stride
    prime to the few values each field has, so every kind of value is sampled)."""
    _agreement(schema_accepts, stride=7)


# -- required fields, null and unknown fields, over a normalized document ------------------


def _full() -> dict:
    """Every field present (normalization fills the defaults), direction both."""
    doc = sma_cross_config(10, 30, stop_loss=0.02, direction="both")
    doc["strategy"]["entry_short"] = {"weights": {"down": 1.0}, "threshold": 1.0}
    doc["strategy"]["exit_short"] = {"weights": {"up": 1.0}, "threshold": 1.0}
    doc["strategy"]["signals"]["up"]["timeframe"] = "2h"
    doc["split"] = {"test_fraction": 0.25}
    return parse_config(doc).raw


def _objects(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _objects(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, (*path, i))


def _mutations() -> Iterator[tuple[str, dict]]:
    full = _full()
    for path, obj in list(_objects(full)):
        entries = path and path[-1] in ("signals", "weights")  # names, not fields
        for key in obj:
            where = ".".join(map(str, (*path, key)))
            for label, change in (("without", None), ("null", "null"), ("an object", "{}")):
                if entries and label == "without":
                    continue
                doc = copy.deepcopy(full)
                target = doc
                for part in path:
                    target = target[part]
                if change is None:
                    del target[key]
                else:
                    target[key] = None if change == "null" else {}
                yield f"{where} {label}", doc
        if not entries:
            doc = copy.deepcopy(full)
            target = doc
            for part in path:
                target = target[part]
            target["zz_unknown"] = 1
            yield f"{'.'.join(map(str, path)) or '(top)'} with an unknown field", doc


def test_schema_and_validator_agree_on_required_null_and_unknown_fields(schema_accepts):
    disagreements, tried = [], 0
    for label, doc in _mutations():
        ours, theirs = _accepts(doc), schema_accepts(doc)
        tried += 1
        if ours != theirs:
            disagreements.append(f"{label}: parse_config {ours}, schema {theirs}")
    assert disagreements == [], "\n".join(disagreements)
    assert tried > 100


def test_a_signal_needs_its_params_exactly_when_its_kind_has_any(schema_accepts):
    cases = leaf_cases()
    for kind in sorted({k for _, _, k in cases if k}):
        doc = _base(f"strategy.signals.{PROBE}.params.x", kind, cases)
        assert _accepts(doc) and schema_accepts(doc), kind
        del doc["strategy"]["signals"][PROBE]["params"]
        assert not _accepts(doc) and not schema_accepts(doc), kind


def test_the_normalized_full_document_is_valid_for_both(schema_accepts):
    full = _full()
    assert _accepts(full) and schema_accepts(full)
