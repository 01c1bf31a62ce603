"""Datasets: the bundled demo files and uploaded ones, described for the API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from optimizer.data import MarketData, load_candles
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
