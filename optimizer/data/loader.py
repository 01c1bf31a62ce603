"""Loading and validating OHLCV files (CSV or Parquet) into `Candles`.

The rules are DESIGN.md's market-data contract. Every rejection is a `DataError`
whose lines name the place: ``line L (row R), column C`` for CSV files (line is the
file's line number, row the data row counted from 1), ``row R, column C`` for
Parquet files.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data.candles import NS_PER_SECOND, Candles, infer_bar_ns
from optimizer.errors import DataError

log = logging.getLogger(__name__)

TIME_NAMES = ("date", "time", "timestamp", "datetime")
PRICE_COLUMNS = ("open", "high", "low", "close")
TIMESTAMPS = ("open", "close")  # what a file's timestamps mark (the data.timestamps setting)
MAX_PROBLEMS = 10
# Epoch values above this are milliseconds (1e11 seconds is the year 5138).
EPOCH_MS_THRESHOLD = 1e11


def load_candles(path: str | Path, *, timestamps: str = "open") -> Candles:
    """Read and validate a CSV or Parquet OHLCV file.

    ``timestamps`` says what the file's times mark: ``"open"`` (each bar's open
    time) or ``"close"`` (its close time, converted to open times; see
    `opens_from_closes`). Raises `DataError` naming the row and column of what is
    wrong, or the file if it cannot be read at all. Rows out of time order are
    sorted, with a warning.
    """
    _check_timestamps(timestamps)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = _read_parquet(path)
            is_csv = False
        else:
            frame = pd.read_csv(path, encoding="utf-8-sig", skip_blank_lines=False, low_memory=False)
            is_csv = True
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{path.name}: cannot be read as {'Parquet' if path.suffix.lower() in ('.parquet', '.pq') else 'CSV'}: {reason}"
        ) from exc
    try:
        return candles_from_frame(
            frame, source=path.name, line_offset=2 if is_csv else None, consume=True, timestamps=timestamps
        )
    finally:
        del frame
        if not is_csv:
            import pyarrow as pa

            pa.default_memory_pool().release_unused()


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a frame, read one column at a time and Arrow's copy of each
    freed as pandas takes it over: besides the frame, at most one column's copies
    are in memory (reading the whole table at once took over twice the data's size
    more, at 10 million bars)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    parts = []
    for name in source.schema_arrow.names:
        parts.append(source.read(columns=[name], use_threads=False).to_pandas(split_blocks=True, self_destruct=True))
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed pages otherwise
    return pd.concat(parts, axis=1) if parts else pd.DataFrame()  # pandas 3: no copy (copy-on-write)


def candles_from_frame(
    frame: pd.DataFrame,
    *,
    source: str = "data",
    line_offset: int | None = None,
    consume: bool = False,
    timestamps: str = "open",
) -> Candles:
    """Validate a table of OHLCV rows and turn it into `Candles`.

    ``line_offset`` is the file line number of the first data row (2 for a CSV
    with a header), used in messages; None for sources without lines. With
    ``consume`` the frame's columns are dropped as they are converted (less
    memory for big files; the frame is left empty). ``timestamps``: as in
    `load_candles`.
    """
    _check_timestamps(timestamps)
    place = _Places(source, line_offset)
    if frame.shape[1] == 0:
        raise DataError(f"{source}: no columns")
    # A CSV may end with blank lines: drop trailing all-empty rows, reject inner ones.
    empty = frame.isna().all(axis=1).to_numpy()
    if empty.any():
        last = len(empty)
        while last > 0 and empty[last - 1]:
            last -= 1
        frame = frame.iloc[:last]
        inner = np.flatnonzero(empty[:last])
        if len(inner):
            raise DataError([f"{place.row(i)}: empty row" for i in inner[:MAX_PROBLEMS]])
    time_col, columns = _find_columns(frame, source)
    if len(frame) < 2:
        raise DataError(f"{source}: {len(frame)} data row{'s' * (len(frame) != 1)}; at least 2 are needed")

    problems: list[str] = []
    values: dict[str, np.ndarray] = {}
    for name in (*PRICE_COLUMNS, "volume"):
        if name not in columns:
            continue
        series = frame.pop(columns[name]) if consume else frame[columns[name]]
        values[name] = _numeric(series, columns[name], place, problems, positive=name != "volume")
        del series
    if problems:
        raise DataError(problems[:MAX_PROBLEMS])
    _check_ranges(values, columns, place, problems)
    series = frame.pop(time_col) if consume else frame[time_col]
    time = _timestamps(series, time_col, place, problems)
    del series
    if problems:
        raise DataError(problems[:MAX_PROBLEMS])

    order = None  # the rows' order, when they had to be sorted
    if np.any(np.diff(time) < 0):
        order = np.argsort(time, kind="stable")
        first = int(np.flatnonzero(np.diff(time) < 0)[0]) + 1
        log.warning("%s: rows are not in time order (first at %s); sorted by time", source, place.row(first))
        time = time[order]
    duplicate = np.flatnonzero(np.diff(time) == 0)
    if len(duplicate):
        for k in duplicate[:MAX_PROBLEMS]:
            a, b = (k, k + 1) if order is None else sorted((int(order[k]), int(order[k + 1])))
            problems.append(
                f"{place.cell(b, time_col)}: duplicate timestamp {_iso(time[k + 1])} (same as {place.row(a)})"
            )
        raise DataError(problems)

    values.setdefault("volume", np.zeros(len(time)))
    if order is not None:
        values = {name: array[order] for name, array in values.items()}
    bar_ns = infer_bar_ns(time)
    if timestamps == "close":
        time = opens_from_closes(time, bar_ns)
    return Candles(time=time, **{name: values[name] for name in (*PRICE_COLUMNS, "volume")}, bar_ns=bar_ns)


def opens_from_closes(close_time: np.ndarray, bar_ns: int) -> np.ndarray:
    """Bar open times (int64 ns) from close times (strictly increasing, int64 ns).

    A bar opens one bar (``bar_ns``) before it closes, or when the bar before it
    closed if that is later: a bar cannot open before the previous one closed. With
    regular bars that is the close minus the bar size; with months (bar size 31
    days, the most common gap) each month opens at the previous month's close.
    The result is strictly increasing, like its input.
    """
    opens = close_time - bar_ns
    if len(close_time) > 1:
        opens[1:] = np.maximum(opens[1:], close_time[:-1])
    return opens


def _check_timestamps(timestamps: str) -> None:
    if timestamps not in TIMESTAMPS:
        raise ValueError(f"timestamps: {timestamps!r} is not one of {', '.join(TIMESTAMPS)}")


class _Places:
    """Formats row and cell references for messages."""

    def __init__(self, source: str, line_offset: int | None) -> None:
        self.source = source
        self.line_offset = line_offset

    def row(self, index: int) -> str:
        if self.line_offset is None:
            return f"{self.source} row {index + 1}"
        return f"{self.source} line {index + self.line_offset} (row {index + 1})"

    def cell(self, index: int, column: str) -> str:
        return f"{self.row(index)}, {column_label(column)}"


_UNNAMED = re.compile(r"Unnamed: (\d+)")  # pandas' name of a CSV column with an empty header cell


def column_label(column: object) -> str:
    """A column as messages name it: ``column 'Close'``; a CSV column whose header
    cell is empty (pandas names it ``Unnamed: N``) by its place: ``column 1 (no header)``."""
    unnamed = _UNNAMED.fullmatch(str(column))
    if unnamed is not None:
        return f"column {int(unnamed.group(1)) + 1} (no header)"
    return f"column {str(column)!r}"


def _header(column: object) -> str:
    """A column's header as the file has it: ``''`` for an empty one."""
    return "''" if _UNNAMED.fullmatch(str(column)) else repr(str(column))


def _find_columns(frame: pd.DataFrame, source: str) -> tuple[str, dict[str, str]]:
    """The timestamp column's name and the OHLCV columns' names by lower-case role."""
    columns: dict[str, str] = {}
    time_col = None
    for raw in frame.columns:
        key = str(raw).strip().lower()
        if key in (*PRICE_COLUMNS, "volume"):
            if key in columns:
                raise DataError(f"{source}: columns {columns[key]!r} and {raw!r} are both {key!r}")
            columns[key] = raw
        elif key in TIME_NAMES and time_col is None:
            time_col = raw
    missing = [name for name in PRICE_COLUMNS if name not in columns]
    if missing:
        found = ", ".join(_header(c) for c in frame.columns)
        raise DataError(f"{source}: missing column{'s' * (len(missing) > 1)} {', '.join(missing)} (found {found})")
    if time_col is None:
        first = frame.columns[0]
        if str(first).strip().lower() in (*PRICE_COLUMNS, "volume"):
            raise DataError(
                f"{source}: no timestamp column: expected the first column, or one named date, time, timestamp or datetime"
            )
        time_col = first
    return time_col, columns


def _numeric(series: pd.Series, column: str, place: _Places, problems: list[str], *, positive: bool) -> np.ndarray:
    """A column as float64, adding a problem for each non-numeric, NaN, infinite or
    (for prices) non-positive value; volume must only be >= 0."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        array = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)  # owned by numpy, not Arrow
        text = None
    else:
        text = series.astype("string")
        array = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(array) | ((array <= 0) if positive else (array < 0))
    for i in np.flatnonzero(bad)[: MAX_PROBLEMS - len(problems)]:
        value = array[i]
        raw = None if text is None else text.iloc[i]
        if np.isnan(value):
            if raw is None or pd.isna(raw) or raw.strip() == "" or raw.strip().lower() == "nan":
                reason = "missing or NaN value"
            else:
                reason = f"{raw.strip()!r} is not a number"
        elif np.isinf(value):
            reason = f"infinite value {raw.strip() if raw is not None else value!s}"
        elif positive:
            reason = f"price {value:g} is not positive"
        else:
            reason = f"volume {value:g} is negative"
        problems.append(f"{place.cell(int(i), column)}: {reason}")
    return array


def _check_ranges(values: dict[str, np.ndarray], columns: dict[str, str], place: _Places, problems: list[str]) -> None:
    """High must be >= max(open, close) and low <= min(open, close)."""
    o, h, lo, c = (values[name] for name in PRICE_COLUMNS)
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    for i in np.flatnonzero(h < top)[:MAX_PROBLEMS]:
        problems.append(f"{place.cell(int(i), columns['high'])}: high {h[i]:g} is below max(open, close) {top[i]:g}")
    for i in np.flatnonzero(lo > bottom)[: max(0, MAX_PROBLEMS - len(problems))]:
        problems.append(f"{place.cell(int(i), columns['low'])}: low {lo[i]:g} is above min(open, close) {bottom[i]:g}")


def _timestamps(series: pd.Series, column: str, place: _Places, problems: list[str]) -> np.ndarray:
    """Timestamps as int64 ns UTC: ISO 8601 (naive = UTC, offsets converted) or
    epoch seconds / milliseconds (numbers)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series
        stamps = series.dt.tz_localize("UTC") if getattr(series.dt, "tz", None) is None else series.dt.tz_convert("UTC")
        bad = stamps.isna().to_numpy()
        result = _to_ns(stamps)
    elif pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(numbers)
        finite = numbers[~bad]
        scale = 1_000_000 if finite.size and np.nanmax(np.abs(finite)) > EPOCH_MS_THRESHOLD else NS_PER_SECOND
        if pd.api.types.is_integer_dtype(series.dtype):
            result = series.to_numpy(dtype=np.int64) * scale
        else:
            result = np.where(bad, 0, np.round(np.where(bad, 0, numbers) * scale)).astype(np.int64)
    else:
        text = series.astype("string").str.strip()
        stamps = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        bad = stamps.isna().to_numpy()
        result = _to_ns(stamps)
    for i in np.flatnonzero(bad)[: MAX_PROBLEMS - len(problems)]:
        raw = series.iloc[i]
        what = (
            "missing timestamp"
            if pd.isna(raw) or str(raw).strip() == ""
            else f"unparseable timestamp {str(raw).strip()!r}"
        )
        problems.append(f"{place.cell(int(i), str(column))}: {what}")
    return result


def _to_ns(stamps: pd.Series) -> np.ndarray:
    """UTC-aware datetimes to int64 ns (NaT becomes 0; callers reject those rows)."""
    naive = stamps.dt.tz_localize(None).astype("datetime64[ns]")
    return naive.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat()
