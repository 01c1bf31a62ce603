"""The dashboard: ``python app.py [--host 127.0.0.1] [--port 5000] [--data-dir DIR]``.

Serves the dashboard with Flask-SocketIO in threading mode, on 127.0.0.1 unless
told otherwise, never in debug mode. DIR holds the SQLite database, uploads and
run checkpoints (default: ./instance).
"""

from __future__ import annotations

import argparse
import logging

from visualization_apps import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Strategy optimizer dashboard")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--data-dir", default="instance", help="database, uploads and checkpoints")
    parser.add_argument("--max-running", type=int, default=1, help="runs evaluated at the same time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app({"DATA_DIR": args.data_dir, "MAX_RUNNING": args.max_running})
    socketio = app.extensions["socketio"]
    try:
        # Werkzeug serves Flask-SocketIO's threading mode; debug stays off.
        socketio.run(app, host=args.host, port=args.port, debug=False, use_reloader=False, allow_unsafe_werkzeug=True)
    finally:
        app.extensions["dashboard"].manager.close()


if __name__ == "__main__":
    main()
