"""The web dashboard: Flask app factory, REST API, Socket.IO, run manager, storage.

``create_app(config)`` builds the app and nothing else: it starts no thread and
changes no run. ``app.extensions["socketio"]`` is its Flask-SocketIO server
(threading mode) and ``app.extensions["dashboard"]`` its `Dashboard` (store, run
manager); whoever serves the app starts the manager (``manager.start()``; see
`visualization_apps.server` and `visualization_apps.wsgi`) and closes it on exit.
No route calls the engine: everything shown is read from the statistics the run
processes stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from optimizer.plugins import load_plugins
from visualization_apps.assets import STATIC, TEMPLATES
from visualization_apps.datasets import register_bundled
from visualization_apps.events import publisher, register_events
from visualization_apps.run_manager import RunManager
from visualization_apps.security import register_security
from visualization_apps.storage import Store

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
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_BYTES"]
    data_dir = Path(settings["DATA_DIR"]).resolve()
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "dashboard.sqlite")
    register_bundled(store)
    socketio = SocketIO(app, async_mode="threading")  # same-origin only (Flask-SocketIO's default)
    manager = RunManager(store, data_dir, publisher(socketio), max_running=int(settings["MAX_RUNNING"]))
    app.extensions["dashboard"] = Dashboard(store, manager, uploads, _versions())
    app.extensions["socketio"] = socketio

    from visualization_apps.api import api
    from visualization_apps.pages import pages

    app.register_blueprint(api)
    app.register_blueprint(pages)
    register_security(app)
    register_events(socketio, store)
    return app


def _versions() -> dict[str, str]:
    out = {}
    for package in ("numpy", "numba", "deap", "flask", "flask-socketio"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[package] = "unknown"
    return out
