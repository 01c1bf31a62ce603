"""Market data: loading and validation, higher timeframes, Heiken-Ashi, alignment."""

from optimizer.data.candles import Candles, infer_bar_ns
from optimizer.data.loader import candles_from_frame, load_candles
from optimizer.data.market import MarketData
from optimizer.data.timeframes import aggregate, format_timeframe, heiken_ashi, parse_timeframe, visible_index

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
