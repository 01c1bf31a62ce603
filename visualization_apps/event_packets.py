"""Socket.IO events encoded once, whatever the number of clients they go to.

python-socketio encodes an event for each client it is sent to alone (a
catch-up's ``emit(to=sid)``): it scans the whole payload for binary data, then
JSON-encodes it. Fifty clients catching up on a run of a thousand generations
cost fifty thousand of each, and the GIL they hold starves every other request.
Here an event becomes an Engine.IO packet once (`encoded`), sent as is to every
client (`send`); a run's stored generations are read from the database as
text, once for all the clients catching up on it, and kept as packets
(`GenerationPackets`), and for the clients that take ``generations`` events, as
batches of them joined (`GenerationPackets.batches`), also shared."""

from __future__ import annotations

import bisect
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engineio.packet import MESSAGE, Packet
from flask_socketio import SocketIO

from visualization_apps.storage import Store

CACHE_BYTES = 64 * 1024 * 1024
"""Encoded generations kept between catch-ups, all runs together (bytes of text);
the runs caught up on least recently are dropped first."""

EVENT = "2"
"""Socket.IO's EVENT packet type, in the default namespace, without an acknowledgement id."""


def encoded(event: str, payload: Any) -> Packet:
    """``event`` with ``payload`` (plain JSON: no bytes) as the Engine.IO message
    python-socketio would send for ``emit(event, payload)``, encoded now."""
    return _ready(EVENT + json.dumps([event, payload], separators=(",", ":")))


_STORED_PREFIX = f'{EVENT}["generation",'


def stored_generation(text: str) -> Packet:
    """A ``generation`` event from a summary's stored JSON text, never parsed."""
    return _ready(f"{_STORED_PREFIX}{text}]")


def stored_batch(packets: list[Packet]) -> Packet:
    """One ``generations`` event (a list, in order) of `stored_generation` packets:
    their texts joined, never parsed."""
    texts = ",".join(p.data[len(_STORED_PREFIX) : -1] for p in packets)
    return _ready(f'{EVENT}["generations",[{texts}]]')


def _ready(message: str) -> Packet:
    packet = Packet(MESSAGE, message)
    packet.encode()  # cached in the packet: the writers of all clients send that text
    return packet


def send(socketio: SocketIO, sid: str, packet: Packet) -> bool:
    """Queue ``packet`` for the client ``sid`` (its writer sends it); False if the
    client is gone."""
    server = socketio.server
    eio_sid = server.manager.eio_sid_from_sid(sid, "/")
    if eio_sid is None or not server.manager.is_connected(sid, "/"):
        return False
    server.eio.send_packet(eio_sid, packet)
    return True


@dataclass
class _RunPackets:
    """One run's stored generations as packets, in order; every stored generation
    up to ``upto`` is here. ``chunks`` are the complete `GenerationPackets.batch`
    slices as ``generations`` packets (chunk k: stored generations k*batch to
    (k+1)*batch - 1, by position), ``tail`` the last incomplete one (its first and
    end positions, and its packet) until more is stored."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    generations: list[int] = field(default_factory=list)
    packets: list[Packet] = field(default_factory=list)
    chunks: list[Packet] = field(default_factory=list)
    tail: tuple[int, int, Packet] | None = None
    upto: int = -1
    size: int = 0  # bytes of text counted in GenerationPackets._bytes (under its lock)

    def join(self, size: int) -> int:
        """Join the batches of ``size`` not joined yet (the complete ones, and the
        tail if it changed); the bytes of text this added (under ``lock``)."""
        end, added = len(self.packets), 0
        while (len(self.chunks) + 1) * size <= end:
            first = len(self.chunks) * size
            self.chunks.append(stored_batch(self.packets[first : first + size]))
            added += len(self.chunks[-1].data)
        complete = len(self.chunks) * size
        if self.tail is not None and self.tail[:2] != (complete, end):
            added -= len(self.tail[2].data)
            self.tail = None
        if self.tail is None and complete < end:
            self.tail = (complete, end, stored_batch(self.packets[complete:end]))
            added += len(self.tail[2].data)
        return added


_T = TypeVar("_T")
Batch = tuple[tuple[int, ...], Packet]
"""A ``generations`` packet and the generations it carries, in order."""


class GenerationPackets:
    """The stored generations of runs as ``generation`` packets, read once: a
    catch-up reads from the database only what was stored since the last one, and
    simultaneous catch-ups on one run wait for one read (``_RunPackets.lock``)
    instead of each reading everything. At most `CACHE_BYTES` are kept.

    For clients that take ``generations`` events, the stored generations are also
    joined into batches of ``batch`` (`batches`), cut at the same positions for
    every client so that fifty catch-ups share one packet per batch, as they share
    one per generation."""

    def __init__(self, store: Store, max_bytes: int = CACHE_BYTES, batch: int = 256) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.batch = batch
        self._lock = threading.Lock()  # the table of runs and the byte count
        self._runs: OrderedDict[int, _RunPackets] = OrderedDict()
        self._bytes = 0

    def after(self, run_id: int, after: int) -> list[tuple[int, Packet]]:
        """The run's stored generations after ``after``, in order: (generation, packet)."""

        def found(run: _RunPackets, start: int) -> tuple[list[tuple[int, Packet]], int]:
            return list(zip(run.generations[start:], run.packets[start:], strict=True)), 0

        return self._read(run_id, after, found)

    def batches(self, run_id: int, after: int) -> list[Batch]:
        """The run's stored generations after ``after`` as ``generations`` packets
        of at most `batch` generations each, in order. The first may be cut short
        (``after`` inside a batch: built for this call); the others are kept."""

        def found(run: _RunPackets, start: int) -> tuple[list[Batch], int]:
            added = run.join(self.batch)
            size, end, first = self.batch, len(run.packets), start
            out: list[Batch] = []
            while first < end:
                last = min(first - first % size + size, end)
                if first % size:  # after falls inside this batch: its newer part alone
                    packet = stored_batch(run.packets[first:last])
                elif last - first == size:
                    packet = run.chunks[first // size]
                else:
                    assert run.tail is not None
                    packet = run.tail[2]
                out.append((tuple(run.generations[first:last]), packet))
                first = last
            return out, added

        return self._read(run_id, after, found)

    def _read(self, run_id: int, after: int, found: Callable[[_RunPackets, int], tuple[_T, int]]) -> _T:
        """``found(run, start)`` (what to return, and the bytes of text it added to
        the run) under the run's lock, once what was stored since the last read is
        read; ``start``: the position of the first stored generation after ``after``."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                run = self._runs[run_id] = _RunPackets()
            self._runs.move_to_end(run_id)
        with run.lock:
            added = 0
            for generation, text in self.store.generation_texts_after(run_id, run.upto):
                run.generations.append(generation)
                run.packets.append(stored_generation(text))
                run.upto = generation
                added += len(text)
            result, more = found(run, bisect.bisect_right(run.generations, after))
            added += more
        with self._lock:
            if self._runs.get(run_id) is run:  # not forgotten meanwhile
                run.size += added
                self._bytes += added
            self._shrink()
        return result

    def forget(self, run_id: int) -> None:
        """Drop what is kept of a run (its stored generations may be written again: a resume)."""
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is not None:
                self._bytes -= run.size

    def kept_bytes(self) -> int:
        """Bytes of text kept, all runs together."""
        with self._lock:
            return self._bytes

    def _shrink(self) -> None:
        """Drop the runs caught up on least recently while over `max_bytes` (the
        last one too if it alone is: its next catch-up reads the database again)."""
        while self._bytes > self.max_bytes and self._runs:
            _, run = self._runs.popitem(last=False)
            self._bytes -= run.size
