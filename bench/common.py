"""Shared pieces of the benchmarks: real-returns datasets of any length, timing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.data import Candles, load_candles

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def tiled_candles(bars: int, source: Path = DATA / "EURUSD-1h.csv") -> Candles:
    """``bars`` candles made of a real file's bars, repeated.

    Each bar keeps its real shape (open, high and low relative to its close, and
    the close-to-close return); the closes are chained so the price path is
    continuous. Times are consecutive bars of the file's bar size.
    """
    base = load_candles(source)
    reps = -(-bars // len(base))
    prev = np.r_[base.close[0], base.close[:-1]]
    ret = np.tile(base.close / prev, reps)[:bars]
    ret[0] = 1.0
    close = base.close[0] * np.cumprod(ret)
    ratio = {name: np.tile(getattr(base, name) / base.close, reps)[:bars] for name in ("open", "high", "low")}
    time_ = base.time[0] + np.arange(bars, dtype=np.int64) * base.bar_ns
    volume = np.tile(base.volume, reps)[:bars]
    return Candles(time_, close * ratio["open"], close * ratio["high"], close * ratio["low"], close, volume,
                   bar_ns=base.bar_ns)  # fmt: skip


def sma_cross_config(fast: Any, slow: Any, data: str, **strategy: Any) -> dict:
    """A long-only SMA-cross run configuration (fixed values or ranges) on ``data``."""
    return {
        "name": "bench",
        "data": {"path": data},
        "strategy": {
            "signals": {
                "up": {"kind": "sma_cross_up", "params": {"fast": fast, "slow": slow}},
                "down": {"kind": "sma_cross_down", "params": {"fast": fast, "slow": slow}},
            },
            "entry": {"weights": {"up": 1.0}, "threshold": 1.0},
            "exit": {"weights": {"down": 1.0}, "threshold": 1.0},
            **strategy,
        },
    }


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The median wall time of ``repeat`` calls, in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], object]], repeat: int = 5) -> dict[str, float]:
    """The median wall time of ``repeat`` calls of each of ``fns``, in seconds, the
    calls taken in turn (one of each, then again), so that the machine's drift
    during the measurement weighs on each alike (after one warm-up call each)."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
