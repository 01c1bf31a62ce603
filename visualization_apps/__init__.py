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

import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask
from flask_compress import Compress
from flask_socketio import SocketIO
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from optimizer.plugins import load_plugins
from visualization_apps.assets import STATIC, TEMPLATES
from visualization_apps.bounded_json import MAX_ID
from visualization_apps.datasets import register_bundled
from visualization_apps.events import register_events
from visualization_apps.live_rooms import publisher
from visualization_apps.run_manager import RunManager
from visualization_apps.security import register_security
from visualization_apps.storage import Store

COMPRESS_MIN_BYTES = 2048
"""Answers below this size (bytes) are sent uncompressed."""
DEFAULTS: dict[str, Any] = {
    "DATA_DIR": "instance",
    "MAX_RUNNING": 1,
    "MAX_UPLOAD_BYTES": 50 * 1024 * 1024,
    "MAX_JSON_BYTES": 1024 * 1024,  # a JSON request body (a run configuration)
    "MAX_WORKERS": None,  # worker processes a run may ask for; None: the machine's cores
    "MAX_EVALUATIONS": 2_000_000,  # population x generations of one run
    "BIND_HOST": None,  # the address served: accepted as a Host header
    "ALLOWED_HOSTS": (),  # more Host names accepted (--allowed-host)
    "TOKEN": None,  # the access token every request must carry; None: none asked
    "DASK_SCHEDULER": None,  # tcp://HOST:PORT: every run evaluates on that Dask cluster; None: local pools
}


class BoundedInt(IntegerConverter):
    """``<int:...>`` in every route: an id above `MAX_ID` names nothing: 404 for
    every method (never an overflow in SQLite, nor a 405 from a rule skipped)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound(f"{value[:40]} is above the largest id, {MAX_ID}")
        return number


@dataclass
class Dashboard:
    """What the routes share: the store, the run manager, folders, versions."""

    store: Store
    manager: RunManager
    uploads_dir: Path
    versions: dict[str, str] = field(default_factory=dict)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The dashboard app. ``config`` keys: ``DATA_DIR`` (SQLite database,
    uploads, checkpoints), ``MAX_RUNNING`` (runs at once, at least 1),
    ``MAX_UPLOAD_BYTES``, ``MAX_JSON_BYTES``, the submission limits ``MAX_WORKERS``
    and ``MAX_EVALUATIONS``, ``DASK_SCHEDULER`` (``tcp://HOST:PORT``: runs evaluate
    on that Dask cluster, see `visualization_apps.cluster`), and who may connect:
    ``BIND_HOST``, ``ALLOWED_HOSTS``, ``TOKEN`` (see `visualization_apps.security`). ValueError for a bad setting."""
    settings = {**DEFAULTS, **(config or {})}
    _check_settings(settings)
    load_plugins()  # custom signal kinds validate here as in the run processes
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.url_map.converters["int"] = BoundedInt  # before any route is added
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_BYTES"]
    data_dir = Path(settings["DATA_DIR"]).resolve()
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "dashboard.sqlite")
    register_bundled(store)
    # Responses compressed for clients that accept it (zstd, brotli or gzip): the light
    # summaries of a long run and Plotly.js shrink 10x on the wire. Small answers (the
    # status polled under load) go as they are. Socket.IO is outside Flask (and Engine.IO
    # compresses its own polling).
    app.config.setdefault("COMPRESS_MIN_SIZE", COMPRESS_MIN_BYTES)
    # Static files answer their conditional requests themselves (send_file); the API has
    # no ETags. (Evaluated here, it added a Date header besides the server's own.)
    app.config.setdefault("COMPRESS_EVALUATE_CONDITIONAL_REQUEST", False)
    Compress(app)
    socketio = SocketIO(app, async_mode="threading")  # same-origin only (Flask-SocketIO's default)
    manager = RunManager(store, data_dir, publisher(socketio), max_running=int(settings["MAX_RUNNING"]),
                         dask=settings["DASK_SCHEDULER"])  # fmt: skip
    app.extensions["dashboard"] = Dashboard(store, manager, uploads, _versions())
    app.extensions["socketio"] = socketio

    from visualization_apps.api import api
    from visualization_apps.cluster import cluster
    from visualization_apps.pages import pages

    app.register_blueprint(api)
    app.register_blueprint(pages)
    register_security(app)
    app.register_blueprint(cluster)
    register_events(socketio, store)
    return app


def _check_settings(settings: dict[str, Any]) -> None:
    """ValueError naming a setting that cannot work (e.g. no run could ever start)."""
    if int(settings["MAX_RUNNING"]) < 1:
        raise ValueError(f"MAX_RUNNING: {settings['MAX_RUNNING']} must be at least 1 (no run could ever start)")
    if settings["MAX_WORKERS"] is None:
        settings["MAX_WORKERS"] = os.cpu_count() or 1
    if settings["DASK_SCHEDULER"]:
        from optimizer.evaluation.dask_cluster import scheduler_address

        try:
            settings["DASK_SCHEDULER"] = scheduler_address(str(settings["DASK_SCHEDULER"]))
        except ValueError as exc:
            raise ValueError(f"DASK_SCHEDULER: {exc}") from None
    else:
        settings["DASK_SCHEDULER"] = None
    for name in ("MAX_WORKERS", "MAX_EVALUATIONS", "MAX_JSON_BYTES"):
        if int(settings[name]) < 1:
            raise ValueError(f"{name}: {settings[name]} must be at least 1")


def _versions() -> dict[str, str]:
    out = {}
    for package in ("numpy", "numba", "deap", "flask", "flask-socketio"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[package] = "unknown"
    return out
