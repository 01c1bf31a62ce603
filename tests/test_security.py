"""Who may talk to a real dashboard server: the Host allow-list (DNS rebinding),
the access token of a server bound beyond loopback, and the security headers on
every kind of response (pages, API, errors, static files, Socket.IO)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest
import requests
import socketio

from tests.conftest import ROOT
from tests.server import SERVERS, Server
from tests.test_api import run_config

pytestmark = pytest.mark.slow  # real server processes

HEADERS = {
    "Content-Security-Policy": None,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
POLLING = "/socket.io/?EIO=4&transport=polling"


class ServerWith(Server):
    """The embedded server with more command-line arguments."""

    def __init__(self, data_dir, *args: str, **kw) -> None:
        super().__init__(data_dir, **kw)
        self.args = list(args)

    def command(self) -> list[str]:
        return [*super().command(), *self.args]

    def start(self, timeout: float = 60) -> ServerWith:
        if "--host" not in self.args and not any(a.startswith("--token") for a in self.args):
            return super().start(timeout)
        # The health check needs the token: wait for the printed one.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("a")
        self.process = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=handle,
                                        stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                requests.get(self.url + "/api/health", timeout=1)
                return self
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise AssertionError(self.log.read_text())

    def printed_token(self) -> str:
        found = re.search(r"\?token=([\w-]+)", self.log.read_text())
        assert found, self.log.read_text()
        return found.group(1)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    server = ServerWith(tmp_path_factory.mktemp("local"), "--allowed-host", "dashboard.test").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """Bound to every interface (reached here over loopback only), no --token."""
    server = ServerWith(tmp_path_factory.mktemp("public"), "--host", "0.0.0.0").start()
    yield server
    server.stop()


def _socket(server: Server, headers: dict | None = None, auth_query: str = "") -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(server.url + auth_query, headers=headers or {}, transports=["polling"], wait_timeout=10)
    return client


@pytest.mark.parametrize("path", ["/", "/runs/new", "/api/runs", "/api/health", "/static/app.css", POLLING])
def test_a_foreign_host_is_refused_on_pages_api_static_and_socketio(local, path):
    response = local.get(path, headers={"Host": f"evil.example:{local.port}"})
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "host not allowed" and "evil.example" in response.json()["details"][0]
    for name in HEADERS:
        assert name in response.headers
    assert local.get(path, headers={"Host": f"localhost:{local.port}"}).status_code == 200
    assert local.get(path, headers={"Host": "dashboard.test"}).status_code == 200  # --allowed-host


def test_dns_rebinding_cannot_start_a_run_or_connect_a_socket(local):
    before = local.get("/api/runs").json()
    evil = f"http://evil.example:{local.port}"
    response = local.post("/api/runs", json=run_config(), headers={"Host": f"evil.example:{local.port}",
                                                                   "Origin": evil})  # fmt: skip
    assert response.status_code == 403
    assert local.get("/api/runs").json() == before
    with pytest.raises(socketio.exceptions.ConnectionError):
        _socket(local, headers={"Host": f"evil.example:{local.port}", "Origin": evil})
    _socket(local).disconnect()  # the right host connects


def test_security_headers_on_every_kind_of_response(local):
    answers = {
        "page": local.get("/"),
        "API": local.get("/api/runs"),
        "API 404": local.get("/api/runs/424242"),
        "unknown API route": local.get("/api/nothing/here"),
        "unknown page": local.get("/nothing/here"),
        "405": requests.put(local.url + "/api/runs", timeout=10),
        "400": local.post("/api/runs", data="{", headers={"Content-Type": "application/json"}),
        "static file": local.get("/static/app.css"),
        "vendor script": local.get("/vendor/plotly.min.js"),
        "Socket.IO polling": local.get(POLLING),
        "foreign host": local.get("/", headers={"Host": "evil.example"}),
    }
    for kind, response in answers.items():
        for name, value in HEADERS.items():
            assert name in response.headers, (kind, name)
            assert value is None or response.headers[name] == value, (kind, name)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, kind
    for kind in ("API 404", "unknown API route", "unknown page", "405", "400", "foreign host"):
        assert answers[kind].headers["Content-Type"].startswith("application/json"), kind
        assert set(answers[kind].json()) == {"error", "details"}, kind
    assert answers["405"].status_code == 405 and "GET" in answers["405"].headers["Allow"]


def test_a_public_bind_without_a_token_refuses_requests_without_it(public):
    token = public.printed_token()
    for path in ("/", "/api/runs", "/static/app.css", POLLING):
        refused = public.get(path)
        assert refused.status_code == 401, path
        assert refused.json()["error"] == "access token required"
        assert public.get(path, headers={"Authorization": "token wrong"}).status_code == 401
    with pytest.raises(socketio.exceptions.ConnectionError):
        _socket(public)
    assert public.get("/api/runs", headers={"Authorization": f"token {token}"}).status_code == 200
    # The token once in the query string, then its cookie, as Jupyter does.
    http = requests.Session()
    first = http.get(f"{public.url}/?token={token}", timeout=10)
    assert first.status_code == 200 and "dashboard_token" in first.headers["Set-Cookie"]
    assert "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=Strict" in first.headers["Set-Cookie"]
    assert http.get(f"{public.url}/api/runs", timeout=10).status_code == 200
    client = _socket(public, auth_query=f"?token={token}")
    assert client.call("subscribe", {"runs": True}, timeout=10) == {"ok": True}
    client.disconnect()
    assert "beyond this machine" in public.log.read_text()


def test_an_explicit_token_on_loopback_and_an_empty_one_beyond_it(tmp_path):
    server = ServerWith(tmp_path / "a", "--token", "s3cret").start()
    try:
        assert server.get("/api/runs").status_code == 401
        assert server.get("/api/runs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    finally:
        server.stop()
    server = ServerWith(tmp_path / "b", "--host", "0.0.0.0", "--token=").start()
    try:
        assert server.get("/api/runs").status_code == 200
        assert "NO ACCESS TOKEN" in server.log.read_text()
    finally:
        server.stop()


def test_max_running_zero_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "app.py", "--max-running", "0", "--data-dir", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "--max-running: 0 must be at least 1" in done.stderr


def _own_address() -> str | None:
    """A non-loopback IPv4 address of this machine's interfaces, if it has one."""
    import ipaddress
    import socket

    import psutil

    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family == socket.AF_INET and not ipaddress.ip_address(entry.address).is_loopback:
                return entry.address
    return None


def test_a_wildcard_bind_serves_this_machines_own_address_and_still_refuses_foreign_names(tmp_path):
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = ServerWith(tmp_path, "--host", "0.0.0.0", "--token", "s3cret", "--allowed-host", "dashboard.test").start()
    try:
        auth = {"Authorization": "token s3cret"}
        own = requests.get(f"http://{address}:{server.port}/api/runs", headers=auth, timeout=10)
        assert own.status_code == 200, own.text  # Host: the machine's own address, as a browser sends it
        evil = server.get("/api/runs", headers={**auth, "Host": f"evil.example:{server.port}"})
        assert evil.status_code == 403 and evil.json()["error"] == "host not allowed"
        printed = server.log.read_text()
        assert f"http://{address}:{server.port}/?token=s3cret" in printed, printed
        assert f"http://dashboard.test:{server.port}/?token=s3cret" in printed, printed
    finally:
        server.stop()


def test_a_refused_socketio_origin_is_answered_as_json(local):
    refused = local.get(POLLING, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 400, refused.text
    assert refused.headers["Content-Type"].startswith("application/json")
    assert refused.json() == {"error": "not an accepted origin", "details": ["Origin: http://evil.example"]}
    for name in HEADERS:
        assert name in refused.headers
    assert local.get(POLLING, headers={"Origin": local.url}).status_code == 200  # its own pages' origin
    with pytest.raises(socketio.exceptions.ConnectionError):
        _socket(local, headers={"Origin": "http://evil.example"})


def test_two_dashboards_on_one_machine_keep_their_own_token_cookies(tmp_path):
    """Browsers keep cookies by host, not by port: one browser opening two dashboards'
    printed links keeps both signed in (the cookie's name carries the port)."""
    first = ServerWith(tmp_path / "a", "--token", "first-token").start()
    second = ServerWith(tmp_path / "b", "--token", "second-token").start()
    try:
        browser = requests.Session()  # http.cookiejar: cookies by host, as browsers keep them
        assert browser.get(f"{first.url}/?token=first-token", timeout=10).status_code == 200
        assert browser.get(f"{second.url}/?token=second-token", timeout=10).status_code == 200
        assert browser.get(f"{first.url}/api/runs", timeout=10).status_code == 200
        assert browser.get(f"{second.url}/api/runs", timeout=10).status_code == 200
    finally:
        first.stop()
        second.stop()


def _raw_answer(server: Server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as bytes on a new connection; the answer's status, headers, body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("kind", SERVERS)
def test_requests_the_http_server_cannot_parse_get_json_with_the_headers(kind, tmp_path):
    """Answered by Werkzeug or gunicorn before the app sees them (an outside trial:
    an HTML page without the security headers)."""
    server = Server(tmp_path / "data", kind=kind).start()
    try:
        host = b"Host: 127.0.0.1\r\n"
        requests_ = {
            414: b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n" + host + b"\r\n",
            431: b"GET / HTTP/1.1\r\n" + host + b"X-Long: " + b"b" * 70_000 + b"\r\n\r\n",
            "version": b"GET / HTTP/3.7\r\n" + host + b"\r\n",  # 400, not 505: no 5xx from any input
            "garbage": b"garbage\r\n\r\n",
            "HTTP/0.9": b"GET /\r\n\r\n",  # Werkzeug served the page with no status line and no headers
            "bad chunk": b"POST /api/runs HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",  # gunicorn: 500
            "bad chunk in an upload": b"POST /api/datasets HTTP/1.1\r\n" + host
                                      + b"Content-Type: multipart/form-data; boundary=b\r\n"
                                      b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        }  # fmt: skip
        for expected, request in requests_.items():
            status, headers, body = _raw_answer(server, request)
            assert status == (expected if isinstance(expected, int) else 400), (kind, expected, status, body)
            assert headers["Content-Type"] == "application/json", (kind, expected, headers)
            answer = json.loads(body)
            assert set(answer) == {"error", "details"} and answer["error"], (kind, answer)
            for name, value in HEADERS.items():
                assert name in headers and (value is None or headers[name] == value), (kind, expected, name)
        assert server.get("/api/health").ok  # and it serves on
    finally:
        server.stop()
