"""The embedded server's answers to requests it cannot parse, as JSON with the
security headers, like every other error.

Werkzeug's development server (``python app.py``) answers a request line over
64 KiB (414), a header over its limit (431), an unknown HTTP version or a
garbled request line (400) itself, before the WSGI app (and so
`security.SecurityMiddleware`) sees the request: the standard library writes an
HTML page without any of `security.SECURITY_HEADERS`. `JsonErrorRequestHandler`
writes those answers as ``{"error": ..., "details": [...]}``.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from werkzeug.serving import WSGIRequestHandler

from visualization_apps.security import SECURITY_HEADERS


class JsonErrorRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, its own error answers in JSON; an HTTP/0.9
    request (no version: its answer would have no status line and no headers) and an
    unknown version are refused with 400, as gunicorn refuses them (no 5xx from any input)."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(400, "HTTP/0.9 requests are not served: send HTTP/1.0 or HTTP/1.1")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            code = HTTPStatus.BAD_REQUEST
        try:
            short, long = self.responses[code]
        except KeyError:
            short, long = "error", ""
        self.log_error("code %d, message %s", code, message or short)
        if self.request_version == "HTTP/0.9":  # the default before a request line parsed: answer with headers
            self.request_version = "HTTP/1.0"
        self.send_response(code, short)
        self.send_header("Connection", "close")
        body = b""
        if code >= 200 and code not in (HTTPStatus.NO_CONTENT, HTTPStatus.RESET_CONTENT, HTTPStatus.NOT_MODIFIED):
            detail = message if message and message != short else (explain or long)
            body = json.dumps({"error": short.lower(), "details": [detail] if detail else []}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
