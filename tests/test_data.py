"""Market data: loading, every rejection rule (with its row and column), timeframes."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from optimizer.data import Candles, load_candles
from optimizer.data.timeframes import aggregate, heiken_ashi, parse_timeframe, visible_index
from optimizer.errors import DataError
from tests.conftest import make_candles

HEADER = "Date,Open,High,Low,Close,Volume\n"
GOOD = [
    "2024-01-01T00:00:00Z,10,11,9,10.5,100",
    "2024-01-01T01:00:00Z,10.5,12,10,11,200",
    "2024-01-01T02:00:00Z,11,11.5,10.2,10.4,150",
]


def _csv(tmp_path, rows, header=HEADER, name="data.csv"):
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def _error(path) -> str:
    with pytest.raises(DataError) as info:
        load_candles(path)
    return str(info.value)


def _with(row_index: int, row: str) -> list[str]:
    rows = list(GOOD)
    rows[row_index] = row
    return rows


# Each rule: a broken second data row (file line 3) and what the message must name.
REJECTIONS = {
    "non-numeric": ("2024-01-01T01:00:00Z,10.5,abc,10,11,200", "column 'High'", "'abc' is not a number"),
    "missing value": ("2024-01-01T01:00:00Z,10.5,12,,11,200", "column 'Low'", "missing or NaN"),
    "NaN": ("2024-01-01T01:00:00Z,10.5,12,10,NaN,200", "column 'Close'", "missing or NaN"),
    "infinite": ("2024-01-01T01:00:00Z,inf,12,10,11,200", "column 'Open'", "infinite"),
    "zero price": ("2024-01-01T01:00:00Z,0,12,0,11,200", "column 'Open'", "price 0 is not positive"),
    "negative price": ("2024-01-01T01:00:00Z,10.5,12,-1,11,200", "column 'Low'", "not positive"),
    "negative volume": ("2024-01-01T01:00:00Z,10.5,12,10,11,-5", "column 'Volume'", "volume -5 is negative"),
    "high below body": ("2024-01-01T01:00:00Z,10.5,10.8,10,11,200", "column 'High'", "high 10.8 is below max"),
    "low above body": ("2024-01-01T01:00:00Z,10.5,12,10.6,11,200", "column 'Low'", "low 10.6 is above min"),
    "unparseable time": ("yesterday,10.5,12,10,11,200", "column 'Date'", "unparseable timestamp 'yesterday'"),
    "missing time": (",10.5,12,10,11,200", "column 'Date'", "missing timestamp"),
    "duplicate time": ("2024-01-01T00:00:00Z,10.5,12,10,11,200", "column 'Date'", "duplicate timestamp"),
}


@pytest.mark.parametrize("rule", list(REJECTIONS))
def test_each_rejection_names_row_and_column(tmp_path, rule):
    row, column, reason = REJECTIONS[rule]
    message = _error(_csv(tmp_path, _with(1, row)))
    assert "data.csv line 3 (row 2)" in message
    assert column in message
    assert reason in message


def test_fewer_than_two_rows(tmp_path):
    assert "1 data row; at least 2 are needed" in _error(_csv(tmp_path, GOOD[:1]))


def test_missing_columns_are_named(tmp_path):
    message = _error(_csv(tmp_path, ["2024-01-01,1,2,3"] * 2, header="Date,Open,High,Close\n"))
    assert "missing column low" in message
    assert "'Close'" in message  # lists the columns it found


def test_inner_empty_row_is_named(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text(HEADER + GOOD[0] + "\n,,,,,\n" + GOOD[1] + "\n")
    assert "gap.csv line 3 (row 2): empty row" in _error(path)


def test_missing_file_and_unreadable_file(tmp_path):
    assert "no such data file" in _error(tmp_path / "absent.csv")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    assert "cannot be read as Parquet" in _error(bad)


def test_several_problems_are_all_reported(tmp_path):
    rows = [GOOD[0], "2024-01-01T01:00:00Z,x,12,10,11,200", "2024-01-01T02:00:00Z,11,11.5,10.2,y,150"]
    with pytest.raises(DataError) as info:
        load_candles(_csv(tmp_path, rows))
    assert "(and 1 more problem)" in str(info.value)
    assert info.value.details[0].startswith("data.csv line 3 (row 2), column 'Open'")
    assert info.value.details[1].startswith("data.csv line 4 (row 3), column 'Close'")


def test_parquet_rejection_names_row_and_column(tmp_path):
    frame = pd.DataFrame(
        {"time": pd.date_range("2024-01-01", periods=3, freq="h"), "open": [1.0, 2, 3], "high": [1.5, 2.5, 3.5],
         "low": [0.5, 1.5, 2.5], "close": [1.2, -2.0, 3.1], "volume": [1.0, 1, 1]}
    )  # fmt: skip
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    message = _error(path)
    assert "bad.parquet row 2, column 'close'" in message


def test_parquet_round_trip_equals_csv(tmp_path, goog_candles):
    candles = goog_candles
    frame = pd.DataFrame(
        {"timestamp": pd.to_datetime(candles.time, utc=True), "open": candles.open, "high": candles.high,
         "low": candles.low, "close": candles.close, "volume": candles.volume}
    )  # fmt: skip
    path = tmp_path / "goog.parquet"
    frame.to_parquet(path)
    loaded = load_candles(path)
    for name in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(candles, name))
    assert loaded.bar_ns == candles.bar_ns


def test_bom_crlf_offsets_and_epochs_agree(tmp_path):
    iso = _csv(tmp_path, GOOD, name="iso.csv")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(("\ufeff" + HEADER + "\n".join(GOOD) + "\n").replace("\n", "\r\n").encode("utf-8"))
    shifted = [f"2024-01-01T{k + 2:02d}:00:00+02:00" + r[r.index(",") :] for k, r in enumerate(GOOD)]
    offset = _csv(tmp_path, shifted, name="offset.csv")
    seconds = [str(1704067200 + 3600 * k) + r[r.index(",") :] for k, r in enumerate(GOOD)]
    millis = [str((1704067200 + 3600 * k) * 1000) + r[r.index(",") :] for k, r in enumerate(GOOD)]
    expected = load_candles(iso)
    for path in (bom, offset, _csv(tmp_path, seconds, name="s.csv"), _csv(tmp_path, millis, name="ms.csv")):
        got = load_candles(path)
        np.testing.assert_array_equal(got.time, expected.time, err_msg=path.name)
        np.testing.assert_array_equal(got.close, expected.close)
    assert expected.time[0] == np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
    assert expected.bar_ns == 3600 * 10**9


def test_out_of_order_rows_are_sorted_with_a_warning(tmp_path, caplog):
    path = _csv(tmp_path, [GOOD[1], GOOD[0], GOOD[2]])
    with caplog.at_level(logging.WARNING):
        candles = load_candles(path)
    assert np.all(np.diff(candles.time) > 0)
    np.testing.assert_array_equal(candles.close, [10.5, 11, 10.4])
    assert "not in time order" in caplog.text and "row 2" in caplog.text


def test_time_gaps_are_kept(tmp_path):
    rows = [GOOD[0], GOOD[1], "2024-01-03T00:00:00Z,11,11.5,10.2,10.4,150"]
    candles = load_candles(_csv(tmp_path, rows))
    assert len(candles) == 3 and candles.bar_ns == 3600 * 10**9


def test_bundled_files_load(eurusd_candles, goog_candles, btc_candles):
    assert len(eurusd_candles) >= 5000
    assert goog_candles.bar_ns == 86400 * 10**9
    assert btc_candles.bar_ns == 60 * 10**9


MONDAY_1970 = 4 * 86400 * 10**9  # 1970-01-05, the first Monday after the epoch (a Thursday)


def _aggregate_reference(candles, tf_ns, origin):
    """A pandas groupby of the same bins (starting at ``origin`` + k * tf), as a reference."""
    frame = pd.DataFrame(
        {"bin": (candles.time - origin) // tf_ns, "open": candles.open, "high": candles.high, "low": candles.low,
         "close": candles.close, "volume": candles.volume}
    )  # fmt: skip
    return frame.groupby("bin").agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last"),
        volume=("volume", "sum"),
    )  # fmt: skip


@pytest.mark.parametrize(("tf", "origin"), [("4h", 0), ("1d", 0), ("3d", 0), ("1w", MONDAY_1970), ("2w", MONDAY_1970)])
def test_aggregation_matches_groupby(tf, origin, eurusd_candles):
    candles = eurusd_candles
    tf_ns = parse_timeframe(tf)
    higher = aggregate(candles, tf_ns)
    ref = _aggregate_reference(candles, tf_ns, origin)
    np.testing.assert_array_equal(higher.time, ref.index.to_numpy() * tf_ns + origin)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(higher, name), ref[name].to_numpy())
    np.testing.assert_allclose(higher.volume, ref["volume"].to_numpy(), rtol=1e-12)
    assert higher.bar_ns == tf_ns


def test_higher_timeframe_candle_is_visible_only_after_it_closed(eurusd_candles):
    candles = eurusd_candles
    tf_ns = parse_timeframe("4h")
    higher = aggregate(candles, tf_ns)
    visible = visible_index(candles, higher)
    base_close = candles.time + candles.bar_ns
    for i in range(0, len(candles), 97):
        k = visible[i]
        if k >= 0:
            assert higher.time[k] + tf_ns <= base_close[i]
        if k + 1 < len(higher):
            assert higher.time[k + 1] + tf_ns > base_close[i]
    # A 4h candle of hourly bars becomes visible exactly on its last hour.
    i = int(np.flatnonzero(candles.time % tf_ns == 3 * 3600 * 10**9)[5])
    assert higher.time[visible[i]] == candles.time[i] - 3 * 3600 * 10**9


def test_heiken_ashi_formula():
    candles = make_candles([10, 11, 12, 11], [11, 12.5, 13, 12], [9.5, 10.5, 11, 10], [10.5, 12, 11.5, 10.5])
    ha = heiken_ashi(candles)
    ha_close = (candles.open + candles.high + candles.low + candles.close) / 4
    ha_open = np.empty(4)
    ha_open[0] = (candles.open[0] + candles.close[0]) / 2
    for i in range(1, 4):
        ha_open[i] = (ha_open[i - 1] + ha_close[i - 1]) / 2
    np.testing.assert_allclose(ha.close, ha_close)
    np.testing.assert_allclose(ha.open, ha_open)
    np.testing.assert_allclose(ha.high, np.maximum.reduce([candles.high, ha_open, ha_close]))
    np.testing.assert_allclose(ha.low, np.minimum.reduce([candles.low, ha_open, ha_close]))


def test_market_return_and_day_ends(eurusd_market, goog_market):
    market = eurusd_market
    c = market.candles
    assert market.market_return_pct() == pytest.approx((c.close[-1] / c.close[0] - 1) * 100, rel=1e-12)
    day = c.time // (86400 * 10**9)
    expected = np.r_[day[1:] != day[:-1], True]
    np.testing.assert_array_equal(market.day_end, expected)
    assert market.is_intraday and not goog_market.is_intraday


def _days(start: str, n: int) -> Candles:
    """``n`` daily candles from ``start``, every price 100 + the bar's index."""
    return make_candles(*[np.arange(n) + 100.0] * 4, bar_seconds=86400, start=start)


@pytest.mark.parametrize("tf", ["1w", "2w"])
def test_weekly_candles_start_on_monday_utc(tf, eurusd_candles):
    """1970-01-01 was a Thursday: epoch-aligned weeks started on Thursdays."""
    candles = _days("2023-12-25", 28)  # Monday 25 December 2023 .. Sunday 21 January 2024
    weeks = aggregate(candles, parse_timeframe(tf))
    stamps = pd.to_datetime(weeks.time, unit="ns", utc=True)
    assert all(stamps.day_of_week == 0) and all(stamps.hour == 0)
    per = 7 * int(tf[0])
    assert stamps[0] == pd.Timestamp("2023-12-25", tz="UTC")  # two-week bins: 1970-01-05 + 1408 x 2 weeks
    assert weeks.open.tolist() == [100.0 + k for k in range(0, 28, per)]  # Monday's open
    assert weeks.close.tolist() == [100.0 + k + per - 1 for k in range(0, 28, per)]  # Sunday's close
    real = aggregate(eurusd_candles, parse_timeframe(tf))
    assert set(pd.to_datetime(real.time, unit="ns", utc=True).day_of_week) == {0}


def test_days_and_hours_stay_aligned_to_midnight_utc():
    hours = make_candles(*[np.arange(30) + 1.0] * 4, start="2024-01-03T05:00:00")  # a Wednesday
    days = aggregate(hours, parse_timeframe("1d"))
    assert pd.to_datetime(days.time, unit="ns", utc=True).tolist() == [
        pd.Timestamp("2024-01-03", tz="UTC"), pd.Timestamp("2024-01-04", tz="UTC")]  # fmt: skip
    four = aggregate(hours, parse_timeframe("4h"))
    assert pd.to_datetime(four.time[:2], unit="ns", utc=True).hour.tolist() == [4, 8]


def test_the_first_partial_candle_is_the_candle_of_the_bars_present():
    """Hourly data that starts at 02:00: the first 4h candle (00:00-04:00) holds two
    bars, keeps its bin's label, and is seen only once its bin has closed (04:00)."""
    o = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    h = [x + 0.5 for x in o]
    lo = [x - 0.5 for x in o]
    c = [x + 0.25 for x in o]
    hours = make_candles(o, h, lo, c, start="2024-01-01T02:00:00")
    four = aggregate(hours, parse_timeframe("4h"))
    assert pd.to_datetime(four.time, unit="ns", utc=True).hour.tolist() == [0, 4]
    assert (four.open[0], four.high[0], four.low[0], four.close[0]) == (10.0, 11.5, 9.5, 11.25)
    assert four.close_time[0] == hours.time[2]  # closes at 04:00, not after its last bar (03:00)
    # Seen on the 03:00 bar (it closes at 04:00), not on the 02:00 bar; the last, partial
    # candle (04:00-08:00 with bars up to 07:00) is seen on the last bar (07:00, closes 08:00).
    assert visible_index(hours, four).tolist() == [-1, 0, 0, 0, 0, 1]


def test_a_candle_across_a_gap_is_the_candle_of_the_bars_present():
    """Hourly bars 00:00, 01:00, then 06:00..09:00: the 00:00-04:00 candle holds two
    bars and is first seen on the 06:00 bar; the 04:00-08:00 candle holds 06:00 and
    07:00 and is seen on the 07:00 bar (its close, 08:00)."""
    time = np.array([0, 1, 6, 7, 8, 9], dtype=np.int64) * 3600 * 10**9 + np.datetime64("2024-01-01", "ns").astype(
        np.int64
    )
    prices = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    hours = Candles(time, prices, prices + 0.5, prices - 0.5, prices, np.ones(6), bar_ns=3600 * 10**9)
    four = aggregate(hours, parse_timeframe("4h"))
    assert pd.to_datetime(four.time, unit="ns", utc=True).hour.tolist() == [0, 4, 8]
    assert four.open.tolist() == [1.0, 3.0, 5.0] and four.close.tolist() == [2.0, 4.0, 6.0]
    assert four.volume.tolist() == [2.0, 2.0, 2.0]
    assert visible_index(hours, four).tolist() == [-1, -1, 0, 1, 1, 1]


def test_close_timestamps_become_the_bars_open_times(tmp_path, eurusd_candles):
    """The same hourly bars stamped by their close load to the same candles."""
    c = eurusd_candles.slice(0, 500)
    frame = pd.DataFrame({"date": pd.to_datetime(c.time + c.bar_ns, unit="ns", utc=True), "open": c.open,
                          "high": c.high, "low": c.low, "close": c.close, "volume": c.volume})  # fmt: skip
    path = tmp_path / "closes.csv"
    frame.to_csv(path, index=False)
    converted = load_candles(path, timestamps="close")
    np.testing.assert_array_equal(converted.time, c.time)  # across EURUSD's weekend gaps too
    assert converted.bar_ns == c.bar_ns
    np.testing.assert_array_equal(converted.close, c.close)
    np.testing.assert_array_equal(load_candles(path).time, c.time + c.bar_ns)  # the default: opens


def test_month_end_timestamps_open_at_the_previous_month_end(tmp_path):
    """Monthly rows dated by the month's end: a month opens when the one before it
    closed (months are 28 to 31 days; the bar size is the commonest, 31 days)."""
    ends = ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30", "2023-05-31", "2023-06-30", "2023-07-31"]
    rows = [f"{day},10,11,9,10.5,1" for day in ends]
    candles = load_candles(_csv(tmp_path, rows), timestamps="close")
    opens = pd.to_datetime(candles.time, unit="ns", utc=True).strftime("%Y-%m-%d").tolist()
    assert opens == ["2022-12-31", *ends[:-1]]  # the first: its close minus the bar size (31 days)
    assert candles.bar_ns == 31 * 86400 * 10**9


def test_the_timestamps_setting_is_validated(tmp_path):
    with pytest.raises(ValueError, match="timestamps: 'end' is not one of open, close"):
        load_candles(_csv(tmp_path, GOOD), timestamps="end")


def test_a_column_without_a_header_is_named_by_its_place(tmp_path):
    """A CSV saved with its index (an empty first header cell): pandas calls that
    column ``Unnamed: 0``; messages say where it is (an outside trial)."""
    path = tmp_path / "indexed.csv"
    path.write_text(",Open,High,Low,Close\nyesterday,1,2,0.5,1.5\n2024-01-02,1,2,0.5,1.5\n")
    message = _error(path)
    assert "indexed.csv line 2 (row 1), column 1 (no header): unparseable timestamp 'yesterday'" in message
    assert "Unnamed" not in message
    path.write_text(",Open,High,,Close\n2024-01-01,1,2,0.5,1.5\n2024-01-02,1,2,0.5,1.5\n")
    assert "missing column low (found '', 'Open', 'High', '', 'Close')" in _error(path)
