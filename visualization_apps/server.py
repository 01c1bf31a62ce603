"""The dashboard's own server: ``python app.py`` / ``strategy-optimizer-dashboard``
``[--host 127.0.0.1] [--port 5000] [--data-dir DIR] [--max-running N]``.

Serves the dashboard with Flask-SocketIO in threading mode (on Werkzeug), on
127.0.0.1 unless told otherwise, never in debug mode. DIR holds the SQLite
database, uploads and run checkpoints (default: ./instance). For a production
server on the same app, see `visualization_apps.wsgi`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from visualization_apps import create_app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strategy-optimizer-dashboard", description="Strategy optimizer dashboard")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--data-dir", default="instance", help="database, uploads and checkpoints")
    parser.add_argument("--max-running", type=int, default=1, help="runs evaluated at the same time")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the dashboard until Ctrl-C or SIGTERM; on the way out each run stops
    after its current generation (checkpointed, ``interrupted``: resumable), and
    one that takes longer than `run_manager.SHUTDOWN_SECONDS` is killed with its workers.
    A second Ctrl-C ends them at once. A SIGKILL of the server leaves nothing
    running either: its run processes notice within a second (docs/RUNS.md)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app({"DATA_DIR": args.data_dir, "MAX_RUNNING": args.max_running})
    socketio = app.extensions["socketio"]
    manager = app.extensions["dashboard"].manager.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a service manager's stop: the same way out as Ctrl-C
    try:
        # Werkzeug serves Flask-SocketIO's threading mode; debug stays off.
        socketio.run(app, host=args.host, port=args.port, debug=False, use_reloader=False, allow_unsafe_werkzeug=True)
    except KeyboardInterrupt:
        pass
    finally:
        manager.close()
