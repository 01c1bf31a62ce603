"""Shared fixtures and helpers: real data files and configurations built in code.

Fixtures: the bundled files' candles (session), fresh markets over them and a
real run's statistics (session). Importable helpers, for what a fixture cannot
be: paths of the bundled files (parametrize over them), `candles_of` and
`market_of` for a path chosen by a parameter or inside a helper, and builders
that take arguments (`sma_cross_config`, `parse`, `make_candles`, `write_json`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optimizer.config import RunConfig, parse_config
from optimizer.data import Candles, MarketData, load_candles
from optimizer.stats import IndividualStats

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EURUSD = DATA / "EURUSD-1h.csv"
GOOG = DATA / "GOOG-1d.csv"
BTC = DATA / "BTC-1m.csv"

_cache: dict[Path, Candles] = {}


def candles_of(path: Path) -> Candles:
    """A bundled data file's candles (loaded once per session; never mutated)."""
    if path not in _cache:
        _cache[path] = load_candles(path)
    return _cache[path]


def market_of(path: Path) -> MarketData:
    """A fresh MarketData over a bundled data file."""
    return MarketData(candles_of(path))


def sma_cross_config(
    fast: Any = 10,
    slow: Any = 30,
    *,
    execution: dict | None = None,
    objectives: list | None = None,
    **strategy: Any,
) -> dict:
    """A long-only SMA-cross configuration (JSON object) with extra strategy fields."""
    doc = {
        "name": "sma cross",
        "data": {"path": str(EURUSD)},
        "strategy": {
            "direction": "long",
            "signals": {
                "up": {"kind": "sma_cross_up", "params": {"fast": fast, "slow": slow}},
                "down": {"kind": "sma_cross_down", "params": {"fast": fast, "slow": slow}},
            },
            "entry": {"weights": {"up": 1.0}, "threshold": 1.0},
            "exit": {"weights": {"down": 1.0}, "threshold": 1.0},
            **strategy,
        },
        "execution": execution or {},
    }
    if objectives is not None:
        doc["objectives"] = objectives
    return doc


def parse(doc: dict) -> RunConfig:
    return parse_config(copy.deepcopy(doc))


def make_candles(
    open_: list[float] | np.ndarray,
    high: list[float] | np.ndarray,
    low: list[float] | np.ndarray,
    close: list[float] | np.ndarray,
    *,
    bar_seconds: int = 3600,
    start: str = "2024-01-01T00:00:00",
) -> Candles:
    """Candles at a regular bar size from explicit price lists."""
    n = len(close)
    t0 = np.datetime64(start, "ns").astype(np.int64)
    time = t0 + np.arange(n, dtype=np.int64) * bar_seconds * 1_000_000_000
    return Candles(time, np.asarray(open_, float), np.asarray(high, float), np.asarray(low, float),
                   np.asarray(close, float), np.zeros(n), bar_ns=bar_seconds * 1_000_000_000)  # fmt: skip


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="session")
def eurusd_candles() -> Candles:
    """The bundled hourly EURUSD candles (shared: never mutate them)."""
    return candles_of(EURUSD)


@pytest.fixture(scope="session")
def goog_candles() -> Candles:
    """The bundled daily GOOG candles (shared: never mutate them)."""
    return candles_of(GOOG)


@pytest.fixture(scope="session")
def btc_candles() -> Candles:
    """The bundled one-minute BTC candles (shared: never mutate them)."""
    return candles_of(BTC)


@pytest.fixture
def eurusd_market(eurusd_candles: Candles) -> MarketData:
    """A fresh MarketData (empty view caches) over the EURUSD candles."""
    return MarketData(eurusd_candles)


@pytest.fixture
def goog_market(goog_candles: Candles) -> MarketData:
    """A fresh MarketData (empty view caches) over the GOOG candles."""
    return MarketData(goog_candles)


@pytest.fixture(scope="session")
def eurusd_stats() -> IndividualStats:
    """Statistics of a real SMA-cross backtest on EURUSD with stops and commission
    (over 50 trades); shared by the session: copy before changing."""
    from optimizer.engine import Engine

    doc = sma_cross_config(5, 30, stop_loss=0.004, take_profit=0.01, execution={"commission": 0.0002})
    return Engine(parse(doc), market_of(EURUSD)).evaluate({})
