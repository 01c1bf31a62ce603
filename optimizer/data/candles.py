"""OHLCV candles held as contiguous numpy arrays.

Times are int64 nanoseconds since the Unix epoch, UTC, and label each bar by the
moment it opens; a bar closes ``bar_ns`` later. Prices are float64 in the data's
own currency, volume float64 in the data's own unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NS_PER_SECOND = 1_000_000_000
FIELDS = ("time", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, eq=False)
class Candles:
    """A series of candles of one bar size.

    ``time`` is int64 (ns since epoch, bar open time, strictly increasing); the
    price and volume columns are float64; all arrays are C-contiguous and of the
    same length. ``bar_ns`` is the bar duration in nanoseconds.
    """

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bar_ns: int

    def __post_init__(self) -> None:
        n = len(self.time)
        for name in FIELDS:
            array = getattr(self, name)
            dtype = np.int64 if name == "time" else np.float64
            if array.dtype != dtype or not array.flags.c_contiguous or len(array) != n:
                object.__setattr__(self, name, np.ascontiguousarray(array, dtype=dtype))
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(array)} values, time has {n}")

    def __len__(self) -> int:
        return len(self.time)

    @property
    def close_time(self) -> np.ndarray:
        """Each bar's close time (ns since epoch): its open time plus ``bar_ns``."""
        return self.time + self.bar_ns

    def slice(self, start: int, stop: int) -> Candles:
        """The candles ``start:stop``: views of these arrays (contiguous, no copy)."""
        return Candles(*(getattr(self, name)[start:stop] for name in FIELDS), bar_ns=self.bar_ns)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays by name (for shared memory or pickling); see `from_arrays`."""
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], bar_ns: int) -> Candles:
        """Rebuild candles from `to_arrays` output and the bar size in ns."""
        return cls(*(arrays[name] for name in FIELDS), bar_ns=int(bar_ns))

    @property
    def span_years(self) -> float:
        """Time from the first bar's open to the last bar's close, in years of 365.25 days."""
        if len(self) == 0:
            return 0.0
        span_ns = int(self.time[-1]) + self.bar_ns - int(self.time[0])
        return span_ns / (365.25 * 86400 * NS_PER_SECOND)


def infer_bar_ns(time: np.ndarray) -> int:
    """The data's bar size in ns: the most common gap between consecutive times.

    Gaps (weekends, missing minutes) are longer than the bar and lose the vote;
    ties go to the shortest gap.
    """
    if len(time) < 2:
        raise ValueError("need at least 2 timestamps to infer the bar size")
    diffs = np.diff(time)
    values, counts = np.unique(diffs, return_counts=True)
    return int(values[np.argmax(counts)])
