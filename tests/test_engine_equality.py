"""The fast evaluation path against the straightforward one (issue 18).

`Engine.evaluate` (the per-run compiled plan, statistics in the kernel's pass)
and `optimizer.reference_eval.reference_evaluate` (the previous implementation,
kept unchanged) evaluate the same random parameter sets of each configuration
on the bundled data; every statistic must agree: integers and times exactly,
floats to 1e-12 relative (NaN/None alike), trades, equity points, histograms,
block sums and fitness included, and failures with the same error.

The configurations are the example file and ones that reach every branch the
kernel has: both directions and shorts, stops of every kind, ``max_bars``,
``fill: "close"`` with ``end_of_day``, slippage, partial positions, higher
timeframes and Heiken-Ashi, daily bars in sessions, a test window (history
before it) and a training window (bars after it), one shorter than the equity's
points, with and without block sums.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optimizer.config import parse_config
from optimizer.engine import Engine
from optimizer.reference_eval import reference_evaluate
from optimizer.stats import IndividualStats
from optimizer.stats_codec import FIELDS, Group
from optimizer.strategy import decode
from tests.conftest import BTC, EURUSD, GOOG, ROOT, market_of
from tests.plugins import graded  # noqa: F401  # registers close_rank

RTOL = 1e-12


def _rng(low: float, high: float, kind: str = "float") -> dict:
    return {"min": low, "max": high, "type": kind}


def _example(path: Path) -> tuple[dict, Path]:
    doc = json.loads(path.read_text())
    return doc, (path.parent / doc["data"]["path"]).resolve()


BOTH = {
    "name": "both ways, every stop",
    "data": {"path": str(EURUSD)},
    "strategy": {
        "direction": "both",
        "signals": {
            "up": {"kind": "ema_cross_up", "params": {"fast": _rng(3, 20, "int"), "slow": _rng(21, 80, "int")}},
            "down": {"kind": "ema_cross_down", "params": {"fast": _rng(3, 20, "int"), "slow": _rng(21, 80, "int")}},
            "low": {"kind": "rsi_below", "params": {"period": _rng(5, 30, "int"), "level": _rng(20.0, 45.0)}},
            "high": {"kind": "rsi_above", "params": {"period": 14, "level": _rng(55.0, 80.0)}},
            "band": {"kind": "bollinger_below_lower", "params": {"period": _rng(10, 40, "int"), "std": _rng(1.0, 3.0)}},
        },
        "entry": {"weights": {"up": 1.0, "low": _rng(0.0, 1.0), "band": _rng(0.0, 1.0)}, "threshold": _rng(0.2, 1.0)},
        "exit": {"weights": {"down": 1.0, "high": _rng(0.0, 1.0)}, "threshold": _rng(0.3, 1.0)},
        "entry_short": {"weights": {"down": 1.0, "high": _rng(0.0, 1.0)}, "threshold": _rng(0.2, 1.0)},
        "exit_short": {"weights": {"up": 1.0, "low": 0.5}, "threshold": 0.5},
        "stop_loss": _rng(0.001, 0.03),
        "take_profit": _rng(0.002, 0.05),
        "trailing_stop": _rng(0.001, 0.02),
        "trailing_activation": _rng(0.0, 0.01),
        "max_bars": _rng(1, 200, "int"),
    },
    "execution": {"fill": "next_open", "commission": _rng(0.0, 0.002), "slippage": _rng(0.0, 0.003),
                  "position_fraction": _rng(0.1, 1.0)},
    "robustness": {"enabled": True, "blocks": 16},
}  # fmt: skip

INTRADAY_SHORT = {
    "name": "short, fill at the close, end of day",
    "data": {"path": str(BTC)},
    "strategy": {
        "direction": "short",
        "signals": {
            "fall": {"kind": "sma_cross_down", "timeframe": "5m", "candles": "heiken_ashi",
                     "params": {"fast": _rng(2, 10, "int"), "slow": _rng(11, 40, "int")}},
            "rise": {"kind": "breakout_up", "params": {"period": _rng(5, 60, "int")}},
            "trend": {"kind": "adx_above", "timeframe": "15m", "params": {"period": 14, "level": _rng(10.0, 40.0)}},
            "under": {"kind": "ema_below", "params": {"period": _rng(5, 100, "int")}},
        },
        "entry": {"weights": {"fall": 1.0, "trend": _rng(0.0, 1.0), "under": _rng(0.0, 1.0)},
                  "threshold": _rng(0.3, 1.0)},
        "exit": {"weights": {"rise": 1.0}, "threshold": 1.0},
        "stop_loss": _rng(0.0005, 0.01),
        "take_profit": _rng(0.0005, 0.02),
        "max_bars": _rng(1, 120, "int"),
        "end_of_day": True,
    },
    "execution": {"fill": "close", "commission": 0.0004, "slippage": _rng(0.0, 0.0005),
                  "position_fraction": 1.0},
    "robustness": {"enabled": True, "blocks": 4},
}  # fmt: skip

DAILY_SESSIONS = {
    "name": "daily bars in sessions, weekly filter",
    "data": {"path": str(GOOG)},
    "strategy": {
        "direction": "long",
        "signals": {
            "macd": {"kind": "macd_cross_up", "params": {"fast": _rng(5, 15, "int"), "slow": _rng(16, 40, "int"),
                                                         "signal": _rng(3, 12, "int")}},
            "macd_down": {"kind": "macd_cross_down", "params": {"fast": 12, "slow": 26, "signal": 9}},
            "weekly": {"kind": "sma_above", "timeframe": "1w", "params": {"period": _rng(2, 20, "int")}},
            "flat": {"kind": "adx_below", "params": {"period": _rng(7, 30, "int"), "level": _rng(15.0, 40.0)}},
            "dip": {"kind": "bollinger_above_upper", "params": {"period": 20, "std": _rng(0.5, 2.5)}},
            "low": {"kind": "breakout_down", "params": {"period": _rng(5, 50, "int")}},
        },
        "entry": {"weights": {"macd": 1.0, "weekly": _rng(0.0, 2.0), "flat": _rng(0.0, 1.0)},
                  "threshold": _rng(0.1, 1.0)},
        "exit": {"weights": {"macd_down": _rng(0.0, 1.0), "dip": _rng(0.0, 1.0), "low": 1.0},
                 "threshold": _rng(0.0, 1.0)},
        "stop_loss": _rng(0.001, 0.2),
        "trailing_stop": _rng(0.01, 0.3),
        "trailing_activation": _rng(0.0, 0.2),
    },
    "execution": {"fill": "next_open", "commission": _rng(0.0, 0.01), "slippage": _rng(0.0, 0.02),
                  "position_fraction": _rng(0.2, 1.0), "trading_days": 252},
    "robustness": {"enabled": False},
}  # fmt: skip


# A plugin's fractional float values (`tests.plugins.graded`) beside built-in 0/1 bytes: a rule that mixes
# them (made float64 per evaluation), one of the plugin's alone (on a higher timeframe too), one of bytes alone.
MIXED_KINDS = {
    "name": "a plugin's fractions and built-in bytes",
    "data": {"path": str(EURUSD)},
    "strategy": {
        "direction": "both",
        "signals": {
            "up": {"kind": "sma_cross_up", "params": {"fast": _rng(3, 20, "int"), "slow": _rng(21, 80, "int")}},
            "down": {"kind": "sma_cross_down", "params": {"fast": 10, "slow": _rng(21, 80, "int")}},
            "rank": {"kind": "close_rank", "params": {"period": _rng(2, 40, "int")}},
            "rank_4h": {"kind": "close_rank", "timeframe": "4h", "params": {"period": _rng(2, 20, "int")}},
        },
        "entry": {"weights": {"up": _rng(0.0, 1.0), "rank": _rng(0.0, 1.0)}, "threshold": _rng(0.1, 0.9)},
        "exit": {"weights": {"down": 1.0}, "threshold": 1.0},
        "entry_short": {"weights": {"rank": 1.0, "rank_4h": _rng(0.0, 1.0)}, "threshold": _rng(0.0, 0.3)},
        "exit_short": {"weights": {"up": 1.0, "rank_4h": 1.0}, "threshold": _rng(0.3, 0.9)},
        "stop_loss": _rng(0.001, 0.03),
    },
    "execution": {"commission": 0.0002},
    "robustness": {"enabled": True, "blocks": 8},
}  # fmt: skip

# Fixed weights summing to 0: a rule that never fires (the plan drops it once, not per evaluation).
NEVER_SHORT_EXIT = copy.deepcopy(BOTH)
NEVER_SHORT_EXIT["strategy"]["exit_short"] = {"weights": {"up": 0.0, "low": 0.0}, "threshold": 0.5}


def _cases() -> list[tuple[str, dict, Path, tuple[float, float] | None]]:
    """(name, configuration, data file, window as fractions of the bars or None)."""
    cases = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        if "strategy" in json.loads(path.read_text()):  # a configuration, not a parameters file
            cases.append((path.stem, *_example(path), None))
    cases += [
        ("both", BOTH, EURUSD, None),
        ("both-test-window", BOTH, EURUSD, (0.6, 1.0)),
        ("both-400-bars", BOTH, EURUSD, (0.5, 0.58)),  # fewer bars than equity points: every bar is a point
        ("never-exit-short", NEVER_SHORT_EXIT, EURUSD, None),
        ("mixed-kinds", MIXED_KINDS, EURUSD, None),
        ("intraday-short", INTRADAY_SHORT, BTC, None),
        ("intraday-train-window", INTRADAY_SHORT, BTC, (0.0, 0.7)),
        ("daily-sessions", DAILY_SESSIONS, GOOG, None),
    ]
    return cases


CASES = _cases()


def _engine(doc: dict, data: Path, window: tuple[float, float] | None) -> Engine:
    market = market_of(data)
    start, stop = 0, len(market)
    if window is not None:
        start, stop = int(window[0] * len(market)), int(window[1] * len(market))
    return Engine(parse_config(copy.deepcopy(doc)), market, start=start, stop=stop)


def _outcome(evaluate: Any, params: dict) -> IndividualStats | str:
    try:
        return evaluate(params)
    except Exception as exc:  # compared as text: both paths must fail alike
        return f"{type(exc).__name__}: {exc}"


def _same_float(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= RTOL * max(abs(a), abs(b))


def differences(new: IndividualStats, old: IndividualStats) -> list[str]:
    """Every field on which ``new`` and ``old`` differ (beyond `RTOL` for floats)."""
    problems = []
    for f in FIELDS:
        a, b = getattr(new, f.name), getattr(old, f.name)
        if f.group is Group.HEAD:
            if f.name == "fitness":
                same = len(a) == len(b) and all(_same_float(x, y) for x, y in zip(a, b, strict=True))
            else:
                same = a == b
        elif f.group is Group.SCALAR:
            if f.dtype.kind == "i":
                same = (a is None and b is None) or (a is not None and b is not None and int(a) == int(b))
            else:
                same = _same_float(a, b)
        else:
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape:
                same = False
            elif f.dtype.kind == "f":
                same = bool(np.all((a == b) | np.isclose(a, b, rtol=RTOL, atol=0.0) | (np.isnan(a) & np.isnan(b))))
            else:
                same = bool(np.array_equal(a, b))
        if not same:
            problems.append(f"{f.name}: {str(a)[:300]} != {str(b)[:300]}")
    return problems


def _compare(case: tuple, count: int, seed: int) -> int:
    name, doc, data, window = case
    engine = _engine(doc, data, window)
    reference = _engine(doc, data, window)  # its own cache: nothing computed by one path reaches the other
    genes = len(engine.config.genes)
    rng = np.random.default_rng(seed)
    rows = rng.random((count, genes))
    rows[: min(count, 4)] = np.array([0.0, 1.0, 0.5, 0.25])[: min(count, 4), None]  # the ends of every range
    traded = 0
    for row in rows:
        params = decode(engine.config, row)
        new, old = _outcome(engine.evaluate, params), _outcome(lambda p: reference_evaluate(reference, p), params)
        if isinstance(new, str) or isinstance(old, str):
            short = [v if isinstance(v, str) else "statistics" for v in (new, old)]
            assert new == old, f"{name} {params}: {short[0]} (new) vs {short[1]} (reference)"
            continue
        problems = differences(new, old)
        assert not problems, f"{name} {params}:\n" + "\n".join(problems[:10])
        traded += new.total_trades > 0
    return traded


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_few_parameter_sets_give_the_reference_statistics(case):
    assert _compare(case, 40, seed=1) > 0  # some of them trade: the comparison saw trades


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_2000_random_parameter_sets_give_the_reference_statistics(case):
    assert _compare(case, 2000, seed=18) > 100
