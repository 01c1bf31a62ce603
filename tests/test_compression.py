"""Answers compressed on the wire for clients that accept it, through a real server:
the encoding the client prefers among zstd, brotli and gzip, the same content once
decoded, the security headers and one Date header kept; small answers as they are."""

from __future__ import annotations

import gzip
import http.client
import json

import brotli
import pytest

try:
    from compression import zstd  # Python >= 3.14
except ImportError:
    from backports import zstd

from tests.server import SERVERS, Server

pytestmark = pytest.mark.slow  # real server processes

DECODE = {"zstd": zstd.decompress, "br": brotli.decompress, "gzip": gzip.decompress}


@pytest.fixture(scope="module", params=SERVERS)
def server(request, tmp_path_factory):
    server = Server(tmp_path_factory.mktemp(f"compression-{request.param}"), kind=request.param).start()
    yield server
    server.stop()


def _get(server: Server, path: str, encoding: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": encoding} if encoding else {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def _header(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in headers if n.lower() == name.lower()]


@pytest.mark.parametrize("path", ["/api/openapi.json", "/vendor/plotly-cartesian.min.js", "/"])
def test_a_large_answer_comes_compressed_as_the_client_accepts(server, path):
    status, headers, plain = _get(server, path, None)
    assert status == 200 and not _header(headers, "Content-Encoding")
    for accepted, expected in (("gzip, deflate, br, zstd", "zstd"), ("br", "br"), ("gzip;q=1, br;q=0.5", None)):
        status, headers, body = _get(server, path, accepted)
        assert status == 200, (path, accepted)
        (encoding,) = _header(headers, "Content-Encoding") or [None]
        if expected is None:  # the client's first choice, gzip, unless the answer is streamed (a file)
            expected = "gzip" if path != "/vendor/plotly-cartesian.min.js" else encoding
            assert encoding in ("gzip", "br", None), encoding
        assert encoding == expected, (path, accepted, encoding)
        decoded = DECODE[encoding](body) if encoding else body
        assert decoded == plain, (path, accepted)
        if encoding:
            assert len(body) < len(plain) / 2, (path, encoding, len(body), len(plain))
        assert "Accept-Encoding" in _header(headers, "Vary")[0]
        assert _header(headers, "X-Content-Type-Options") == ["nosniff"]
        assert len(_header(headers, "Date")) == 1, headers
    if path.endswith(".json"):
        assert json.loads(plain)["openapi"].startswith("3.")


def test_a_small_answer_goes_as_it_is(server):
    status, headers, body = _get(server, "/api/health", "gzip, br, zstd")
    assert status == 200 and not _header(headers, "Content-Encoding") and json.loads(body)["status"] == "ok"
