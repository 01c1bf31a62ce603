"""How `IndividualStats` is packed, pickled and written to a checkpoint.

`FIELDS` is the one place that says what each statistic is: its group and its
dtype. Everything here follows from it:

* packed arrays: every array's length and their values as one bytes object,
  the series first, then the distributions (little-endian, each array's dtype
  declared); a checkpoint's ``series-G.bin`` holds these bytes;
* lazy unpacking: an instance restored from packed arrays holds them as one
  ``(lengths, bytes)`` pair and makes its arrays on the first read of one;
* compact pickling: the head and scalar values as one tuple, the arrays packed
  (workers send thousands of these per second; a dict and one numpy array per
  field cost several times more to load in the coordinating process);
* dropping the series: the trades, P&L history and equity, in place;
* checkpoint records: JSON without the series, floats exact (`stats_to_record`).

`PackedStats` is the codec's half of `optimizer.stats.IndividualStats`, which
`check_fields` holds to the table.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Self

import numpy as np

if TYPE_CHECKING:
    from optimizer.stats import IndividualStats


class Group(enum.StrEnum):
    """What a field is, which decides how it is packed and recorded."""

    HEAD = "head"  # identity and outcome (params, id, fitness, ...): any JSON value, kept as it is
    SCALAR = "scalar"  # one statistic: a number or None; recorded as float64 (NaN for None)
    SERIES = "series"  # an array per trade, per closed trade or per equity point: dropped by `drop_series`
    DISTRIBUTION = "distribution"  # a histogram's edges or counts: kept by `drop_series`


class Field(NamedTuple):
    """One field of `IndividualStats`: ``dtype`` is an array's packed dtype, or a
    scalar's type (int64: an int, float64: a float), None for the head."""

    name: str
    group: Group
    dtype: np.dtype | None = None


_I8, _F8, _I1 = np.dtype("<i8"), np.dtype("<f8"), np.dtype("<i1")
H, S, T, D = Group.HEAD, Group.SCALAR, Group.SERIES, Group.DISTRIBUTION
FIELDS: tuple[Field, ...] = (
    Field("params", H), Field("id", H), Field("fitness", H), Field("failed", H), Field("error", H),
    Field("bars", H),
    Field("total_trades", S, _I8), Field("winning_trades", S, _I8), Field("losing_trades", S, _I8),
    Field("win_rate_pct", S, _F8), Field("total_return_pct", S, _F8), Field("market_return_pct", S, _F8),
    Field("avg_win_pct", S, _F8), Field("avg_loss_pct", S, _F8), Field("best_trade_pct", S, _F8),
    Field("worst_trade_pct", S, _F8), Field("profit_factor", S, _F8), Field("expectancy_pct", S, _F8),
    Field("max_drawdown_pct", S, _F8), Field("sharpe", S, _F8), Field("sortino", S, _F8),
    Field("calmar", S, _F8), Field("cagr_pct", S, _F8), Field("exposure_pct", S, _F8),
    Field("avg_bars_held", S, _F8), Field("sharpe_per_bar", S, _F8), Field("gross_profit_pct", S, _F8),
    Field("gross_loss_pct", S, _F8), Field("span_days", S, _F8), Field("periods_per_year", S, _F8),
    Field("return_periods", S, _I8), Field("returns_mean", S, _F8), Field("returns_variance", S, _F8),
    Field("returns_skewness", S, _F8), Field("returns_kurtosis", S, _F8),
    Field("trade_entry_time", T, _I8), Field("trade_exit_time", T, _I8), Field("trade_side", T, _I1),
    Field("trade_entry_price", T, _F8), Field("trade_exit_price", T, _F8), Field("trade_pnl_pct", T, _F8),
    Field("trade_reason", T, _I1), Field("trade_bars_held", T, _I8), Field("pnl_history", T, _F8),
    Field("equity_time", T, _I8), Field("equity_value", T, _F8),
    Field("win_edges", D, _F8), Field("win_counts", D, _I8), Field("loss_edges", D, _F8),
    Field("loss_counts", D, _I8), Field("block_sums", D, _F8), Field("block_squares", D, _F8),
    Field("block_counts", D, _I8),
)  # fmt: skip
del H, S, T, D


def _names(*groups: Group) -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS if f.group in groups)


HEAD_FIELDS = _names(Group.HEAD)
SCALAR_FIELDS = _names(Group.SCALAR)
# Packed in this order: the series first, so that dropping them keeps the bytes' tail.
_SERIES = tuple(f for f in FIELDS if f.group is Group.SERIES)
_ARRAYS = _SERIES + tuple(f for f in FIELDS if f.group is Group.DISTRIBUTION)
_ARRAY_NAMES = frozenset(f.name for f in _ARRAYS)
_ARRAY_INDEX = {f.name: i for i, f in enumerate(_ARRAYS)}
_ITEMSIZES = tuple(f.dtype.itemsize for f in _ARRAYS)
_N_SERIES = len(_SERIES)
_NO_SERIES_LENGTHS = (0,) * _N_SERIES
_V1_DISTRIBUTIONS = 4  # the distributions of records written before the block sums (win/loss histograms)
_STATE = _names(Group.HEAD, Group.SCALAR)  # what a pickle holds as values
_state_of = operator.itemgetter(*_STATE)
_INT_SCALARS = frozenset(f.name for f in FIELDS if f.group is Group.SCALAR and f.dtype.kind == "i")
_EMPTY = {dtype: np.zeros(0, dtype) for dtype in {f.dtype for f in _ARRAYS}}


def check_fields(cls: type) -> None:
    """`TypeError` naming each field where `FIELDS` and dataclass ``cls`` disagree:
    a field missing from either, an array declared as a non-array or the other way
    round, or the order."""
    declared = {f.name: f.group in (Group.SERIES, Group.DISTRIBUTION) for f in FIELDS}
    actual = {f.name: f.type in ("np.ndarray", np.ndarray) for f in dataclasses.fields(cls)}
    problems = [f"{name}: not in stats_codec.FIELDS" for name in actual if name not in declared]
    problems += [f"{name}: not a field of {cls.__name__}" for name in declared if name not in actual]
    problems += [f"{name}: declared {'an array' if is_array else 'not an array'}, typed otherwise"
                 for name, is_array in declared.items() if name in actual and actual[name] != is_array]  # fmt: skip
    if not problems and list(declared) != list(actual):
        problems = [f"the order differs from {cls.__name__}'s fields"]
    if problems:
        raise TypeError(f"stats_codec.FIELDS does not match {cls.__name__}: {'; '.join(problems)}")


def packed_size(lengths: Sequence[int]) -> int:
    """Bytes taken by arrays of these lengths (the first ``len(lengths)`` arrays of
    `PackedStats.packed_arrays`)."""
    if len(lengths) > len(_ITEMSIZES):
        raise ValueError(f"{len(lengths)} array lengths for {len(_ITEMSIZES)} arrays")
    return sum(map(operator.mul, lengths, _ITEMSIZES))


class PackedStats:
    """Packing, lazy unpacking, compact pickling and dropping the series, for a
    dataclass whose fields are `FIELDS` (`IndividualStats`)."""

    __slots__ = ()

    def packed_arrays(self) -> tuple[tuple[int, ...], bytes]:
        """Every array's length (series, then distributions) and their values as one
        bytes object: see `with_packed_arrays`."""
        packed = self.__dict__.get("_packed")
        if packed is not None:
            return packed
        arrays = [np.ascontiguousarray(getattr(self, f.name), f.dtype) for f in _ARRAYS]
        return tuple(len(a) for a in arrays), b"".join(a.tobytes() for a in arrays)

    def with_packed_arrays(self, lengths: Sequence[int], blob: bytes) -> Self:
        """Set every array from `packed_arrays`' form (made on first use); returns self.
        `ValueError` if the lengths do not match the bytes."""
        if len(lengths) != len(_ARRAYS) or packed_size(lengths) != len(blob):
            raise ValueError("packed arrays: the lengths do not match the bytes")
        for name in _ARRAY_NAMES:
            self.__dict__.pop(name, None)
        self.__dict__["_packed"] = (tuple(int(n) for n in lengths), bytes(blob))
        return self

    def __getstate__(self) -> tuple:
        """``(head and scalar values in field order, lengths, bytes)``: see `packed_arrays`."""
        return _state_of(self.__dict__), *self.packed_arrays()

    def __setstate__(self, state: tuple) -> None:
        """The head and scalars now, the arrays on first use: most individuals of a
        generation are reduced to their scalars without ever reading them."""
        values, lengths, blob = state
        self.__dict__.update(zip(_STATE, values, strict=True))
        self.__dict__["_packed"] = (lengths, blob)

    def __getattr__(self, name: str) -> Any:
        """Called only for a missing attribute: an array still packed is made now,
        with all the others (views of the bytes, read-only)."""
        packed = self.__dict__.get("_packed")
        if packed is None or name not in _ARRAY_NAMES:
            raise AttributeError(name)
        del self.__dict__["_packed"]
        lengths, blob = packed
        offset = 0
        for f, length in zip(_ARRAYS, lengths, strict=True):
            self.__dict__[f.name] = np.frombuffer(blob, f.dtype, length, offset) if length else _EMPTY[f.dtype]
            offset += length * f.dtype.itemsize
        return self.__dict__[name]

    def array_length(self, name: str) -> int:
        """The length of array ``name``, packed or not, without making any array."""
        packed = self.__dict__.get("_packed")
        if packed is None or name not in _ARRAY_NAMES:
            return len(getattr(self, name))
        return packed[0][_ARRAY_INDEX[name]]

    def drop_series(self) -> None:
        """Forget the trades, P&L history and equity, in place (an individual that
        is not in the elite); the win/loss distributions stay."""
        packed = self.__dict__.get("_packed")
        if packed is not None:  # the distributions are the bytes' tail: keep that slice
            lengths, blob = packed
            cut = packed_size(lengths[:_N_SERIES])
            self.__dict__["_packed"] = (_NO_SERIES_LENGTHS + tuple(lengths[_N_SERIES:]), blob[cut:])
        else:
            for f in _SERIES:
                self.__dict__[f.name] = _EMPTY[f.dtype]


_BLOCK_ARRAYS = ("block_sums", "block_squares", "block_counts")  # the last three arrays, 8 bytes per value
assert tuple(f.name for f in _ARRAYS[-3:]) == _BLOCK_ARRAYS and all(f.dtype.itemsize == 8 for f in _ARRAYS[-3:])


def block_columns(stats: Sequence[PackedStats], blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The block sums, block squares (float64) and block counts (int64) of ``stats`` as
    three (``blocks`` x len(stats)) arrays, a column per evaluation, each of which must
    have ``blocks`` blocks (`ValueError` otherwise). The run's PBO reads these of
    every evaluation: the block arrays are the packed bytes' last ``3 x 8 x blocks``,
    so each evaluation costs one slice and nothing else of it is unpacked."""
    tail = 3 * 8 * blocks
    parts = []
    for one in stats:
        packed = one.__dict__.get("_packed")
        if packed is not None and packed[0][-3:] == (blocks, blocks, blocks):
            parts.append(packed[1][-tail:])
        else:
            arrays = [np.ascontiguousarray(getattr(one, name), f.dtype) for name, f in zip(_BLOCK_ARRAYS, _ARRAYS[-3:], strict=True)]
            if any(len(a) != blocks for a in arrays):
                raise ValueError(f"block arrays of {[len(a) for a in arrays]} values, not {blocks} each")
            parts.append(b"".join(a.tobytes() for a in arrays))
    values = np.frombuffer(b"".join(parts), _F8).reshape(len(parts), 3, blocks)
    counts = np.ascontiguousarray(values[:, 2, :]).view(_I8)
    return np.ascontiguousarray(values[:, 0, :].T), np.ascontiguousarray(values[:, 1, :].T), counts.T


def stats_to_record(stats: IndividualStats) -> list[Any]:
    """A compact JSON-able form of ``stats`` without its series (a checkpoint's log
    of evaluations): ``[head values, base64, distribution lengths]``; the base64
    holds the scalars as little-endian float64 (NaN for None) followed by the
    distributions' packed bytes. Floats round-trip exactly; writing decimal floats
    costs several times more. `stats_from_record` reads records with fewer
    scalars (written before the last ones were added: those are None) and
    records without the block sums (empty)."""
    d = stats.__dict__
    scalars = np.array([np.nan if d[name] is None else d[name] for name in SCALAR_FIELDS], dtype=_F8)
    lengths, blob = stats.packed_arrays()
    tail = blob[packed_size(lengths[:_N_SERIES]) :]
    return [[d[name] for name in HEAD_FIELDS], base64.b64encode(scalars.tobytes() + tail).decode("ascii"),
            list(lengths[_N_SERIES:])]  # fmt: skip


def stats_from_record(record: Any) -> IndividualStats:
    """The inverse of `stats_to_record`, without series (`ValueError` on a malformed record)."""
    from optimizer.stats import IndividualStats  # that module imports this one

    try:
        head, packed, distribution_lengths = record
        raw = base64.b64decode(packed, validate=True)
        distribution_lengths = tuple(distribution_lengths)
        if len(distribution_lengths) == _V1_DISTRIBUTIONS:  # written before the block sums: those are empty
            distribution_lengths += (0,) * (len(_ARRAYS) - _N_SERIES - _V1_DISTRIBUTIONS)
        lengths = _NO_SERIES_LENGTHS + distribution_lengths
        cut = len(raw) - packed_size(lengths)
        count, rest = divmod(cut, _F8.itemsize)
        if rest or not 0 < count <= len(SCALAR_FIELDS):
            raise ValueError("the lengths do not match the bytes")
        stats = object.__new__(IndividualStats)
        stats.__dict__.update(zip(HEAD_FIELDS, head, strict=True))
        values = np.frombuffer(raw[:cut], _F8).tolist() + [math.nan] * (len(SCALAR_FIELDS) - count)
        for name, value in zip(SCALAR_FIELDS, values, strict=True):
            stats.__dict__[name] = None if math.isnan(value) else int(value) if name in _INT_SCALARS else value
        stats.with_packed_arrays(lengths, raw[cut:])
    except (TypeError, ValueError) as exc:  # binascii.Error is a ValueError
        raise ValueError(f"not a statistics record: {exc}") from exc
    return stats
