"""Run configuration: one error per problem with its dotted path; genes; decoding."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from pydantic import ValidationError

from optimizer.config import GA_DEFAULTS, is_range, parse_config
from optimizer.engine import Engine
from optimizer.errors import ConfigError
from optimizer.schema import config_schema
from optimizer.signals import SIGNAL_KINDS, Param, SignalKind, register_signal_kind
from optimizer.strategy import build_strategy, check_params, decode, decode_keys, encode
from tests.conftest import parse, sma_cross_config


def _errors(doc) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    return info.value.details


def _one_range(fast) -> dict:
    """The SMA-cross config with ``fast`` on the entry signal only."""
    doc = sma_cross_config(fast, 60)
    doc["strategy"]["signals"]["down"]["params"]["fast"] = 10
    return doc


def test_the_design_example_parses_into_named_genes():
    doc = _one_range({"min": 5, "max": 50, "type": "int"})
    doc["strategy"]["stop_loss"] = {"min": 0.005, "max": 0.05}
    doc["strategy"]["signals"]["oversold"] = {
        "kind": "rsi_below", "timeframe": "4h", "params": {"period": 14, "level": {"min": 20.0, "max": 40.0}}
    }  # fmt: skip
    doc["strategy"]["entry"] = {"weights": {"up": 1.0, "oversold": {"min": 0.0, "max": 1.0}}, "threshold": 0.5}
    config = parse(doc)
    assert config.gene_names == (
        "strategy.entry.weights.oversold",
        "strategy.signals.oversold.params.level",
        "strategy.signals.up.params.fast",
        "strategy.stop_loss",
    )
    fast = config.genes[2]
    assert fast.integer and (fast.low, fast.high) == (5, 50)
    params = decode(config, (0.0, 0.5, 1.0, 0.25))
    assert params == {
        "strategy.entry.weights.oversold": 0.0,
        "strategy.signals.oversold.params.level": 30.0,
        "strategy.signals.up.params.fast": 50,
        "strategy.stop_loss": pytest.approx(0.005 + 0.25 * 0.045),
    }
    assert decode(config, encode(config, params)) == params
    strategy = build_strategy(config, params)
    assert strategy.stop_loss == pytest.approx(0.01625)
    by_name = {s.name: s for s in strategy.signals}
    assert dict(by_name["up"].params) == {"fast": 50, "slow": 60}
    assert dict(by_name["oversold"].params) == {"period": 14, "level": 30.0}


def test_integer_genes_round_to_the_nearest_value_within_bounds():
    config = parse(_one_range({"min": 5, "max": 8, "type": "int"}))
    assert [decode(config, (u,))["strategy.signals.up.params.fast"] for u in (0, 0.16, 0.17, 0.5, 0.84, 1)] == [
        5, 5, 6, 7, 8, 8
    ]  # fmt: skip


BAD = {
    "min above max": (
        {"strategy": {"signals": {"up": {"params": {"fast": {"min": 50, "max": 5, "type": "int"}}}}}},
        "strategy.signals.up.params.fast: min 50 is above max 5",
    ),
    "unknown kind": ({"strategy": {"signals": {"up": {"kind": "sma_crossup"}}}}, "strategy.signals.up.kind:"),
    "unknown field": ({"strategy": {"stoploss": 0.1}}, "strategy.stoploss: unknown field"),
    "weight names no signal": ({"strategy": {"entry": {"weights": {"nope": 1}}}}, "strategy.entry.weights.nope:"),
    "threshold above one": ({"strategy": {"entry": {"threshold": 1.5}}}, "strategy.entry.threshold:"),
    "negative stop": ({"strategy": {"stop_loss": -0.1}}, "strategy.stop_loss:"),
    "string number": ({"execution": {"commission": "0.1"}}, "execution.commission:"),
    "bad fill": ({"execution": {"fill": "vwap"}}, "execution.fill:"),
    "bad metric": ({"objectives": [{"metric": "luck", "goal": "max"}]}, "objectives.0.metric:"),
    "bad goal": ({"objectives": [{"metric": "sharpe", "goal": "up"}]}, "objectives.0.goal:"),
    "bad timeframe": ({"strategy": {"signals": {"up": {"timeframe": "4x"}}}}, "strategy.signals.up.timeframe:"),
    "bad ga": ({"ga": {"population": 1}}, "ga.population:"),
    "elite over population": ({"ga": {"population": 4, "elite": 5}}, "ga.elite:"),
    "both split fields": ({"split": {"test_fraction": 0.2, "test_from": "2020-01-01"}}, "split:"),
    "split fraction": ({"split": {"test_fraction": 1.0}}, "split.test_fraction:"),
    "missing param": ({"strategy": {"signals": {"up": {"params": {"fast": None}}}}}, "strategy.signals.up.params"),
    "short rules without both": (
        {"strategy": {"entry_short": {"weights": {"up": 1}, "threshold": 1}}},
        "strategy.entry_short:",
    ),
    "range type": ({"strategy": {"stop_loss": {"min": 0.1, "max": 0.2, "type": "float64"}}}, "strategy.stop_loss"),
}


def _merge(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and value and "min" not in value:
            out[key] = _merge(out[key], value)
        elif value is None and key in out:
            del out[key]
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("case", list(BAD))
def test_each_invalid_field_is_named_with_its_path(case):
    patch, expected = BAD[case]
    errors = _errors(_merge(sma_cross_config(), patch))
    assert any(e.startswith(expected) for e in errors), errors
    assert len(errors) == 1, errors


def test_every_problem_is_reported_at_once():
    doc = _merge(sma_cross_config(), {"execution": {"fill": "vwap", "slippage": -1}, "ga": {"seed": -3}})
    errors = _errors(doc)
    assert {e.split(":")[0] for e in errors} == {"execution.fill", "execution.slippage", "ga.seed"}


def test_not_an_object_and_missing_sections():
    assert _errors([1, 2]) == ["configuration: must be an object, not a list"]
    assert _errors({"name": "x"}) == ["data: is required", "strategy: is required"]


def test_fixed_range_is_a_fixed_value():
    config = parse(sma_cross_config({"min": 7, "max": 7, "type": "int"}, 60))
    assert config.genes == ()
    assert build_strategy(config, {}).signals[0].params


def test_check_params_names_what_is_wrong():
    config = parse(_one_range({"min": 5, "max": 50, "type": "int"}))
    with pytest.raises(ConfigError, match=r"strategy\.signals\.up\.params\.fast"):
        check_params(config, {})
    with pytest.raises(ConfigError, match=r"strategy\.signals\.up\.params\.fast"):
        check_params(config, {"strategy.signals.up.params.fast": 80})
    with pytest.raises(ConfigError, match="nope"):
        check_params(config, {"strategy.signals.up.params.fast": 10, "nope": 1})


def test_incompatible_timeframe_and_end_of_day_are_rejected_by_the_engine(goog_market):
    doc = sma_cross_config(5, 20, end_of_day=True)
    doc["strategy"]["signals"]["up"]["timeframe"] = "1h"
    with pytest.raises(ConfigError) as info:
        Engine(parse(doc), goog_market)
    text = " ".join(info.value.details)
    assert "strategy.signals.up.timeframe: 1h is shorter than the data's bars (1d)" in text
    assert "strategy.end_of_day" in text


def test_short_and_both_directions_through_the_engine(goog_market):
    market = goog_market
    short = Engine(parse(sma_cross_config(10, 30, direction="short")), market).evaluate({}).to_dict()
    assert short["total_trades"] > 10 and {t["side"] for t in short["trades"]} == {"short"}
    # A short opens on the entry rule (an up-cross here) and closes on the exit rule.
    long_ = Engine(parse(sma_cross_config(10, 30)), market).evaluate({}).to_dict()
    assert [t["entry_time"] for t in short["trades"]] == [t["entry_time"] for t in long_["trades"]]
    doc = sma_cross_config(10, 30, direction="both")
    doc["strategy"]["entry_short"] = {"weights": {"down": 1.0}, "threshold": 1.0}
    doc["strategy"]["exit_short"] = {"weights": {"up": 1.0}, "threshold": 1.0}
    both = Engine(parse(doc), market).evaluate({}).to_dict()
    sides = [t["side"] for t in both["trades"]]
    assert sides.count("long") > 5 and sides.count("short") > 5
    with pytest.raises(ConfigError, match="entry_short"):
        parse(sma_cross_config(10, 30, direction="both"))


def test_a_normalized_config_parses_to_itself():
    doc = sma_cross_config({"min": 3, "max": 9, "type": "int"}, 40, stop_loss={"min": 0.01, "max": 0.02})
    doc["split"] = {"test_fraction": 0.25}
    raw = parse(doc).raw
    again = parse(raw)
    assert again.raw == raw
    assert again.genes == parse(doc).genes


def test_a_generation_decodes_at_once_to_the_same_parameters():
    """`decode_keys` (the optimizer's parameter cache keys, a generation at a time)
    gives exactly `decode`'s numbers and types, also at the bounds and past them."""
    import random

    config = parse(sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"},
                                    stop_loss={"min": 0.002, "max": 0.05}))  # fmt: skip
    n = len(config.genes)
    rng = random.Random(5)
    rows = [[rng.random() for _ in range(n)] for _ in range(5000)]
    rows += [[0.0] * n, [1.0] * n, ([-0.5, 1.5] * n)[:n], [0.5 + 1e-12] * n, [0.5 - 1e-12] * n]
    for row, key in zip(rows, decode_keys(config, rows), strict=True):
        expected = tuple(decode(config, row).values())
        assert key == expected and list(map(type, key)) == list(map(type, expected)), (row, key, expected)
    assert decode_keys(config, []) == []
    with pytest.raises(ValueError, match="genes"):
        decode_keys(config, [[0.5] * (n + 1)])


def test_errors_are_worded_for_the_person_editing_the_json():
    doc = _merge(sma_cross_config(), {
        "strategy": {"stop_loss": "0.1", "take_profit": {"min": 0.1, "max": 0.2, "type": "float64"},
                     "signals": {"up": {"params": {"fast": 2.5}}, "down": {"kind": "sma_crossup"}}},
        "ga": {"populaton": 10, "stall_generations": 0},
        "objectives": [{"metric": "sharpe"}],
    })  # fmt: skip
    assert _errors(doc) == [
        "strategy.signals.up.params.fast: 2.5 is not an integer",
        'strategy.signals.down.kind: "sma_crossup" is not a signal kind (' + ", ".join(sorted(SIGNAL_KINDS)) + ")",
        'strategy.stop_loss: must be a number or a range {"min", "max"} or null, not the string "0.1"',
        'strategy.take_profit.type: "float64" is not one of int, float',
        "objectives.0.goal: is required",
        "ga.stall_generations: 0 must be at least 1",
        "ga.populaton: unknown field (allowed: " + ", ".join(GA_DEFAULTS) + ")",
    ]
    assert not any("Input should" in line or "~" in line for line in _errors(_merge(doc, {"workers": [1]})))


def test_typed_access_matches_the_normalized_json():
    doc = sma_cross_config({"min": 3, "max": 9, "type": "int"}, 40, stop_loss={"min": 0.01, "max": 0.02})
    doc["ga"] = {"population": 20, "min_trades": 5}
    doc["split"] = {"test_from": "2020-01-01"}
    config = parse(doc)
    assert (config.ga.population, config.ga.min_trades, config.ga.seed) == (20, 5, 0)
    assert config.data.path == doc["data"]["path"] and config.data.dataset is None
    up = config.strategy.signals["up"]
    assert (up.kind, up.timeframe, up.candles, up.params.slow) == ("sma_cross_up", None, "normal", 40)
    assert is_range(up.params.fast) and (up.params.fast.min, up.params.fast.max, up.params.fast.type) == (3, 9, "int")
    assert config.strategy.entry.weights == {"up": 1.0} and config.strategy.exit_short is None
    assert [(o.metric, o.goal) for o in config.objectives] == [("total_return_pct", "max")]
    assert config.split.test_from == "2020-01-01" and config.split.test_fraction is None
    assert config.execution.fill == "next_open" and config.workers == 0 and config.name == "sma cross"
    with pytest.raises(ValidationError):
        config.ga.population = 3  # frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.genes = ()


def test_a_config_pickles_as_its_json_and_rebuilds_its_typed_view():
    config = parse(sma_cross_config({"min": 3, "max": 9, "type": "int"}, 40))
    again = pickle.loads(pickle.dumps(config))
    assert again == config and again.raw == config.raw and again.genes == config.genes
    assert "settings" not in again.__dict__  # rebuilt on first use
    assert again.strategy.signals["up"].params.slow == 40 and "settings" in again.__dict__


def test_a_signal_kind_registered_after_import_is_validated_and_in_the_schema():
    name = "late_test_kind"
    level = Param("level", False, 0.0, 10.0, "a level, 0..10")
    register_signal_kind(SignalKind(name, (level,), False, "registered late", lambda src, p: None))
    try:
        doc = sma_cross_config()
        doc["strategy"]["signals"]["late"] = {"kind": name, "params": {"level": {"min": 1.0, "max": 5.0}}}
        assert parse(doc).gene_names == ("strategy.signals.late.params.level",)
        doc["strategy"]["signals"]["late"]["params"]["level"] = 11.0
        assert _errors(doc) == ["strategy.signals.late.params.level: 11 must be at most 10"]
        schema = config_schema()
        branches = schema["$defs"]["Strategy"]["properties"]["signals"]["additionalProperties"]["oneOf"]
        assert {"$ref": "#/$defs/LateTestKindSignal"} in branches
        assert schema["$defs"]["LateTestKindSignal"]["properties"]["kind"]["const"] == name
    finally:
        del SIGNAL_KINDS[name]
    assert any(e.startswith("strategy.signals.late.kind:") for e in _errors(doc))


def test_one_decoder_for_a_gene_a_vector_and_a_generation():
    config = parse(sma_cross_config({"min": 3, "max": 30, "type": "int"}, 60, stop_loss={"min": 0.002, "max": 0.05}))
    rows = [(0.0, 0.3, 0.7), (1.0, -2.0, 3.0), (0.5, 0.5, 0.5)]
    for row in rows:
        by_gene = tuple(gene.from_unit(u) for gene, u in zip(config.genes, row, strict=True))
        assert by_gene == tuple(decode(config, row).values()) == tuple(config.decoder.values(row))
    assert decode_keys(config, rows) == [tuple(decode(config, row).values()) for row in rows]
    with pytest.raises(ValueError, match="expected 3 genes, got 2"):
        decode(config, (0.5, 0.5))
