"""The datasets' rows, as a part of `visualization_apps.storage.Store`: stored,
listed, found by content, and deleted while no run was made on them."""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager
from typing import Any

_RUNS_ON = "SELECT id FROM runs WHERE dataset_id = ? ORDER BY id"


class DatasetRecords:
    """The dataset reads and writes of `Store` (which gives ``_connect`` and ``transaction``)."""

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover - Store's
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover - Store's
        raise NotImplementedError

    def add_dataset(self, record: dict[str, Any]) -> None:
        """Store (or replace) a dataset's row: ``record`` has its id, name, path,
        rows, bar_seconds, first_time, last_time, fingerprint and, optionally,
        bundled and created_at (Unix seconds)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO datasets (id, name, path, rows, bar_seconds, first_time, last_time, "
                "fingerprint, bundled, created_at) VALUES (:id, :name, :path, :rows, :bar_seconds, :first_time, "
                ":last_time, :fingerprint, :bundled, :created_at)",
                {"created_at": time.time(), "bundled": 0, **record},
            )

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset, the bundled ones first, then by upload time."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM datasets ORDER BY bundled DESC, created_at, id").fetchall()
        return [_dataset(row) for row in rows]

    def dataset(self, dataset_id: str) -> dict[str, Any] | None:
        """One dataset with its file's ``path``, or None."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        return None if row is None else {**_dataset(row), "path": row["path"]}

    def dataset_with_fingerprint(self, fingerprint: str) -> dict[str, Any] | None:
        """The first stored dataset whose content hash is ``fingerprint``, if any."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM datasets WHERE fingerprint = ? ORDER BY bundled DESC, created_at, id LIMIT 1",
                (fingerprint,),
            ).fetchone()
        return None if row is None else {**_dataset(row), "path": row["path"]}

    def runs_by_dataset(self) -> dict[str, list[int]]:
        """Each dataset that runs were made on -> those runs' ids, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT dataset_id, id FROM runs ORDER BY id").fetchall()
        used: dict[str, list[int]] = {}
        for row in rows:
            used.setdefault(row["dataset_id"], []).append(row["id"])
        return used

    def runs_using_dataset(self, dataset_id: str) -> list[int]:
        """The ids of the runs made on ``dataset_id``, oldest first."""
        with self._connect() as db:
            return [row["id"] for row in db.execute(_RUNS_ON, (dataset_id,)).fetchall()]

    def delete_unused_dataset(self, dataset_id: str) -> list[int]:
        """Remove a dataset's row unless runs were made on it (its file is the
        caller's); returns the ids of those runs (empty: deleted, or there was none)."""
        with self.transaction() as db:
            used = [row["id"] for row in db.execute(_RUNS_ON, (dataset_id,)).fetchall()]
            if not used:
                db.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        return used


def _dataset(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"], "name": row["name"], "rows": row["rows"], "bar_seconds": row["bar_seconds"],
        "first_time": row["first_time"], "last_time": row["last_time"], "fingerprint": row["fingerprint"],
        "bundled": bool(row["bundled"]),
    }  # fmt: skip

