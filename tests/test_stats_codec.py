"""The statistics codec: its field table, packing, lazy unpacking, pickling,
dropping the series and checkpoint records."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest

from optimizer.backtest import BacktestResult
from optimizer.stats import IndividualStats, compute_stats
from optimizer.stats_codec import (
    FIELDS,
    Group,
    block_columns,
    check_fields,
    packed_size,
    stats_from_record,
    stats_to_record,
)

ARRAYS = [f for f in FIELDS if f.group in (Group.SERIES, Group.DISTRIBUTION)]
HOUR = 3600 * 10**9
# Written by the code before the field table (commit 2be575b): the checkpoints on disk today.
OLD_RECORD = [
    [{"a": 1, "b": 0.25}, 7, [31.753269431057785, None], False, None, 6],
    "AAAAAAAACEAAAAAAAAAAQAAAAAAAAPA/qqqqqqqqUED///////8zQAAAAAAAAAxA9ihcj8I1L0AAAAAAAAAkwPYoXI/CNTVAAAAAAAAAJMCMLr"
    "rooosGQEjhehSuRxxABQAAAAAAJEA/ePND1sA/QNStfoisa1tAKRBZDxyCKFg6VC8To6JeWKqqqqqqqlBAVVVVVVVV9T8AAAAAAAAkQPYoXI/C"
    "NS9A9ihcj8I1NUABAAAAAAAAAAEAAAAAAAAAAAAAAAAAJMAAAAAAAAAkwAEAAAAAAAAA",
    [3, 2, 2, 1],
]


def _three_trades() -> IndividualStats:
    """The statistics OLD_RECORD was written from."""
    rows = [(0, 1, 1, 10.0, 11.0, 0.10, 0.10, 0), (1, 3, -1, 11.0, 12.0, -0.10, -0.11, 1),
            (3, 4, 1, 9.9, 12.0, 0.2121, 0.21, 2)]  # fmt: skip
    cols = list(zip(*rows, strict=True))
    dtypes = (np.int64, np.int64, np.int8, float, float, float, float, np.int8)
    result = BacktestResult(*(np.array(c, d) for c, d in zip(cols, dtypes, strict=True)),
                            np.array([1.0, 1.1, 1.05, 0.99, 1.2, 1.2]))  # fmt: skip
    time = np.int64(1_700_000_000 * 10**9) + np.arange(6, dtype=np.int64) * HOUR
    stats = compute_stats(result, time, bar_ns=HOUR, market_return_pct=3.5, params={"a": 1, "b": 0.25})
    stats.id = 7
    stats.fitness = [stats.sharpe, None]
    return stats


def _unpacked(stats: IndividualStats) -> IndividualStats:
    return IndividualStats(**{f.name: getattr(stats, f.name) for f in dataclasses.fields(stats)})


def test_the_table_names_exactly_the_fields_of_the_dataclass():
    check_fields(IndividualStats)
    assert [f.name for f in FIELDS] == [f.name for f in dataclasses.fields(IndividualStats)]
    own = [(f.name, f.type, f.default_factory if f.default is dataclasses.MISSING else f.default)
           for f in dataclasses.fields(IndividualStats)]  # fmt: skip
    extra = dataclasses.make_dataclass("Extra", [*own, ("new_ratio", float, None)])
    missing = dataclasses.make_dataclass("Missing", [x for x in own if x[0] != "sharpe"])
    not_an_array = dataclasses.make_dataclass("Scalar", [(n, "float" if n == "win_edges" else t, d) for n, t, d in own])
    swapped = dataclasses.make_dataclass("Swapped", [own[1], own[0], *own[2:]])
    for cls, message in (
        (extra, "new_ratio: not in stats_codec.FIELDS"),
        (missing, "sharpe: not a field of Missing"),
        (not_an_array, "win_edges: declared an array, typed otherwise"),
        (swapped, "the order differs from Swapped's fields"),
    ):
        with pytest.raises(TypeError, match=f"stats_codec.FIELDS does not match {cls.__name__}: {message}$"):
            check_fields(cls)


def test_every_array_has_its_declared_dtype_and_packs_exactly(eurusd_stats):
    fresh = IndividualStats()
    restored = pickle.loads(pickle.dumps(eurusd_stats))
    for f in ARRAYS:
        assert getattr(eurusd_stats, f.name).dtype == f.dtype, f.name  # packing converts nothing
        assert getattr(fresh, f.name).dtype == f.dtype, f.name
        assert getattr(restored, f.name).dtype == f.dtype, f.name
        assert getattr(restored, f.name).tobytes() == getattr(eurusd_stats, f.name).tobytes(), f.name
    lengths, blob = eurusd_stats.packed_arrays()
    assert lengths == tuple(len(getattr(eurusd_stats, f.name)) for f in ARRAYS if f.group is Group.SERIES) + tuple(
        len(getattr(eurusd_stats, f.name)) for f in ARRAYS if f.group is Group.DISTRIBUTION
    )
    assert packed_size(lengths) == len(blob) == sum(getattr(eurusd_stats, f.name).nbytes for f in ARRAYS)


def test_arrays_are_unpacked_on_their_first_read_only(eurusd_stats):
    restored = pickle.loads(pickle.dumps(eurusd_stats))
    names = {f.name for f in ARRAYS}
    assert not names & set(restored.__dict__)
    assert restored.total_trades == eurusd_stats.total_trades and restored.params == eurusd_stats.params
    assert not names & set(restored.__dict__)  # the scalars do not unpack
    assert pickle.loads(pickle.dumps(restored)).__getstate__() == eurusd_stats.__getstate__()  # nor a pickle
    np.testing.assert_array_equal(restored.equity_value, eurusd_stats.equity_value)
    assert names <= set(restored.__dict__) and "_packed" not in restored.__dict__  # all at once
    with pytest.raises(AttributeError):
        restored.no_such_field  # noqa: B018


def _copy(stats: IndividualStats) -> IndividualStats:
    return pickle.loads(pickle.dumps(stats))


def test_array_lengths_and_block_columns_leave_the_arrays_packed(eurusd_stats):
    blocks = len(eurusd_stats.block_sums)
    assert blocks > 0
    packed = _copy(eurusd_stats)
    dropped = _copy(eurusd_stats)
    dropped.drop_series()  # an evaluation outside the elite: its series are gone, its block sums kept
    other = _copy(eurusd_stats)
    other.with_packed_arrays(*_scaled_blocks(other, 3.0))  # other block sums, still packed
    for f in ARRAYS:
        assert packed.array_length(f.name) == len(getattr(eurusd_stats, f.name))
        assert dropped.array_length(f.name) == (0 if f.group is Group.SERIES else len(getattr(eurusd_stats, f.name)))
    row = [eurusd_stats, packed, dropped, other, _unpacked(_copy(other))]  # unpacked ones read from their arrays
    sums, squares, counts = block_columns(row, blocks)
    for stats in (packed, dropped, other):  # the packed ones: nothing unpacked
        assert "_packed" in stats.__dict__ and not {f.name for f in ARRAYS} & set(stats.__dict__)
    for name, got in (("block_sums", sums), ("block_squares", squares), ("block_counts", counts)):
        expected = np.stack([getattr(_copy(s), name) for s in row], axis=1)
        assert got.dtype == expected.dtype and got.shape == (blocks, len(row))
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(sums[:, 3], 3.0 * eurusd_stats.block_sums)
    np.testing.assert_array_equal(sums[:, 2], eurusd_stats.block_sums)
    with pytest.raises(ValueError, match=f"not {blocks + 2} each"):
        block_columns([packed], blocks + 2)


def _scaled_blocks(stats: IndividualStats, factor: float) -> tuple[tuple[int, ...], bytes]:
    """``stats``' packed arrays with the block sums and squares multiplied by ``factor``."""
    lengths, _ = stats.packed_arrays()
    copy = _copy(stats)
    arrays = [np.array(getattr(copy, f.name)) for f in ARRAYS]
    for f, values in zip(ARRAYS, arrays, strict=True):
        if f.name in ("block_sums", "block_squares"):
            values *= factor
    return lengths, b"".join(a.tobytes() for a in arrays)


def test_statistics_are_compact_to_pickle(eurusd_stats):
    full = len(pickle.dumps(eurusd_stats))
    without_series = pickle.loads(pickle.dumps(eurusd_stats))
    without_series.drop_series()
    slim = len(pickle.dumps(without_series))
    per_trade = (full - slim) / eurusd_stats.total_trades
    assert slim < 4_000, slim
    assert full < slim + 20_000 + 100 * eurusd_stats.total_trades, (full, per_trade)
    for copy in (pickle.loads(pickle.dumps(eurusd_stats)), pickle.loads(pickle.dumps(_unpacked(eurusd_stats)))):
        assert copy.to_dict() == eurusd_stats.to_dict()


def test_dropping_the_series_in_place_keeps_the_rest(eurusd_stats):
    for stats in (pickle.loads(pickle.dumps(eurusd_stats)), _unpacked(eurusd_stats)):  # packed and unpacked
        stats.drop_series()
        assert stats.to_dict() == eurusd_stats.to_dict(series=False)
        assert stats.to_dict()["winning_trades_distribution"]["counts"]
        for f in ARRAYS:
            assert getattr(stats, f.name).dtype == f.dtype
            assert (len(getattr(stats, f.name)) == 0) == (f.group is Group.SERIES), f.name
        assert pickle.loads(pickle.dumps(stats)).to_dict() == eurusd_stats.to_dict(series=False)


def test_a_checkpoint_record_keeps_every_statistic_but_the_series(eurusd_stats):
    failure = IndividualStats.failure({"a": 1, "b": 0.25}, "ValueError: boom")
    no_trades = IndividualStats(params={"a": 2}, fitness=[None], bars=10, market_return_pct=1.5)
    for stats in (eurusd_stats, pickle.loads(pickle.dumps(eurusd_stats)), failure, no_trades):
        record = json.loads(json.dumps(stats_to_record(stats), allow_nan=False))
        restored = stats_from_record(record)
        assert restored.to_dict() == stats.to_dict(series=False)
        assert json.dumps(restored.to_dict()) == json.dumps(stats.to_dict(series=False))  # types too (int, None)
        for f in FIELDS:  # every scalar exactly (floats to the bit), of its declared type
            if f.group is Group.SCALAR and getattr(stats, f.name) is not None:
                value = getattr(restored, f.name)
                assert type(value) is (int if f.dtype.kind == "i" else float), f.name
                assert float(value).hex() == float(getattr(stats, f.name)).hex(), f.name
    assert eurusd_stats.total_trades and eurusd_stats.to_dict()["trades"]


def test_records_of_the_previous_code_still_read():
    """OLD_RECORD holds the scalars of its day (issue 12 changed Sharpe, Sortino, CAGR,
    Calmar, profit factor and added fields): it reads as written, the fields added
    since are None, and today's record of the same trades reads back as itself."""
    stats = _three_trades()
    restored = stats_from_record(OLD_RECORD).to_dict()
    assert restored["sharpe"] == OLD_RECORD[0][2][0] and restored["total_trades"] == 3
    assert restored["profit_factor"] == pytest.approx((0.10 + 0.21) / 0.11)  # the old money ratio, as recorded
    added = ("sharpe_per_bar", "gross_profit_pct", "gross_loss_pct", "span_days", "periods_per_year",
             "return_periods")  # fmt: skip
    assert [restored[name] for name in added] == [None] * len(added)
    assert restored["winning_trades_distribution"] == {"edges": [10.0, 15.605, 21.21], "counts": [1, 1]}
    assert stats_from_record(stats_to_record(stats)).to_dict() == stats.to_dict(series=False)


@pytest.mark.parametrize(
    "record",
    [
        [[], "AAAA", [1, 1, 1, 1]],  # too few head values
        [OLD_RECORD[0], OLD_RECORD[1][:-4], OLD_RECORD[2]],  # bytes cut short
        [OLD_RECORD[0], "not base64!", OLD_RECORD[2]],
        [OLD_RECORD[0], OLD_RECORD[1], [3, 2, 2]],  # a length missing
        "a string",
    ],
)
def test_a_malformed_record_is_refused(record):
    with pytest.raises(ValueError, match="not a statistics record"):
        stats_from_record(record)


def test_packed_arrays_must_match_their_lengths(eurusd_stats):
    lengths, blob = eurusd_stats.packed_arrays()
    stats = IndividualStats()
    with pytest.raises(ValueError, match="lengths do not match"):
        stats.with_packed_arrays(lengths, blob[:-1])
    with pytest.raises(ValueError, match="lengths do not match"):
        stats.with_packed_arrays(lengths[:-1], blob)
    with pytest.raises(ValueError, match="array lengths for"):
        packed_size((*lengths, 1))
    assert stats.with_packed_arrays(lengths, blob) is stats
    series = ("trades", "pnl_history", "equity", "winning_trades_distribution", "losing_trades_distribution")
    assert {k: stats.to_dict()[k] for k in series} == {k: eurusd_stats.to_dict()[k] for k in series}
