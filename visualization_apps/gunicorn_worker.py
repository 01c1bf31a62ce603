"""gunicorn's threaded worker, its own error answers in JSON with the security headers.

gunicorn answers a request it cannot parse (a request line over its limit: 414,
too many or too long headers: 431, a bad HTTP version or request line: 400)
itself, before the WSGI app (and so `security.SecurityMiddleware`) sees it, with
an HTML page and none of `security.SECURITY_HEADERS`. `JsonErrorWorker` keeps
gunicorn's choice of status and message and writes them as
``{"error": ..., "details": [...]}``::

    gunicorn -w 1 --threads 100 -k visualization_apps.gunicorn_worker.JsonErrorWorker \\
        --bind 127.0.0.1:5000 visualization_apps.wsgi:app
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import socket
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from visualization_apps.security import SECURITY_HEADERS

_MESSAGE = re.compile(rb"</h1>\s*(.*?)\s*</body>", re.S)


class _Written:
    """The client socket as gunicorn's error writer sees it: what it sends is kept."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.data = bytearray()

    def sendall(self, data: bytes) -> None:
        self.data += data

    def send(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def setblocking(self, flag: bool) -> None:  # nothing is sent through it
        pass

    def __getattr__(self, name: str) -> Any:  # its address, its timeout: the real socket's
        return getattr(self.sock, name)


def as_json(answer: bytes) -> bytes:
    """gunicorn's HTML error answer (status line, headers, page) as a JSON one
    with the security headers; one it does not recognise keeps its body and
    gains the headers."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *headers = head.split(b"\r\n")
    found = _MESSAGE.search(body)
    if found is not None:
        reason = status_line.split(b" ", 2)[2].decode("latin-1") if status_line.count(b" ") >= 2 else "error"
        detail = html.unescape(found.group(1).decode("utf-8", "replace")).strip()
        body = json.dumps({"error": reason.lower(), "details": [detail] if detail else []}).encode()
        headers = [b"Connection: close", b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    headers += [f"{name}: {value}".encode("latin-1") for name, value in SECURITY_HEADERS]
    return b"\r\n".join([status_line, *headers]) + b"\r\n\r\n" + body


class JsonErrorWorker(ThreadWorker):
    """`gunicorn.workers.gthread.ThreadWorker` whose answers to unparsable
    requests are JSON, with the security headers."""

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        written = _Written(client)
        super().handle_error(req, written, addr, exc)  # gunicorn's status, message and log lines
        if not written.data:
            return
        with contextlib.suppress(OSError):  # the client has gone: nothing to answer
            client.sendall(as_json(bytes(written.data)))
