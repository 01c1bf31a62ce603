"""SQLite connections kept open between calls: opening one and setting its pragmas
cost more than a status read (`visualization_apps.storage.Store` takes each call's
connection from here)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

IDLE_CONNECTIONS = 8
"""Connections a pool keeps open between calls."""


class ConnectionPool:
    """Autocommit connections to the database at ``path`` (foreign keys on,
    synchronous NORMAL, rows as `sqlite3.Row`), each used by one thread at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call, reused after it: up to `IDLE_CONNECTIONS` wait
        idle. One that saw an error, or is left inside a transaction, is closed, not
        reused."""
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
        reusable = False
        try:
            yield db
            reusable = not db.in_transaction
        finally:
            with self._lock:
                if reusable and len(self._idle) < IDLE_CONNECTIONS:
                    self._idle.append(db)
                    db = None
            if db is not None:
                db.close()
