"""A bounded least-recently-used cache of numpy arrays, sized in bytes.

Individuals that share a parameter share its indicator: each worker keeps one
`ArrayCache` per dataset, keyed by (kind, parameters, timeframe, candle type).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


class ArrayCache:
    """Maps hashable keys to arrays (or tuples of arrays), evicting the least
    recently used entries once their total size passes ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def lookup(self, key: Hashable) -> object | None:
        """The cached value of ``key`` (a hit, as `get` counts it), or None without
        counting anything (the caller's `get` will count the miss)."""
        entry = self._hit(key)
        return None if entry is None else entry[0]

    def _hit(self, key: Hashable) -> tuple[object, int] | None:
        """``key``'s entry, counted as a hit and made the most recent; None if absent."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        return entry

    def get(self, key: Hashable, compute: Callable[[], object]) -> object:
        """The cached value of ``key``, computing and storing it on a miss."""
        entry = self._hit(key)
        if entry is not None:
            return entry[0]
        self.misses += 1
        value = compute()
        size = _nbytes(value)
        self._entries[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes and len(self._entries) > 1:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
        self.bytes = 0


def _nbytes(value: object) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return 64
