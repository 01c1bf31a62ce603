"""A dataset ready for backtests: base candles plus the derived series they need.

`MarketData` derives higher timeframes, Heiken-Ashi candles, visibility indices
and per-bar calendar flags once, on demand, and keeps them for every individual
evaluated on it. Only the base arrays need to cross process boundaries.
"""

from __future__ import annotations

import hashlib

import numpy as np

from optimizer.data.candles import Candles
from optimizer.data.timeframes import aggregate, heiken_ashi, visible_index

NS_PER_DAY = 86400 * 1_000_000_000
CANDLE_TYPES = ("normal", "heiken_ashi")


class MarketData:
    """Base candles and lazily derived views of them (per timeframe and candle type)."""

    def __init__(self, candles: Candles) -> None:
        self.candles = candles
        self._views: dict[tuple[int, str], Candles] = {}
        self._visible: dict[int, np.ndarray] = {}
        self._day_end: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.candles)

    @property
    def bar_ns(self) -> int:
        """The base bar size in nanoseconds."""
        return self.candles.bar_ns

    def view(self, tf_ns: int | None, candle_type: str = "normal") -> Candles:
        """The candles of timeframe ``tf_ns`` (None: the base bars) of a candle type."""
        tf = self.bar_ns if tf_ns is None else tf_ns
        key = (tf, candle_type)
        found = self._views.get(key)
        if found is None:
            if candle_type == "heiken_ashi":
                found = heiken_ashi(self.view(tf, "normal"))
            elif candle_type == "normal":
                found = aggregate(self.candles, tf)
            else:
                raise ValueError(f"unknown candle type {candle_type!r}; expected one of {', '.join(CANDLE_TYPES)}")
            self._views[key] = found
        return found

    def visible(self, tf_ns: int | None) -> np.ndarray | None:
        """Per base bar, the index of the last closed candle of ``tf_ns``; None for
        the base timeframe itself (every bar sees itself)."""
        if tf_ns is None or tf_ns == self.bar_ns:
            return None
        found = self._visible.get(tf_ns)
        if found is None:
            found = visible_index(self.candles, self.view(tf_ns))
            self._visible[tf_ns] = found
        return found

    @property
    def day_end(self) -> np.ndarray:
        """True on the last bar of each UTC calendar day present in the data."""
        if self._day_end is None:
            day = np.floor_divide(self.candles.time, NS_PER_DAY)
            self._day_end = np.r_[day[1:] != day[:-1], True]
        return self._day_end

    @property
    def is_intraday(self) -> bool:
        """Whether the base bars are shorter than a day."""
        return self.bar_ns < NS_PER_DAY

    def market_return_pct(self) -> float:
        """Buy-and-hold return from the first close to the last close, in percent."""
        close = self.candles.close
        return float((close[-1] / close[0] - 1.0) * 100.0)

    def fingerprint(self) -> str:
        """A SHA-256 of the base arrays and bar size: the dataset's identity."""
        digest = hashlib.sha256()
        digest.update(str(self.bar_ns).encode())
        for array in self.candles.to_arrays().values():
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def slice(self, start: int, stop: int) -> MarketData:
        """The market data of bars ``start:stop`` only."""
        return MarketData(self.candles.slice(start, stop))
