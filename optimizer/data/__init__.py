"""Market data: loading and validation, higher timeframes, Heiken-Ashi, alignment."""

from __future__ import annotations

from typing import Any

from optimizer.data.candles import Candles, infer_bar_ns
from optimizer.data.market import MarketData
from optimizer.data.timeframes import aggregate, format_timeframe, heiken_ashi, parse_timeframe, visible_index


def __getattr__(name: str) -> Any:
    """The loader's names, imported on first use: it brings pandas (most of a second
    of each worker's start), and a worker gets its candles from the run, not a file."""
    if name in ("candles_from_frame", "load_candles"):
        from optimizer.data import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Candles",
    "MarketData",
    "aggregate",
    "candles_from_frame",
    "format_timeframe",
    "heiken_ashi",
    "infer_bar_ns",
    "load_candles",
    "parse_timeframe",
    "visible_index",
]
