"""The web dashboard: Flask app factory, REST API, Socket.IO, run manager, storage.

``create_app(config)`` builds the app; ``app.extensions["socketio"]`` is its
Flask-SocketIO server (threading mode) and ``app.extensions["dashboard"]`` its
`Dashboard` (store, run manager). No route calls the engine: everything shown
is read from the statistics the run processes stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, jsonify, request
from flask_socketio import SocketIO, join_room, leave_room

from optimizer.plugins import load_plugins
from visualization_apps.datasets import register_bundled
from visualization_apps.run_manager import RunManager
from visualization_apps.storage import Store

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "DATA_DIR": "instance",
    "MAX_RUNNING": 1,
    "MAX_UPLOAD_BYTES": 50 * 1024 * 1024,
}


@dataclass
class Dashboard:
    """What the routes share: the store, the run manager, folders, versions."""

    store: Store
    manager: RunManager
    uploads_dir: Path
    versions: dict[str, str] = field(default_factory=dict)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The dashboard app. ``config`` keys: ``DATA_DIR`` (SQLite database,
    uploads, checkpoints), ``MAX_RUNNING`` (runs at once), ``MAX_UPLOAD_BYTES``."""
    settings = {**DEFAULTS, **(config or {})}
    load_plugins()  # custom signal kinds validate here as in the run processes
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_BYTES"]
    data_dir = Path(settings["DATA_DIR"]).resolve()
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "dashboard.sqlite")
    register_bundled(store)
    socketio = SocketIO(app, async_mode="threading")  # same-origin only (Flask-SocketIO's default)

    def publish(event: str, payload: dict[str, Any], run_id: int) -> None:
        socketio.emit(event, payload, to=f"run:{run_id}")
        if event == "run_status":
            socketio.emit(event, payload, to="runs")

    manager = RunManager(store, data_dir, publish, max_running=int(settings["MAX_RUNNING"]))
    app.extensions["dashboard"] = Dashboard(store, manager, uploads, _versions())
    app.extensions["socketio"] = socketio

    from visualization_apps.api import api
    from visualization_apps.pages import pages

    app.register_blueprint(api)
    app.register_blueprint(pages)
    _register_security(app)
    _register_events(socketio, store)
    return app


def _register_security(app: Flask) -> None:
    @app.before_request
    def same_origin_only():
        """Changing requests from a browser must come from this app's own pages."""
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            origin = request.headers.get("Origin")
            if origin is not None and _origin(origin) != _origin(request.host_url):
                return jsonify({"error": "cross-origin request refused", "details": [f"Origin: {origin}"]}), 403
        return None

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


def _register_events(socketio: SocketIO, store: Store) -> None:
    @socketio.on("subscribe")
    def subscribe(message):
        """Join a run's room (``{"run_id": N}``) or the runs list (``{"runs": true}``)."""
        if not isinstance(message, dict):
            return {"error": "subscribe takes {run_id} or {runs: true}"}
        if message.get("runs"):
            join_room("runs")
            return {"ok": True}
        run_id = message.get("run_id")
        if not isinstance(run_id, int) or store.run(run_id) is None:
            return {"error": f"no run {run_id!r}"}
        join_room(f"run:{run_id}")
        return {"ok": True, "run": store.run(run_id)}

    @socketio.on("unsubscribe")
    def unsubscribe(message):
        if isinstance(message, dict) and isinstance(message.get("run_id"), int):
            leave_room(f"run:{message['run_id']}")
        return {"ok": True}


def _versions() -> dict[str, str]:
    out = {}
    for package in ("numpy", "numba", "deap", "flask", "flask-socketio"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[package] = "unknown"
    return out
