"""The WSGI entry for a production server: ``app``, with its run manager started.

::

    gunicorn -w 1 --threads 100 -k visualization_apps.gunicorn_worker.JsonErrorWorker --bind 127.0.0.1:5000 visualization_apps.wsgi:app

One worker process, many threads (Flask-SocketIO's supported deployment of its
threading mode): the Socket.IO sessions and the run manager (which run processes
are alive, what they last said) live in that one process's memory, so a second
worker would neither see the first one's clients nor know its runs, and would
start the same queued runs again. Do not use ``--preload``: the manager's thread
must start in the worker, not in the master that forks it.

Settings come from the environment: ``DASHBOARD_DATA_DIR`` (default ``instance``)
and ``DASHBOARD_MAX_RUNNING`` (default 1); who may connect: ``DASHBOARD_ALLOWED_HOSTS``
(comma-separated Host names besides localhost and 127.0.0.1) and
``DASHBOARD_TOKEN`` (the access token, none if unset); limits:
``DASHBOARD_MAX_WORKERS``, ``DASHBOARD_MAX_EVALUATIONS``; a Dask cluster to evaluate on:
``DASHBOARD_DASK`` (``tcp://HOST:PORT``, as ``--dask``); the runs' CPU priority:
``DASHBOARD_RUN_PRIORITY`` (``idle`` or ``low``, as ``--run-priority``; read by each
run process, `visualization_apps.run_priority`). The run manager is closed when the
worker exits (gunicorn's SIGTERM: each run stops after its current generation,
``interrupted`` and resumable, within gunicorn's graceful timeout of 30 s; a
killed worker's runs notice and end by themselves, see docs/RUNS.md).
"""

from __future__ import annotations

import atexit
import logging
import os
import sys

from visualization_apps import create_app
from visualization_apps.data_lock import DataDirInUse
from visualization_apps.server import freeze_startup_heap, tune_threads

tune_threads()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app(
    {
        "DATA_DIR": os.environ.get("DASHBOARD_DATA_DIR", "instance"),
        "MAX_RUNNING": int(os.environ.get("DASHBOARD_MAX_RUNNING", "1")),
        "ALLOWED_HOSTS": tuple(os.environ.get("DASHBOARD_ALLOWED_HOSTS", "").split(",")),
        "TOKEN": os.environ.get("DASHBOARD_TOKEN") or None,
        **{key: int(os.environ[f"DASHBOARD_{key}"]) for key in ("MAX_WORKERS", "MAX_EVALUATIONS")
           if os.environ.get(f"DASHBOARD_{key}")},
        "DASK_SCHEDULER": os.environ.get("DASHBOARD_DASK") or None,
    }
)
try:
    manager = app.extensions["dashboard"].manager.start()
except DataDirInUse as exc:  # another server holds the folder: gunicorn halts ("App failed to load", status 4)
    logging.getLogger(__name__).error("%s", exc)
    sys.exit(4)
freeze_startup_heap()
atexit.register(manager.close)
