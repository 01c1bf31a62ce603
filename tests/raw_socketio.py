"""A raw Engine.IO 4 websocket speaking Socket.IO by hand: no client library
between the server and what is measured or attacked. It sends without waiting
for anything (an attacker's flood) and reads packets in the server's order (one
reader per connection; python-socketio's client runs each event's handler in a
thread of its own, so its order is not the server's). Used by tests/test_flood.py
and the load test (bench/dashboard_load.py)."""

from __future__ import annotations

import json
import socket
from typing import Any

import websocket


class RawSocketIO:
    """One connection to a server on loopback ``port``: ``emit`` events, ``read``
    packets (pings answered, acknowledgements recorded in ``acks``)."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        # Without UTF-8 validation: websocket-client's is pure Python, byte by byte
        # (~0.2 ms per KB), and a reader doing it measures itself, not the server
        # (json.loads rejects what is not text anyway).
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                                              timeout=timeout, skip_utf8_validation=True)  # fmt: skip
        assert self.ws.recv().startswith("0")  # Engine.IO open
        self.ws.send("40")  # Socket.IO connect
        while not self.ws.recv().startswith("40"):
            pass
        self.acks: dict[int, Any] = {}
        self._sent = 0

    def emit(self, event: str, *args: Any) -> int:
        """Send ``event`` (with ``args``) asking for an acknowledgement; its number
        (a key of ``acks`` once answered)."""
        number = self._sent
        self._sent += 1
        self.ws.send(f"42{number}" + json.dumps([event, *args]))
        return number

    def read(self) -> str | None:
        """One packet: an event's text (``42[...]``) is returned; a ping is answered
        and an acknowledgement recorded (None). Raises websocket's timeout and
        connection-closed exceptions."""
        packet = self.ws.recv()
        if packet == "2":
            self.ws.send("3")  # Engine.IO ping -> pong
        elif packet.startswith("43"):
            number, _, body = packet[2:].partition("[")
            self.acks[int(number)] = json.loads("[" + body)[0]
        elif packet.startswith("42"):
            return packet
        return None

    def fileno(self) -> socket.socket:
        """The socket, for `select`."""
        return self.ws.sock

    def close(self) -> None:
        """Drop the connection without a closing handshake (a reader thread, not the
        caller, would read the server's answer to one)."""
        self.ws.shutdown()
