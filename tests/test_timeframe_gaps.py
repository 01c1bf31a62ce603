"""Higher-timeframe events across gaps in the base data: a candle's event fires on the first base
bar that sees it, even when that bar sees two new candles at once."""

from __future__ import annotations

import numpy as np

from optimizer.cache import ArrayCache
from optimizer.data import Candles, MarketData
from optimizer.data.timeframes import parse_timeframe
from optimizer.engine import Engine
from optimizer.signals import to_base
from tests.conftest import parse, sma_cross_config

MINUTE = 60 * 1_000_000_000
T0 = np.datetime64("2024-03-01T19:00:00", "ns").astype(np.int64)

# 5m candle closes by the minute its bin opens; the 19:20 candle crosses its SMA(1) above SMA(2).
FIVE_MINUTE_CLOSES = {0: 11.0, 5: 10.0, 10: 9.0, 15: 8.0, 20: 9.0, 25: 10.0, 30: 11.0, 35: 12.0}


def _gapped_minutes() -> Candles:
    """1m bars 19:00..19:20, then a gap to 19:29..19:39; every bar of a 5m bin at its bin's close."""
    minutes = [*range(0, 21), *range(29, 40)]
    close = np.array([FIVE_MINUTE_CLOSES[m - m % 5] for m in minutes])
    time = T0 + np.array(minutes, dtype=np.int64) * MINUTE
    return Candles(time, close, close, close, close, np.zeros(len(close)), bar_ns=MINUTE)


def _minute_index(minute: int, candles: Candles) -> int:
    return int(np.flatnonzero(candles.time == T0 + minute * MINUTE)[0])


def test_a_cross_whose_candle_closed_inside_a_gap_fires_on_the_first_bar_after_it():
    candles = _gapped_minutes()
    market = MarketData(candles)
    five = parse_timeframe("5m")
    # The 19:20 candle closes at 19:25, inside the gap; the 19:29 bar (closing 19:30) is the first
    # to see it, together with the 19:25 candle.
    seen = market.visible(five)
    assert seen[_minute_index(20, candles)] == 3 and seen[_minute_index(29, candles)] == 5
    doc = sma_cross_config(1, 2)
    doc["strategy"]["signals"]["up"]["timeframe"] = "5m"
    doc["strategy"]["signals"]["down"]["timeframe"] = "5m"
    engine = Engine(parse(doc), market, cache=ArrayCache())
    result = engine.backtest({})
    entry_bar = _minute_index(29, candles) + 1  # decided at the 19:29 close, filled at the next open
    assert result.entry_index.tolist() == [entry_bar]
    assert candles.time[entry_bar] == T0 + 30 * MINUTE


def test_two_candles_seen_on_one_bar_fire_an_event_once_and_a_state_takes_the_later():
    visible = np.array([-1, 0, 0, 2, 2, 3, 5, 5], dtype=np.int64)
    events = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    # Candle 2 (with candle 1) and candle 5 (with 4) are first seen on bars 3 and 6.
    np.testing.assert_array_equal(to_base(events, visible, True), [0, 1, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(to_base(np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0]), visible, True),
                                  [0, 1, 0, 1, 0, 0, 0, 0])  # fmt: skip
    states = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(to_base(states, visible, False), [0, 1, 1, 1, 1, 0, 0, 0])
