"""Market data in shared memory: placed once per run, mapped by every worker.

The arrays of a `Candles` are written once into one file in ``/dev/shm`` (memory,
on Linux; the system's temporary folder elsewhere), and every worker maps that
file read-only: the pages are shared, not copied. What a worker receives is a
small `SharedCandles` descriptor (the file's path and the arrays' length), never
the data itself.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.data import Candles
from optimizer.data.candles import FIELDS

SHM_DIR = Path("/dev/shm")


@dataclass(frozen=True)
class SharedCandles:
    """Where the arrays of a `Candles` are: a file of ``len(FIELDS)`` arrays of
    ``length`` 8-byte values, in `FIELDS` order."""

    path: str
    length: int
    bar_ns: int

    def attach(self) -> Candles:
        """`Candles` whose arrays view the shared pages.

        The mapping is copy-on-write: reads share the pages; a write (there should
        be none) would go to a private copy, never to the other workers' data. The
        arrays are writeable numpy arrays, so the compiled kernels see the same
        array types as everywhere else (no separate compilation).
        """
        mapped = np.memmap(self.path, dtype=np.uint8, mode="c", shape=(8 * self.length * len(FIELDS),))
        arrays = {}
        for k, field in enumerate(FIELDS):
            dtype = np.int64 if field == "time" else np.float64
            arrays[field] = np.ndarray((self.length,), dtype=dtype, buffer=mapped, offset=8 * self.length * k)
        return Candles.from_arrays(arrays, self.bar_ns)


class SharedMarket:
    """Writes one run's candles to shared memory; `close` deletes them."""

    def __init__(self, candles: Candles) -> None:
        folder = SHM_DIR if SHM_DIR.is_dir() and os.access(SHM_DIR, os.W_OK) else None
        fd, path = tempfile.mkstemp(prefix="optimizer-candles-", suffix=".bin", dir=folder)
        with os.fdopen(fd, "wb") as handle:
            for field in FIELDS:
                handle.write(np.ascontiguousarray(getattr(candles, field)).tobytes())
        self.path = path
        self.descriptor = SharedCandles(path, len(candles), candles.bar_ns)

    def close(self) -> None:
        """Delete the file (mapped pages stay valid in workers until they unmap)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
