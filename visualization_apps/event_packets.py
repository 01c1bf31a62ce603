"""Socket.IO events encoded once, whatever the number of clients they go to.

python-socketio encodes an event for each client it is sent to alone (a
catch-up's ``emit(to=sid)``): it scans the whole payload for binary data, then
JSON-encodes it. Fifty clients catching up on a run of a thousand generations
cost fifty thousand of each, and the GIL they hold starves every other request.
Here an event becomes an Engine.IO packet once (`encoded`), sent as is to every
client (`send`); a run's stored generations are read from the database as
text, once for all the clients catching up on it, and kept as packets
(`GenerationPackets`)."""

from __future__ import annotations

import bisect
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

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


def stored_generation(text: str) -> Packet:
    """A ``generation`` event from a summary's stored JSON text, never parsed."""
    return _ready(f'{EVENT}["generation",{text}]')


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
    up to ``upto`` is here."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    generations: list[int] = field(default_factory=list)
    packets: list[Packet] = field(default_factory=list)
    upto: int = -1
    size: int = 0  # bytes of text counted in GenerationPackets._bytes (under its lock)


class GenerationPackets:
    """The stored generations of runs as ``generation`` packets, read once: a
    catch-up reads from the database only what was stored since the last one, and
    simultaneous catch-ups on one run wait for one read (``_RunPackets.lock``)
    instead of each reading everything. At most `CACHE_BYTES` are kept."""

    def __init__(self, store: Store, max_bytes: int = CACHE_BYTES) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # the table of runs and the byte count
        self._runs: OrderedDict[int, _RunPackets] = OrderedDict()
        self._bytes = 0

    def after(self, run_id: int, after: int) -> list[tuple[int, Packet]]:
        """The run's stored generations after ``after``, in order: (generation, packet)."""
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
            start = bisect.bisect_right(run.generations, after)
            found = list(zip(run.generations[start:], run.packets[start:], strict=True))
        with self._lock:
            if self._runs.get(run_id) is run:  # not forgotten meanwhile
                run.size += added
                self._bytes += added
            self._shrink()
        return found

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
