"""Safe defaults every response gets: same-origin changes only, JSON errors, and a
Content-Security-Policy under which the pages load only this app's own scripts."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request

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


def register_security(app: Flask) -> None:
    """Install the Origin check, the JSON 404/500 answers and the security headers."""

    @app.before_request
    def same_origin_only():
        """Changing requests from a browser must come from this app's own pages."""
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            origin = request.headers.get("Origin")
            if origin is not None and _origin(origin) != _origin(request.host_url):
                return jsonify({"error": "cross-origin request refused", "details": [f"Origin: {origin}"]}), 403
        return None

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.errorhandler(404)
    def not_found(exc):
        return jsonify({"error": "not found", "details": [request.path]}), 404

    @app.errorhandler(500)
    def server_error(exc):  # pragma: no cover - a bug; never a traceback page
        log.exception("unhandled error on %s", request.path)
        return jsonify({"error": "internal error", "details": []}), 500


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
