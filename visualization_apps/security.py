"""Who may talk to the dashboard, and the safe defaults every response gets.

`SecurityMiddleware` wraps the whole WSGI app (pages, API, static files and the
Socket.IO endpoint, which Flask-SocketIO serves beneath Flask's own routing), so
that nothing answers without it:

* a Host allow-list: the bound address (bound to a wildcard: this machine's own
  names and interface addresses), ``localhost``, ``127.0.0.1``, ``::1`` and
  the ``ALLOWED_HOSTS`` setting (``--allowed-host``); any other Host is refused
  with 403 (DNS rebinding: a foreign name that resolves here);
* an access token when ``TOKEN`` is set (``--token``, or generated when the server
  binds beyond loopback, like Jupyter's): ``Authorization: token T`` (or
  ``Bearer T``), or ``?token=T`` once, which sets a cookie for the next requests;
  without it, 401;
* the security headers (`SECURITY_HEADERS`) on every response, errors included;
* Engine.IO's plain-text errors (a refused Origin, a bad session) as JSON.

Inside Flask, `register_security` adds the Origin check of changing requests and
JSON answers for every HTTP error (404 and 405 included).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask, Response, jsonify, request
from gunicorn.http.errors import ParseException as MalformedBody
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    # Only this app's script files: no inline scripts (page data sits in data-
    # attributes) and no eval (Plotly, parcoords included, works without it).
    "script-src 'self'",
    # Plotly writes its own <style> rules at run time; without them its charts
    # lose their layout (tests/test_browser.py fails).
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])  # fmt: skip
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers without CSP 2
)
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
TOKEN_COOKIE = "dashboard_token"
"""The token cookie's name, followed by the server's port: browsers keep cookies by
host, not by port, so two dashboards on one machine would overwrite each other's."""
TOKEN_PARAM = "token"

StartResponse = Callable[..., Any]


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` (a name or address) serves this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(bind: str | None) -> bool:
    """Whether binding ``bind`` listens on every interface (``0.0.0.0``, ``::``)."""
    return bind is not None and bind.strip("[]") in WILDCARDS


def allowed_hosts(bind: str | None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host names accepted (lower case, without port): the loopback names,
    ``extra``, and the bound address - or, bound to a wildcard (``0.0.0.0``,
    ``::``), this machine's own names and addresses (`machine_hosts`). A foreign
    name is still refused (DNS rebinding)."""
    names = {*LOOPBACK_NAMES, *(h.strip().lower() for h in extra if h.strip())}
    if is_wildcard(bind):
        names.update(machine_hosts(ipv6=True))
    elif bind:
        names.add(bind.strip("[]").lower())
    return frozenset(names)


def machine_hosts(ipv6: bool) -> list[str]:
    """This machine's own names (host name, fully qualified name) and the
    addresses of its interfaces (IPv4, and IPv6 if ``ipv6``; neither loopback
    nor link-local), lower case, names first, without duplicates."""
    names = [socket.gethostname(), socket.getfqdn()]
    addresses: list[str] = []
    with contextlib.suppress(OSError):
        addresses += [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)]
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        # The address this machine's route out would use: connect() on UDP sends nothing.
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.connect((probe, 9))
            addresses.append(str(udp.getsockname()[0]))
    with contextlib.suppress(ImportError):  # psutil (a dependency of dask.distributed): every interface
        import psutil

        for entries in psutil.net_if_addrs().values():
            addresses += [e.address for e in entries if e.family in (socket.AF_INET, socket.AF_INET6)]
    out: list[str] = []
    for name in names:
        if name and name.lower() not in out and not is_loopback(name):
            out.append(name.lower())
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            continue
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or (ip.version == 6 and not ipv6):
            continue
        if str(ip) not in out:
            out.append(str(ip))
    return out


def host_name(header: str) -> str:
    """The name of a Host header without its port: ``[::1]:5000`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


class SecurityMiddleware:
    """The Host allow-list, the access token and the security headers, around
    ``app`` (a WSGI app). ``token`` None: no token asked (a loopback server)."""

    def __init__(self, app: Callable[..., Any], hosts: frozenset[str], token: str | None) -> None:
        self.app = app
        self.hosts = hosts
        self.token = token or None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if host_name(host) not in self.hosts:
            log.warning("refused a request for host %r (%s)", host, environ.get("PATH_INFO"))
            detail = f"Host: {host}; start the server with --allowed-host NAME to serve that name"
            return _refuse(start_response, "403 FORBIDDEN", "host not allowed", detail)
        set_cookie = None
        if self.token is not None:
            given, from_query = self._given_token(environ)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                detail = "give the token printed at start: ?token=..., or the header 'Authorization: Bearer ...' (or 'token ...')"
                return _refuse(start_response, "401 UNAUTHORIZED", "access token required", detail)
            if from_query:
                set_cookie = f"{token_cookie(environ)}={self.token}; Path=/; HttpOnly; SameSite=Strict"

        plain: list[tuple[str, list[tuple[str, str]]]] = []  # a Socket.IO error held back, to answer as JSON

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Werkzeug's and gunicorn's servers write the Date header themselves: the one
            # a file answer carries (send_file's) would be a second.
            headers = [(n, v) for n, v in headers if n.lower() != "date"]
            present = {name.lower() for name, _ in headers}
            headers = [*headers, *((n, v) for n, v in SECURITY_HEADERS if n.lower() not in present)]
            if set_cookie is not None:
                headers.append(("Set-Cookie", set_cookie))
            if socketio_path and status[:1] == "4" and _content_type(headers).startswith("text/plain"):
                plain.append((status, headers))
                return lambda data: None
            return start_response(status, headers, exc_info)

        socketio_path = environ.get("PATH_INFO", "").startswith("/socket.io")
        result = self.app(environ, start)
        if not plain:
            return result
        return _as_json(start_response, *plain[0], result, environ.get("HTTP_ORIGIN"))

    @staticmethod
    def _given_token(environ: dict[str, Any]) -> tuple[str | None, bool]:
        """The token a request carries and whether it came in the query string."""
        scheme, _, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip(), False
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if query.get(TOKEN_PARAM):
            return query[TOKEN_PARAM][0], True
        cookie = parse_cookie(environ).get(token_cookie(environ))
        return cookie, False


def token_cookie(environ: dict[str, Any]) -> str:
    """The name of this server's token cookie (`TOKEN_COOKIE` and its port)."""
    return f"{TOKEN_COOKIE}_{environ.get('SERVER_PORT', '')}"


def _content_type(headers: list[tuple[str, str]]) -> str:
    return next((v.lower() for n, v in headers if n.lower() == "content-type"), "")


def _as_json(start_response: StartResponse, status: str, headers: list[tuple[str, str]], result: Iterable[bytes],
             origin: str | None) -> list[bytes]:  # fmt: skip
    """Engine.IO's plain-text 4xx (``"Not an accepted origin."``, a bad session
    id, ...) answered as JSON like every other error."""
    try:
        text = b"".join(result).decode(errors="replace")
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    try:
        message = json.loads(text)
    except ValueError:
        message = text
    message = str(message).strip().rstrip(".") or "bad request"
    details = [f"Origin: {origin}"] if origin and "origin" in message.lower() else []
    body = json.dumps({"error": message[:1].lower() + message[1:], "details": details}).encode()
    kept = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
    start_response(status, [*kept, ("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _refuse(start_response: StartResponse, status: str, error: str, detail: str) -> list[bytes]:
    body = json.dumps({"error": error, "details": [detail]}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *SECURITY_HEADERS]
    start_response(status, headers)
    return [body]


def register_security(app: Flask) -> None:
    """Wrap ``app`` in `SecurityMiddleware` (settings ``BIND_HOST``,
    ``ALLOWED_HOSTS``, ``TOKEN``) and install the Origin check and the JSON
    answers of HTTP errors. Call it after Flask-SocketIO wrapped the app."""
    hosts = allowed_hosts(app.config.get("BIND_HOST"), app.config.get("ALLOWED_HOSTS") or ())
    app.wsgi_app = SecurityMiddleware(app.wsgi_app, hosts, app.config.get("TOKEN"))  # type: ignore[method-assign]

    @app.before_request
    def same_origin_only():
        """Changing requests from a browser must come from this app's own pages."""
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            origin = request.headers.get("Origin")
            if origin is not None and _origin(origin) != _origin(request.host_url):
                return jsonify({"error": "cross-origin request refused", "details": [f"Origin: {origin}"]}), 403
        return None

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        """Every HTTP error as JSON (404 of unknown routes, 405, 413, ...)."""
        response = jsonify({"error": (exc.description if exc.code != 404 else "not found") or exc.name,
                            "details": [request.path] if exc.code in (404, 405) else []})  # fmt: skip
        response.status_code = exc.code or 500
        if exc.code == 405:
            allowed = getattr(exc, "valid_methods", None) or []
            response.headers["Allow"] = ", ".join(sorted(allowed))
        return response

    @app.errorhandler(MalformedBody)
    def malformed_body(exc: Exception) -> tuple[Response, int]:
        """gunicorn's error reading a body it was sent wrong (a bad chunk size ...):
        raised where the app reads the body, answered like Werkzeug's own 400."""
        return jsonify({"error": "malformed request body", "details": [str(exc)[:200]]}), 400

    @app.errorhandler(500)
    def server_error(exc):  # pragma: no cover - a bug; never a traceback page
        log.exception("unhandled error on %s", request.path)
        return jsonify({"error": "internal error", "details": []}), 500


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
