"""Signal kinds: what each one means, its parameters, and how it is computed.

A signal's value on each bar is in [0, 1], evaluated at the bar's close. The
kinds here are 0 or 1 and held as uint8 (a byte a bar: a worker's cache holds
eight times as many as of float64, and the kernel reads an eighth of the
memory); a plugin's values, whatever it returns, are held as float64. A signal
on a higher timeframe is computed on that timeframe's candles and seen on a base bar only once its candle has closed:
a *state* (price above its SMA) holds until the next higher candle closes; an
*event* (a cross) fires on the first base bar that sees it, once (after a gap in
the base bars, a bar that sees several new candles fires an event of any of them).

`SIGNAL_KINDS` is the registry that configuration validation, the JSON Schema
and the engine all read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from optimizer import indicators as ind
from optimizer.cache import ArrayCache
from optimizer.data.market import MarketData


@dataclass(frozen=True)
class Param:
    """One parameter of a signal kind: integer or real, with inclusive bounds."""

    name: str
    integer: bool
    low: float
    high: float | None
    doc: str
    low_open: bool = False


@dataclass(frozen=True)
class SignalKind:
    """A named signal: its parameters, whether it is an event, and its formula."""

    name: str
    params: tuple[Param, ...]
    event: bool
    doc: str
    compute: Callable[[IndicatorSource, dict[str, float]], np.ndarray]


def _period(name: str = "period", doc: str = "look-back in bars of the signal's timeframe") -> Param:
    return Param(name, True, 1, None, doc)


def _level(doc: str) -> Param:
    return Param("level", False, 0.0, 100.0, doc)


class IndicatorSource:
    """Indicators of one (timeframe, candle type) view of a dataset, cached."""

    def __init__(self, market: MarketData, tf_ns: int | None, candle_type: str, cache: ArrayCache) -> None:
        self.candles = market.view(tf_ns, candle_type)
        self._key = (tf_ns or market.bar_ns, candle_type)
        self._cache = cache

    def _get(self, name: str, params: tuple, compute: Callable[[], object]) -> object:
        return self._cache.get(("indicator", name, params, *self._key), compute)

    def sma(self, period: int) -> np.ndarray:
        return self._get("sma", (period,), lambda: ind.sma(self.candles.close, period))

    def ema(self, period: int) -> np.ndarray:
        return self._get("ema", (period,), lambda: ind.ema(self.candles.close, period))

    def rsi(self, period: int) -> np.ndarray:
        return self._get("rsi", (period,), lambda: ind.rsi(self.candles.close, period))

    def macd(self, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._get("macd", (fast, slow, signal), lambda: ind.macd(self.candles.close, fast, slow, signal))

    def bollinger(self, period: int, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._get("bollinger", (period, width), lambda: ind.bollinger(self.candles.close, period, width))

    def adx(self, period: int) -> np.ndarray:
        c = self.candles
        return self._get("adx", (period,), lambda: ind.adx(c.high, c.low, c.close, period))

    def prior_high(self, period: int) -> np.ndarray:
        return self._get("prior_high", (period,), lambda: ind.prior_max(self.candles.high, period))

    def prior_low(self, period: int) -> np.ndarray:
        return self._get("prior_low", (period,), lambda: ind.prior_min(self.candles.low, period))


@njit(cache=True)
def cross_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """1 where ``a[i-1] <= b[i-1] and a[i] > b[i]`` (all four defined), else 0 (uint8)."""
    n = len(a)
    out = np.zeros(n, np.uint8)
    for i in range(1, n):
        if a[i - 1] <= b[i - 1] and a[i] > b[i]:  # comparisons with NaN are False
            out[i] = 1
    return out


@njit(cache=True)
def above(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """1 where ``a[i] > b[i]`` (both defined), else 0 (uint8)."""
    n = len(a)
    out = np.zeros(n, np.uint8)
    for i in range(n):
        if a[i] > b[i]:
            out[i] = 1
    return out


@njit(cache=True)
def above_level(a: np.ndarray, level: float) -> np.ndarray:  # pragma: no cover - compiled
    """1 where ``a[i] > level`` (defined), else 0 (uint8)."""
    n = len(a)
    out = np.zeros(n, np.uint8)
    for i in range(n):
        if a[i] > level:
            out[i] = 1
    return out


@njit(cache=True)
def below_level(a: np.ndarray, level: float) -> np.ndarray:  # pragma: no cover - compiled
    """1 where ``a[i] < level`` (defined), else 0 (uint8)."""
    n = len(a)
    out = np.zeros(n, np.uint8)
    for i in range(n):
        if a[i] < level:
            out[i] = 1
    return out


@njit(cache=True)
def to_base(values: np.ndarray, visible: np.ndarray, event: bool) -> np.ndarray:  # pragma: no cover
    """Higher-timeframe signal values seen on each base bar.

    ``visible[i]`` is the last higher candle closed by base bar i (-1: none). A
    state holds the value of the last closed candle. An event fires on the first
    base bar that sees its candle, once: when a gap in the base bars makes several
    candles visible on one bar, that bar takes the largest of their values (an
    event of any of them fires there, once). The values keep their dtype.
    """
    n = len(visible)
    out = np.zeros(n, values.dtype)
    previous = -1
    for i in range(n):
        j = visible[i]
        if not event:
            if j >= 0:
                out[i] = values[j]
        else:
            value = out[i]  # 0 of the values' dtype
            for k in range(previous + 1, j + 1):  # the candles first seen on this bar
                if values[k] > value:
                    value = values[k]
            out[i] = value
        if j > previous:
            previous = j
    return out


def _cross(kind: str, up: bool) -> Callable[[IndicatorSource, dict], np.ndarray]:
    def compute(src: IndicatorSource, p: dict) -> np.ndarray:
        if kind == "macd":
            line, signal, _ = src.macd(int(p["fast"]), int(p["slow"]), int(p["signal"]))
            fast, slow = line, signal
        else:
            average = src.sma if kind == "sma" else src.ema
            fast, slow = average(int(p["fast"])), average(int(p["slow"]))
        return cross_up(fast, slow) if up else cross_up(slow, fast)

    return compute


def _price_vs_average(kind: str, is_above: bool) -> Callable[[IndicatorSource, dict], np.ndarray]:
    def compute(src: IndicatorSource, p: dict) -> np.ndarray:
        average = (src.sma if kind == "sma" else src.ema)(int(p["period"]))
        close = src.candles.close
        return above(close, average) if is_above else above(average, close)

    return compute


def _rsi(is_above: bool) -> Callable[[IndicatorSource, dict], np.ndarray]:
    def compute(src: IndicatorSource, p: dict) -> np.ndarray:
        values = src.rsi(int(p["period"]))
        return above_level(values, float(p["level"])) if is_above else below_level(values, float(p["level"]))

    return compute


def _bollinger(is_above: bool) -> Callable[[IndicatorSource, dict], np.ndarray]:
    def compute(src: IndicatorSource, p: dict) -> np.ndarray:
        lower, _, upper = src.bollinger(int(p["period"]), float(p["std"]))
        close = src.candles.close
        return above(close, upper) if is_above else above(lower, close)

    return compute


def _breakout(up: bool) -> Callable[[IndicatorSource, dict], np.ndarray]:
    def compute(src: IndicatorSource, p: dict) -> np.ndarray:
        close = src.candles.close
        if up:
            return above(close, src.prior_high(int(p["period"])))
        return above(src.prior_low(int(p["period"])), close)

    return compute


def _adx(is_above: bool) -> Callable[[IndicatorSource, dict], np.ndarray]:
    def compute(src: IndicatorSource, p: dict) -> np.ndarray:
        values = src.adx(int(p["period"]))
        return above_level(values, float(p["level"])) if is_above else below_level(values, float(p["level"]))

    return compute


_FAST_SLOW = (_period("fast", "short average's period in bars"), _period("slow", "long average's period in bars"))
_MACD = (
    _period("fast", "fast EMA period in bars"),
    _period("slow", "slow EMA period in bars"),
    _period("signal", "signal-line EMA period in bars"),
)
_BANDS = (_period(), Param("std", False, 0.0, None, "band width in population standard deviations", low_open=True))


def _kinds() -> dict[str, SignalKind]:
    kinds = [
        SignalKind(
            "sma_cross_up", _FAST_SLOW, True, "SMA(fast) crosses above SMA(slow) of closes", _cross("sma", True)
        ),
        SignalKind("sma_cross_down", _FAST_SLOW, True, "SMA(fast) crosses below SMA(slow)", _cross("sma", False)),
        SignalKind(
            "ema_cross_up", _FAST_SLOW, True, "EMA(fast) crosses above EMA(slow) of closes", _cross("ema", True)
        ),
        SignalKind("ema_cross_down", _FAST_SLOW, True, "EMA(fast) crosses below EMA(slow)", _cross("ema", False)),
        SignalKind("sma_above", (_period(),), False, "close above SMA(period)", _price_vs_average("sma", True)),
        SignalKind("sma_below", (_period(),), False, "close below SMA(period)", _price_vs_average("sma", False)),
        SignalKind("ema_above", (_period(),), False, "close above EMA(period)", _price_vs_average("ema", True)),
        SignalKind("ema_below", (_period(),), False, "close below EMA(period)", _price_vs_average("ema", False)),
        SignalKind(
            "rsi_below", (_period(), _level("RSI level, 0..100")), False, "RSI(period) below level", _rsi(False)
        ),
        SignalKind("rsi_above", (_period(), _level("RSI level, 0..100")), False, "RSI(period) above level", _rsi(True)),
        SignalKind("macd_cross_up", _MACD, True, "MACD line crosses above its signal line", _cross("macd", True)),
        SignalKind("macd_cross_down", _MACD, True, "MACD line crosses below its signal line", _cross("macd", False)),
        SignalKind("bollinger_below_lower", _BANDS, False, "close below the lower Bollinger band", _bollinger(False)),
        SignalKind("bollinger_above_upper", _BANDS, False, "close above the upper Bollinger band", _bollinger(True)),
        SignalKind(
            "breakout_up",
            (_period(),),
            False,
            "close above the highest high of the previous period bars",
            _breakout(True),
        ),
        SignalKind(
            "breakout_down",
            (_period(),),
            False,
            "close below the lowest low of the previous period bars",
            _breakout(False),
        ),
        SignalKind(
            "adx_above",
            (_period(), _level("ADX level, 0..100")),
            False,
            "ADX(period) above level: a trend filter",
            _adx(True),
        ),
        SignalKind(
            "adx_below",
            (_period(), _level("ADX level, 0..100")),
            False,
            "ADX(period) below level: no trend",
            _adx(False),
        ),
    ]
    return {kind.name: kind for kind in kinds}


SIGNAL_KINDS: dict[str, SignalKind] = _kinds()
BUILT_IN_KINDS = frozenset(SIGNAL_KINDS)  # their values are uint8; a plugin's are float64 (`compute_signal`)


def uniform(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """A rule's signal arrays with one dtype, as the compiled kernels index them:
    as they are when they share one, else all float64 (a built-in kind's 0/1
    bytes beside a plugin's floats)."""
    if all(a.dtype == arrays[0].dtype for a in arrays):
        return arrays
    return tuple(np.asarray(a, np.float64) for a in arrays)


def compute_signal(
    market: MarketData,
    kind: str,
    params: dict[str, float],
    tf_ns: int | None,
    candle_type: str,
    cache: ArrayCache,
) -> np.ndarray:
    """A signal's values on the base bars (in [0, 1]: uint8 for the built-in
    kinds, contiguous float64 for a plugin's), cached by its kind, parameters,
    timeframe and candle type."""
    spec = SIGNAL_KINDS[kind]
    tf = None if tf_ns == market.bar_ns else tf_ns

    def compute() -> np.ndarray:
        source = IndicatorSource(market, tf, candle_type, cache)
        values = spec.compute(source, params)
        if kind not in BUILT_IN_KINDS:  # a plugin's values: float64, contiguous, as the kernels take them
            values = np.ascontiguousarray(values, np.float64)
        visible = market.visible(tf)
        return values if visible is None else to_base(values, visible, spec.event)

    return cache.get(signal_key(market, kind, tuple(sorted(params.items())), tf_ns, candle_type), compute)


def signal_key(
    market: MarketData, kind: str, sorted_params: tuple[tuple[str, float], ...], tf_ns: int | None, candle_type: str
) -> tuple:
    """The cache key of a signal (see `compute_signal`); ``sorted_params`` its
    ``(name, value)`` pairs sorted by name."""
    return "signal", kind, sorted_params, tf_ns or market.bar_ns, candle_type


def register_signal_kind(kind: SignalKind) -> None:
    """Add a signal kind (from a plugin); its name must be new."""
    if kind.name in SIGNAL_KINDS:
        raise ValueError(f"signal kind {kind.name!r} already exists")
    SIGNAL_KINDS[kind.name] = kind
