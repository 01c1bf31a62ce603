"""Datasets: the bundled demo files and uploaded ones, described for the API.

An upload is validated like any data file, and its answer carries what the client
must know: the warnings (rows sorted, columns ignored) and, when the same content
was uploaded before (same content hash, the `MarketData.fingerprint`), the
existing dataset instead of a copy. A dataset a run was made on is never deleted.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from optimizer.data import MarketData, load_candles
from optimizer.data.loader import PRICE_COLUMNS, TIME_NAMES
from optimizer.errors import DataError
from optimizer.stats import iso_times
from visualization_apps.assets import BUNDLED_DATA
from visualization_apps.storage import Store

log = logging.getLogger(__name__)

BUNDLED_DIR = BUNDLED_DATA


def dataset_record(dataset_id: str, name: str, path: Path, market: MarketData) -> dict[str, Any]:
    """The stored description of a validated dataset."""
    time = market.candles.time
    return {
        "id": dataset_id,
        "name": name,
        "path": str(path),
        "rows": len(market),
        "bar_seconds": market.bar_ns / 1e9,
        "first_time": iso_times(time[:1])[0],
        "last_time": iso_times(time[-1:])[0],
        "fingerprint": market.fingerprint(),
    }


def register_bundled(store: Store, folder: Path = BUNDLED_DIR) -> None:
    """Register the demo files shipped in ``data/`` (id: the file name without suffix)."""
    for path in sorted(folder.glob("*.csv")):
        if store.dataset(path.stem) is not None:
            continue
        try:
            market = MarketData(load_candles(path))
        except DataError as exc:  # pragma: no cover - the bundled files are valid
            log.error("bundled dataset %s is invalid: %s", path.name, exc)
            continue
        store.add_dataset({**dataset_record(path.stem, path.name, path, market), "bundled": 1})


UPLOAD_SUFFIXES = (".csv", ".parquet", ".pq")
MAX_LINE_CHARS = 100_000
"""The longest CSV line an upload may have: a row of candles is a few dozen
characters, so a longer one is not a row (a file without line breaks, a binary)."""


@dataclass
class Upload:
    """The outcome of an upload: the dataset (new or the existing one with the same
    content), whether it was created, and the warnings for the client."""

    record: dict[str, Any]
    created: bool
    warnings: list[str] = field(default_factory=list)


class DatasetInUse(Exception):
    """A dataset that cannot be deleted: bundled, or runs were made on it."""

    def __init__(self, message: str, runs: list[int]) -> None:
        super().__init__(message)
        self.runs = runs


def store_upload(store: Store, uploads: Path, filename: str, source: BinaryIO) -> Upload:
    """Validate an uploaded file and store it as a dataset, or answer the existing
    dataset with the same content. Raises `DataError` naming the problem in terms
    of ``filename`` (never the temporary file's name)."""
    name = Path(filename).name[:200]
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DataError(f"file: {suffix or 'no extension'} is not .csv or .parquet")
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=suffix, dir=uploads)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        with _loader_warnings() as caught:
            try:
                if suffix == ".csv":
                    _check_lines(tmp, name)
                candles = load_candles(tmp)
            except DataError as exc:
                raise DataError([d.replace(tmp.name, name) for d in exc.details]) from exc
        warnings = [w.replace(tmp.name, name) for w in caught] + _ignored_columns(tmp, name)
        for warning in warnings:
            log.warning("upload %s: %s", name, warning)
        market = MarketData(candles)
        existing = store.dataset_with_fingerprint(market.fingerprint())
        if existing is not None:
            existing.pop("path", None)
            return Upload(existing, False, warnings)
        dataset_id = uuid.uuid4().hex[:12]
        target = uploads / f"{dataset_id}{suffix}"
        os.replace(tmp, target)
        record = dataset_record(dataset_id, name, target, market)
        store.add_dataset(record)
        record.pop("path")
        return Upload({**record, "bundled": False}, True, warnings)
    finally:
        tmp.unlink(missing_ok=True)


def delete_dataset(store: Store, uploads: Path, dataset_id: str) -> bool:
    """Delete an uploaded dataset that no run uses, and its file; False if there is
    no such dataset. Raises `DatasetInUse` for a bundled one or one in use."""
    found = store.dataset(dataset_id)
    if found is None:
        return False
    if found["bundled"]:
        raise DatasetInUse(f"dataset {dataset_id!r} is bundled with the application; it cannot be deleted", [])
    runs = store.delete_unused_dataset(dataset_id)
    if runs:
        listed = ", ".join(str(r) for r in runs)
        raise DatasetInUse(f"dataset {dataset_id!r} is used by run{'s' * (len(runs) > 1)} {listed}; "
                           "delete those runs first", runs)  # fmt: skip
    path = Path(found["path"]).resolve()
    if path.parent == uploads.resolve():  # only ever a file of the uploads folder
        path.unlink(missing_ok=True)
    return True


def _check_lines(path: Path, name: str) -> None:
    """A CSV line far longer than any row of candles is the problem to report
    (pandas would read it as one odd row: "1 data row; at least 2 are needed")."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if len(line) > MAX_LINE_CHARS:
                length = len(line.rstrip(b"\r\n").decode("utf-8", errors="replace"))
                raise DataError(f"{name} line {number}: {length:,} characters long; a row of candles is a few dozen "
                                f"(at most {MAX_LINE_CHARS:,} are read): is it a CSV file with one row per line?")  # fmt: skip


def _ignored_columns(path: Path, name: str) -> list[str]:
    """A warning naming the columns the loader does not read (if any)."""
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                columns = next(csv.reader(handle), [])
        else:
            import pyarrow.parquet as pq

            columns = list(pq.ParquetFile(path).schema_arrow.names)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):  # pragma: no cover - the file was just read
        return []
    used = {c for c in columns if c.strip().lower() in (*PRICE_COLUMNS, "volume")}
    times = [c for c in columns if c.strip().lower() in TIME_NAMES]
    used.add(times[0] if times else columns[0])
    ignored = [c for c in columns if c not in used]
    if not ignored:
        return []
    listed = ", ".join(repr(c) for c in ignored)
    return [f"{name}: column{'s' * (len(ignored) > 1)} {listed} ignored (only time, open, high, low, close and "
            "volume are read)"]  # fmt: skip


@contextmanager
def _loader_warnings() -> Iterator[list[str]]:
    """The data loader's warnings logged by this thread meanwhile (the messages,
    kept from the log: the caller logs them under the upload's real name)."""
    loader = logging.getLogger("optimizer.data.loader")
    caught: list[str] = []
    thread = threading.get_ident()

    def keep(record: logging.LogRecord) -> bool:
        if record.thread != thread or record.levelno < logging.WARNING:
            return True
        caught.append(record.getMessage())
        return False

    loader.addFilter(keep)
    try:
        yield caught
    finally:
        loader.removeFilter(keep)
