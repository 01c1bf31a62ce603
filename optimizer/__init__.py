"""The compute core as a library (no web code): configurations, market data, the
engine, the genetic optimizer and its executors.

    from optimizer import load_config, load_candles, MarketData, Engine, prepare_run

Names are imported on first use, so ``import optimizer`` stays cheap (worker
processes import only what they evaluate with).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ConfigError": "optimizer.errors",
    "DataError": "optimizer.errors",
    "InputError": "optimizer.errors",
    "RunConfig": "optimizer.config",
    "load_config": "optimizer.config",
    "parse_config": "optimizer.config",
    "config_schema": "optimizer.schema",
    "Candles": "optimizer.data",
    "MarketData": "optimizer.data",
    "load_candles": "optimizer.data",
    "Engine": "optimizer.engine",
    "IndividualStats": "optimizer.stats",
    "Optimizer": "optimizer.ga",
    "GenerationEvent": "optimizer.events",
    "make_executor": "optimizer.evaluation",
    "prepare_run": "optimizer.prepare",
    "PreparedRun": "optimizer.prepare",
    "register_signal_kind": "optimizer.signals",
    "main": "optimizer.cli",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
