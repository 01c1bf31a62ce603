"""The dashboard's own server: ``python app.py`` / ``strategy-optimizer-dashboard``
``[--host 127.0.0.1] [--port 5000] [--data-dir DIR] [--max-running N]
[--allowed-host NAME]... [--token TOKEN] [--max-workers N] [--max-evaluations N]
[--dask tcp://HOST:PORT] [--run-priority idle|low]``.

Serves the dashboard with Flask-SocketIO in threading mode (on Werkzeug), on
127.0.0.1 unless told otherwise, never in debug mode. DIR holds the SQLite
database, uploads and run checkpoints (default: ./instance). For a production
server on the same app, see `visualization_apps.wsgi`.

Bound beyond loopback, every request needs an access token: ``--token``, or one
generated and printed at start (like Jupyter's); requests name the server by the
bound address (bound to ``0.0.0.0`` or ``::``: this machine's own names and
addresses, one link printed for each), ``localhost`` or ``127.0.0.1``, and the
``--allowed-host`` names.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import logging
import os
import secrets
import signal
import sys
from collections.abc import Sequence

from visualization_apps import create_app, data_lock
from visualization_apps.data_lock import DataDirInUse
from visualization_apps.request_handler import JsonErrorRequestHandler
from visualization_apps.run_priority import PRIORITIES, PRIORITY_ENV
from visualization_apps.security import TOKEN_PARAM, is_loopback, is_wildcard, machine_hosts

log = logging.getLogger(__name__)


SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (Python's default:
0.005). The server's ~200 threads (about four per websocket client) are mostly
waiting; a request's thread takes and gives back the GIL at each socket and
SQLite call, and when it wakes while a thread works in pure Python (the
publisher queueing a generation for 50 clients) it waited up to 5 ms each time:
several times per request in the status tail."""


MALLOC_ARENAS = 2
"""The most malloc arenas the serving process's threads share (glibc's
``M_ARENA_MAX``; its default is eight per core). Each websocket client has its
own writer thread, and with an arena per thread glibc kept the memory of every
thread's frames apart: under issue 13's load (50 clients, a batch of generations
each per forwarding) the server grew from 270 to 361 MB in 30 s, against 291 MB
with two arenas, and answered no slower. ``MALLOC_ARENA_MAX`` in the environment
is left to rule."""
_M_ARENA_MAX = -8  # mallopt's parameter (glibc's malloc.h)


def tune_threads() -> None:
    """Set `SWITCH_INTERVAL` and `MALLOC_ARENAS` (for the serving process:
    ``python app.py``, the WSGI entry; before it starts its threads)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    limit_malloc_arenas()


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Have glibc share at most ``arenas`` malloc arenas between this process's
    threads (those made from now on); False where that cannot be set (not glibc,
    or ``MALLOC_ARENA_MAX`` set in the environment)."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    done = mallopt(_M_ARENA_MAX, arenas) == 1
    if not done:
        log.debug("this C library does not take M_ARENA_MAX")
    return done


def freeze_startup_heap() -> None:
    """Keep what the server built at its start out of the garbage collector's full
    collections (`gc.freeze`; for the serving process, once the app and its run
    manager are up). The ~190,000 objects of the imported libraries and the app
    never become garbage, yet each full collection walked them all: 140 ms with the
    GIL held on this machine, in whichever request's thread allocated at that moment,
    and every request in flight waited behind it (the status load's 150 ms stalls).
    Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


def _at_least_one(text: str) -> int:
    """An argparse type: an integer >= 1 (``--max-running 0`` would never start a run)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _scheduler(text: str) -> str:
    """An argparse type: a Dask scheduler's address (``tcp://HOST:PORT``)."""
    from optimizer.evaluation.dask_cluster import scheduler_address

    try:
        return scheduler_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strategy-optimizer-dashboard", description="Strategy optimizer dashboard")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--data-dir", default="instance", help="database, uploads and checkpoints")
    parser.add_argument("--max-running", type=_at_least_one, default=1, help="runs evaluated at the same time")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a Host name clients may use besides the bound address, localhost and 127.0.0.1 "
                        "(repeatable)")  # fmt: skip
    parser.add_argument("--token", default=None, help="the access token every request must carry (default: "
                        "generated and printed when bound beyond loopback; none on loopback; '' for none at all)")  # fmt: skip
    parser.add_argument("--max-workers", type=_at_least_one, default=None,
                        help="most worker processes one run may ask for (default: this machine's cores)")
    parser.add_argument("--max-evaluations", type=_at_least_one, default=None,
                        help="most evaluations (population x generations) of one run (default 2,000,000)")
    parser.add_argument("--dask", type=_scheduler, default=None, metavar="tcp://HOST:PORT",
                        help="evaluate every run on the Dask cluster of this scheduler (default: a local pool per "
                        "run; docs/DEPLOY.md)")  # fmt: skip
    parser.add_argument("--run-priority", choices=PRIORITIES, default=None,
                        help="the CPU priority of the runs' workers: idle (default: they use only the cycles nothing "
                        "else wants, and yield a core at once) or low (niceness 10: they share a busy machine); "
                        "see visualization_apps.run_priority")  # fmt: skip
    return parser


def app_config(args: argparse.Namespace) -> dict:
    """The app's settings from the command line; a token is generated when the
    server binds beyond loopback without one."""
    token = args.token
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(24)
    token = token or None  # --token '' : none asked, on purpose
    config = {"DATA_DIR": args.data_dir, "MAX_RUNNING": args.max_running, "BIND_HOST": args.host,
              "ALLOWED_HOSTS": tuple(args.allowed_host), "TOKEN": token}  # fmt: skip
    if args.max_workers is not None:
        config["MAX_WORKERS"] = args.max_workers
    if args.max_evaluations is not None:
        config["MAX_EVALUATIONS"] = args.max_evaluations
    if args.dask is not None:
        config["DASK_SCHEDULER"] = args.dask
    return config


def access_hosts(args: argparse.Namespace) -> list[str]:
    """The names to print links for: the bound address, or bound to a wildcard
    this machine's names and reachable addresses (IPv6 ones only on ``::``) and
    ``localhost``; then the ``--allowed-host`` names."""
    wildcard = is_wildcard(args.host)
    hosts = [*machine_hosts(ipv6=args.host.strip("[]") == "::"), "localhost"] if wildcard else [args.host]
    return [*hosts, *(h.strip().lower() for h in args.allowed_host if h.strip() and h.strip().lower() not in hosts)]


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def announce_access(args: argparse.Namespace, token: str | None) -> None:
    """Say how to reach the server (one link per reachable address), loudly when
    it listens beyond this machine."""
    urls = [_url(host, args.port) for host in access_hosts(args)]
    public = not is_loopback(args.host)
    if token is None:
        if public:
            log.warning("*** NO ACCESS TOKEN: the dashboard listens on %s, beyond this machine, and anyone who "
                        "can reach it can start runs on it (and use every core). Give --token, or bind "
                        "127.0.0.1. ***", args.host)  # fmt: skip
        log.info("dashboard at %s", " , ".join(urls))
        return
    if public:
        log.warning("the dashboard listens on %s, beyond this machine: requests need the token below. Serve it "
                    "over a trusted network or behind a TLS proxy (the token travels in clear).", args.host)
    links = "\n".join(f"    Dashboard: {url}?{TOKEN_PARAM}={token}" for url in urls)
    print(f"\n{links}\n", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the dashboard until Ctrl-C or SIGTERM; on the way out each run stops
    after its current generation (checkpointed, ``interrupted``: resumable), and
    one that takes longer than `run_manager.SHUTDOWN_SECONDS` is killed with its workers.
    A second Ctrl-C ends them at once. A SIGKILL of the server leaves nothing
    running either: its run processes notice within a second (docs/RUNS.md).
    A data folder another server holds: one line on stderr naming it and the
    holder's pid, exit status 2 (`visualization_apps.data_lock`)."""
    args = build_parser().parse_args(argv)
    tune_threads()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = app_config(args)
    if args.run_priority is not None:  # read by each run process, which inherits the environment
        os.environ[PRIORITY_ENV] = args.run_priority
    try:  # before the app reads or changes anything in the folder
        data_lock.hold(args.data_dir)
    except DataDirInUse as exc:
        print(f"strategy-optimizer-dashboard: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    app = create_app(config)
    announce_access(args, config["TOKEN"])
    socketio = app.extensions["socketio"]
    manager = app.extensions["dashboard"].manager.start()
    freeze_startup_heap()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a service manager's stop: the same way out as Ctrl-C
    try:
        # Werkzeug serves Flask-SocketIO's threading mode; debug stays off; its own
        # answers to unparsable requests in JSON with the security headers.
        socketio.run(app, host=args.host, port=args.port, debug=False, use_reloader=False, allow_unsafe_werkzeug=True,
                     request_handler=JsonErrorRequestHandler)
    except KeyboardInterrupt:
        pass
    finally:
        manager.close()
        if app.extensions.get("cluster") is not None:
            app.extensions["cluster"].close()
