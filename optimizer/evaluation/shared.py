"""Files in shared memory between the coordinating process and its workers.

* The market data: the arrays of a `Candles` are written once into one file in
  ``/dev/shm`` (memory, on Linux; the system's temporary folder elsewhere), and
  every worker maps it read-only: the pages are shared, not copied. What a worker
  receives is a small `SharedCandles` descriptor, never the data itself.
* A worker's replies (`ReplyFile`): written to files instead of its pipe.

The files have no name: each is deleted right after it is made, and its open
descriptor is handed to each worker when the worker is spawned (`InheritedFd`).
So nothing is left in ``/dev/shm`` however the processes end (a SIGKILL
included): the memory is freed when the last of them closes the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from optimizer.data import Candles
from optimizer.data.candles import FIELDS

SHM_DIR = Path("/dev/shm")


class InheritedFd:
    """An open file descriptor that a spawned process receives with its arguments
    (as `multiprocessing` hands a process its pipes); pickled only for that."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self):
        return _rebuild_fd, (reduction.DupFd(self.fd),)


def _rebuild_fd(dup) -> InheritedFd:  # pragma: no cover - runs in the spawned process
    return InheritedFd(dup.detach())


def unnamed_file() -> int:
    """A new empty file in shared memory, open for reading and writing, with no name."""
    fd, path = tempfile.mkstemp(prefix="optimizer-", suffix=".bin", dir=_shm_folder())
    os.unlink(path)
    return fd


@dataclass(frozen=True)
class SharedCandles:
    """Where the arrays of a `Candles` are: a file of ``len(FIELDS)`` arrays of
    ``length`` 8-byte values, in `FIELDS` order."""

    file: InheritedFd
    length: int
    bar_ns: int

    def attach(self) -> Candles:
        """`Candles` whose arrays view the shared pages.

        The mapping is copy-on-write: reads share the pages; a write (there should
        be none) would go to a private copy, never to the other workers' data. The
        arrays are writeable numpy arrays, so the compiled kernels see the same
        array types as everywhere else (no separate compilation).
        """
        with os.fdopen(os.dup(self.file.fd), "rb") as handle:  # the mapping outlives the handle
            mapped = np.memmap(handle, dtype=np.uint8, mode="c", shape=(8 * self.length * len(FIELDS),))
        arrays = {}
        for k, field in enumerate(FIELDS):
            dtype = np.int64 if field == "time" else np.float64
            arrays[field] = np.ndarray((self.length,), dtype=dtype, buffer=mapped, offset=8 * self.length * k)
        return Candles.from_arrays(arrays, self.bar_ns)


class SharedMarket:
    """Writes one run's candles to shared memory; `close` lets them go."""

    def __init__(self, candles: Candles) -> None:
        self.fd = unnamed_file()
        with os.fdopen(os.dup(self.fd), "wb") as handle:
            for field in FIELDS:
                handle.write(np.ascontiguousarray(getattr(candles, field)).tobytes())
        self.descriptor = SharedCandles(InheritedFd(self.fd), len(candles), candles.bar_ns)

    def close(self) -> None:
        """Close the file (the pages stay valid in workers until they unmap them)."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


class ReplyFile:
    """A worker's replies through a file in shared memory instead of its pipe.

    A reply of a batch is about a megabyte; through a pipe (a socket of some 200 kB)
    the worker would wait, blocked, while the coordinating process reads it in
    turns. Written to this file it costs the worker one copy and the coordinator
    one read; the pipe carries only its length. A worker has two such files and
    writes its replies to them in turn (it holds two batches); the coordinator reads
    each reply before it sends the batch whose reply goes to the same file. A reply
    that cannot be written (no space left) goes through the pipe instead.
    """

    def __init__(self) -> None:
        self.fd = unnamed_file()
        self.file = InheritedFd(self.fd)

    def read(self, message: bytes) -> bytes:
        """The reply that ``message`` (what the worker sent through the pipe) stands for."""
        if message[:1] == _THROUGH_PIPE:
            return message[1:]
        size = int.from_bytes(message[1:9], "little")
        chunks = []
        offset = 0
        while offset < size:
            chunk = os.pread(self.fd, size - offset, offset)
            if not chunk:
                raise EOFError("a reply file is shorter than its worker said")
            chunks.append(chunk)
            offset += len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def close(self) -> None:
        """Close the file."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


def send_reply(conn: Connection, fd: int, data: bytes) -> None:
    """In a worker: write ``data`` to its reply file and send its length, or send
    ``data`` itself through the pipe when the file cannot take it."""
    try:
        view = memoryview(data)
        offset = 0
        while offset < len(data):
            offset += os.pwrite(fd, view[offset:], offset)
    except OSError:
        conn.send_bytes(_THROUGH_PIPE + data)
        return
    conn.send_bytes(_IN_FILE + len(data).to_bytes(8, "little"))


_IN_FILE = b"F"
_THROUGH_PIPE = b"P"


def _shm_folder() -> Path | None:
    """``/dev/shm`` where it is there and writable, else the system's temporary folder."""
    return SHM_DIR if SHM_DIR.is_dir() and os.access(SHM_DIR, os.W_OK) else None
