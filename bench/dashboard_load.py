"""The issue-13 load test: ``python -m bench.dashboard load``; see
`bench.dashboard`'s docstring for what is measured.

The clients must not be what is measured: 50 connections read by the threads of
one Python process take a core between them (the GIL), and their latency then is
their own queueing. So the watchers are spread over ``--processes`` processes, each
reading its connections in arrival order from one `select` loop (without
websocket-client's pure-Python UTF-8 check, see `tests.raw_socketio`), each a
session of its own below the server's priority (`WATCHERS_NICENESS`), and the
status requests are paced from a process (and session, for Linux's autogroups) of
their own, with plain `http.client`
connections (requests costs ~1 ms of the pacer's GIL per call). Each status
request is timed twice: from when it was sent (the figure the target is about),
and from the moment it was due, which a server that stalls cannot hide by holding
back the requests queued behind the stall (coordinated omission), but which also
counts the pacer's own delays (on a loaded machine, its process waiting for a
core). The server's CPU time over the status load tells which side was short.

A failure says what failed: a watcher that is not acknowledged or loses its
connection names itself and the step; a ``POST /stop`` slower than
`STOP_SECONDS` is reported with where the server's threads were (``py-spy dump``,
if installed) before the server's log."""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import logging
import multiprocessing
import os
import select
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.dashboard import _config, _percentile
from tests.raw_socketio import RawSocketIO
from tests.server import SERVERS, Server

log = logging.getLogger("bench.dashboard")
DRAIN_SECONDS = 60.0  # at most, after the run ended, for the last generations to arrive
ACK_SECONDS = 120.0  # at most, for one watcher's subscribe (its catch-up) to be acknowledged
STOP_SECONDS = 30.0  # at most, for POST /stop to answer
PACER_THREADS = 32  # status requests in flight at most (200/s at 20 ms each needs 4)


class WatcherFailed(RuntimeError):
    """A watcher process could not do its part; the message says which and why."""


def _watch(port: int, run_id: int, count: int, group: int, conn: Connection, batch: bool, niceness: int) -> None:
    """A process of ``count`` watchers: subscribe each (after 0: its catch-up first),
    say ready, read until told the run's last generation and every watcher has it
    (or `DRAIN_SECONDS` passed), then send back each watcher's generations, in
    arrival order, and latencies (seconds from ``completed_at``). A failure is sent
    back as ``("failed", why)`` instead. The process stands apart (`stand_apart`)
    at ``niceness``."""
    stand_apart(niceness)
    quiet_collector()
    try:
        conn.send(_watched(port, run_id, count, group, conn, batch))
    except Exception as exc:
        conn.send(("failed", f"watcher process {group}: {exc}\n{traceback.format_exc(limit=4)}"))


def _watched(port: int, run_id: int, count: int, group: int, conn: Connection, batch: bool) -> dict[str, Any]:
    sockets = [RawSocketIO(port, timeout=ACK_SECONDS) for _ in range(count)]
    generations: list[list[int]] = [[] for _ in sockets]
    latencies: list[dict[int, float]] = [{} for _ in sockets]
    by_socket = {s.ws.sock: k for k, s in enumerate(sockets)}
    catch_up: list[float] = []

    def read(k: int) -> None:
        packet = sockets[k].read()
        if packet is not None and packet.startswith(('42["generation"', '42["generations"')):
            arrived = time.time()
            event, data = json.loads(packet[2:])
            for summary in data if event == "generations" else [data]:
                generations[k].append(summary["generation"])
                latencies[k].setdefault(summary["generation"], arrived - summary["completed_at"])

    for k, s in enumerate(sockets):
        began = time.monotonic()
        number = s.emit("subscribe", {"run_id": run_id, "after": 0, "batch": batch})
        try:
            while number not in s.acks:
                read(k)
        except Exception as exc:  # websocket's timeout or a closed connection
            raise WatcherFailed(f"client {k}'s subscribe was not acknowledged after {time.monotonic() - began:.0f} s "
                                f"({len(generations[k])} generations of its catch-up received): {exc!r}") from exc  # fmt: skip
        if not s.acks[number].get("ok"):
            raise WatcherFailed(f"client {k}'s subscribe was refused: {s.acks[number]}")
        catch_up.append(time.monotonic() - began)
    conn.send(("ready", catch_up))
    last: int | None = None
    deadline = float("inf")
    while not (last is not None and all(g[-1:] == [last] for g in generations)) and time.monotonic() < deadline:
        if conn.poll():
            last, deadline = conn.recv(), time.monotonic() + DRAIN_SECONDS
        readable, _, _ = select.select(list(by_socket), [], [], 0.2)
        for sock in readable:
            k = by_socket[sock]
            try:
                read(k)
            except Exception as exc:
                raise WatcherFailed(f"client {k} lost its connection after generation "
                                    f"{(generations[k] or [0])[-1]}: {exc!r}") from exc  # fmt: skip
    for s in sockets:
        s.close()
    return {"generations": generations, "latencies": latencies, "catch_up": catch_up}


def paced_status(port: int, run_id: int, rate: float, seconds: float) -> tuple[list[float], list[float], float]:
    """``GET /api/runs/<id>`` at ``rate`` requests/s for ``seconds``, each on a
    kept-alive connection of the thread that sends it: (each request's seconds from
    when it was sent to its whole answer, the same from when it was due, the rate
    achieved). Raises on an answer other than 200."""
    times: list[float] = []
    from_due: list[float] = []
    local = threading.local()

    def get(fresh: bool) -> http.client.HTTPResponse:
        connection = None if fresh else getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/api/runs/{run_id}")
        answer = connection.getresponse()
        answer.read()
        return answer

    def one_request(due: float) -> None:
        sent = time.perf_counter()
        try:
            answer = get(fresh=False)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the server closed the kept-alive connection as this request went out
            # (gunicorn's keep-alive timeout): sent again on a new one, as browsers do
            answer = get(fresh=True)
        done = time.perf_counter()
        times.append(done - sent)
        from_due.append(done - due)
        if answer.status != 200:
            raise RuntimeError(f"GET /api/runs/{run_id} answered {answer.status} under load")

    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=PACER_THREADS) as pool:
        start = time.perf_counter()
        futures = []
        for k in range(total):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one_request, due))
        for future in futures:
            future.result()
        achieved = total / (time.perf_counter() - start)
    return times, from_due, achieved


def _status(port: int, run_id: int, rate: float, seconds: float, conn: Connection) -> None:
    # A session of its own, as a browser's would be: under Linux's autogroups the
    # CPU is shared between sessions first, and in the bench's session the pacer
    # would wait for a core behind the 50 watchers reading their generations.
    stand_apart(0)
    quiet_collector()
    try:
        conn.send(paced_status(port, run_id, rate, seconds))
    except Exception as exc:
        conn.send(("failed", f"the status pacer: {exc!r}"))


WATCHERS_NICENESS = 15
"""The niceness of each watcher process's session (its autogroup's). The watchers
stand for browsers on other machines: on this one they would otherwise take the
cores the server they measure needs (five processes reading 50 connections, a
third of a core), as no remote client does. Each is a session of its own, since
under Linux's autogroups the CPU is shared between sessions first: five at 15
weigh about as much as one session at 10. Their own waits still count in the
generation -> client latency they report (pessimistic, never flattering)."""


def stand_apart(niceness: int) -> None:
    """Start a session of this process's own and set its autogroup's niceness (0:
    leave it); quietly nothing where Linux's autogroups are not there."""
    with contextlib.suppress(OSError):
        os.setsid()
    if niceness:
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(niceness))


def quiet_collector() -> None:
    """Keep a measuring process's garbage collector out of what it measures. A
    watcher or the pacer is forked from the bench with its ~150,000 objects (the
    tests' and clients' libraries); a full collection walked them all, 100 ms and
    more, and every request or generation in flight then counted the pause as the
    server's latency. The inherited heap is frozen (`gc.freeze`) and the cyclic
    collector stays off for the measurement (what a process makes in it is
    reclaimed by reference counts; its timings are lists of floats)."""
    gc.freeze()
    gc.disable()


def _received(conn: Connection, what: str, timeout: float) -> Any:
    """The next message on ``conn`` within ``timeout`` s; `WatcherFailed` for a
    failure reported, a process gone or the time passed."""
    if not conn.poll(timeout):
        raise WatcherFailed(f"{what}: nothing after {timeout:.0f} s")
    try:
        message = conn.recv()
    except EOFError:
        raise WatcherFailed(f"{what}: the process ended without a word") from None
    if isinstance(message, tuple) and message[:1] == ("failed",):
        raise WatcherFailed(message[1])
    return message


def cpu_waited() -> float | None:
    """Seconds some task of this machine has waited for a core since boot (Linux's
    pressure stall information, ``/proc/pressure/cpu``); None where unknown."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(line.rsplit("total=", 1)[1]) / 1e6


def _threads_of(pid: int) -> str:
    """Where the server's threads are now (``py-spy dump``), or why that is unknown."""
    if shutil.which("py-spy") is None:
        return "(py-spy is not installed: no dump of the server's threads)"
    done = subprocess.run(["py-spy", "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60)
    return done.stdout or done.stderr


def _stop(server: Server, run_id: int, pid: int) -> float:
    """POST /stop; its seconds. Slower than `STOP_SECONDS`: the threads of the
    serving process ``pid`` are logged, then `WatcherFailed`."""
    answered: list[float] = []
    began = time.monotonic()

    def post() -> None:
        server.post(f"/api/runs/{run_id}/stop").raise_for_status()
        answered.append(time.monotonic() - began)

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    poster.join(STOP_SECONDS)
    if not answered:
        log.error("POST /stop has not answered in %.0f s; the server's threads:\n%s", STOP_SECONDS,
                  _threads_of(pid))  # fmt: skip
        raise WatcherFailed(f"POST /api/runs/{run_id}/stop did not answer in {STOP_SECONDS:.0f} s")
    return answered[0]


def watch_load(
    clients: int, rate: float, seconds: float, generations: int, processes: int, kind: str = "embedded",
    batch: bool = True, watchers_niceness: int = WATCHERS_NICENESS,
) -> dict[str, Any]:
    """The issue-13 load test (see the module docstring) on a server of ``kind``
    (`tests.server.SERVERS`: ``python app.py``, or gunicorn's threaded worker); returns its figures.
    ``batch``: the watchers subscribe as the run page does, taking ``generations``
    events (False: a ``generation`` event each); ``watchers_niceness``: see
    `WATCHERS_NICENESS` (0: the watchers in the bench's session, as the server's peers)."""
    import psutil

    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), kind=kind).start()
        groups: list[tuple[Any, Connection]] = []
        try:
            process = psutil.Process(server.process.pid)
            if kind == "gunicorn":  # its worker serves (and holds the run manager), not its master
                process = process.children()[0]
            rss_before = process.memory_info().rss
            run_id = server.post("/api/runs", json=_config(generations)).json()["id"]
            while server.get(f"/api/runs/{run_id}").json()["generation"] < 1:  # its pool is up
                time.sleep(0.05)
            for k in range(processes):
                mine, theirs = spawn.Pipe()
                count = clients // processes + (k < clients % processes)
                worker = spawn.Process(target=_watch, args=(server.port, run_id, count, k, theirs, batch, watchers_niceness),
                                     daemon=True)  # fmt: skip
                worker.start()
                groups.append((worker, mine))
            catch_up = []
            for k, (_, conn) in enumerate(groups):
                catch_up += _received(conn, f"watcher process {k} subscribing", ACK_SECONDS * (clients + 1))[1]
            subscribed_at = server.get(f"/api/runs/{run_id}").json()["generation"]
            mine, theirs = spawn.Pipe()
            pacer = spawn.Process(target=_status, args=(server.port, run_id, rate, seconds, theirs), daemon=True)
            cpu_before, waited_before, began = sum(process.cpu_times()[:2]), cpu_waited(), time.monotonic()
            pacer.start()
            status_times, status_from_due, achieved = _received(mine, "the status pacer", seconds * 10 + 60)
            pacer.join()
            elapsed = time.monotonic() - began
            server_cpu = (sum(process.cpu_times()[:2]) - cpu_before) / elapsed
            waited_after = cpu_waited()
            contention = None if None in (waited_before, waited_after) else (waited_after - waited_before) / elapsed
            rss_after = process.memory_info().rss
            stop_seconds = _stop(server, run_id, process.pid)
            final = server.wait_for(run_id, ("stopped", "completed"), timeout=120)
            for _, conn in groups:
                conn.send(final["generation"])
            results = [_received(conn, f"watcher process {k} draining", DRAIN_SECONDS + 60)
                       for k, (_, conn) in enumerate(groups)]  # fmt: skip
            for worker, _ in groups:
                worker.join()
        except BaseException:
            log.error("the load test failed; the server's log ends with:\n%s", server.log.read_text()[-4000:])
            raise
        finally:
            for worker, _ in groups:
                if worker.is_alive():
                    worker.kill()
            server.stop()
    watched = [g for r in results for g in r["generations"]]
    expected = list(range(1, final["generation"] + 1))
    live = [lat for r in results for lats in r["latencies"] for g, lat in lats.items() if g > subscribed_at]
    return {"clients": clients, "processes": processes, "generations": final["generation"],
            "exact_clients": sum(g == expected for g in watched), "inexact": _inexact(watched, expected),
            "latencies": live, "status": status_times, "status_from_due": status_from_due, "achieved": achieved, "seconds": seconds,
            "rss_before": rss_before, "rss_after": rss_after, "stop_seconds": stop_seconds,
            "catch_up": catch_up, "subscribed_at": subscribed_at, "server_cpu": server_cpu,
            "contention": contention}  # fmt: skip


def _inexact(watched: list[list[int]], expected: list[int]) -> list[str]:
    """For each client that did not get ``expected`` exactly: what it got wrong."""
    out = []
    want = set(expected)
    for k, got in enumerate(watched):
        if got == expected:
            continue
        missing = sorted(want - set(got))
        repeated = len(got) - len(set(got))
        disorder = sum(b < a for a, b in pairwise(got))
        out.append(f"client {k}: {len(got)} received, {len(missing)} missing (first {missing[:3]}), "
                   f"{repeated} repeated, {disorder} out of order")  # fmt: skip
    return out


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard load", description="the issue-13 load test")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--processes", type=int, default=5, help="client processes the watchers are spread over")
    parser.add_argument("--rate", type=float, default=200.0, help="status requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--generations", type=int, default=20_000, help="more than the run can do meanwhile")
    parser.add_argument("--server", choices=SERVERS, default="embedded",
                        help="python app.py (Werkzeug), or gunicorn's gthread worker on the WSGI entry")  # fmt: skip
    parser.add_argument("--per-generation", action="store_true",
                        help="watchers take a generation event each, not the run page's batches")  # fmt: skip
    parser.add_argument("--watchers-nice", type=int, default=WATCHERS_NICENESS, choices=range(20), metavar="0..19",
                        help="niceness of each watcher's session (0: at the server's priority)")  # fmt: skip
    args = parser.parse_args(argv)
    r = watch_load(args.clients, args.rate, args.seconds, args.generations, args.processes, args.server,
                   batch=not args.per_generation, watchers_niceness=args.watchers_nice)  # fmt: skip
    ms, mb = 1000.0, 1024 * 1024
    print(f"{r['clients']} clients in {r['processes']} processes, {r['generations']} generations: "
          f"{r['exact_clients']} of {r['clients']} clients got every generation exactly once, in order")  # fmt: skip
    for line in r["inexact"][:10]:
        print(f"  {line}")
    lat = r["latencies"] or [float("nan")]
    print(f"generation -> client over {len(r['latencies'])} deliveries: p50 {statistics.median(lat) * ms:.1f} ms, "
          f"p95 {_percentile(lat, 0.95) * ms:.1f} ms, max {max(lat) * ms:.1f} ms  (target p95 <= 250 ms)")  # fmt: skip
    st = r["status"]
    print(f"GET /api/runs/<id> at {r['achieved']:.0f} requests/s for {r['seconds']:.0f} s ({len(st)} requests): "
          f"p50 {statistics.median(st) * ms:.2f} ms, p99 {_percentile(st, 0.99) * ms:.2f} ms, "
          f"max {max(st) * ms:.2f} ms  (target p99 <= 20 ms)")  # fmt: skip
    due = r["status_from_due"]
    print(f"  the same from when each was due: p50 {statistics.median(due) * ms:.2f} ms, "
          f"p99 {_percentile(due, 0.99) * ms:.2f} ms, max {max(due) * ms:.2f} ms")  # fmt: skip
    print(f"server RSS: {r['rss_before'] / mb:.0f} MB before, {r['rss_after'] / mb:.0f} MB after")
    contention = "" if r["contention"] is None else (
        f"; some task of the machine waited for a core {r['contention']:.0%} of that time "
        "(/proc/pressure/cpu)")  # fmt: skip
    print(f"the run's CPU priority (DASHBOARD_RUN_PRIORITY): {os.environ.get('DASHBOARD_RUN_PRIORITY', 'default')}")
    print(f"the watchers: {'batches (generations events)' if not args.per_generation else 'a generation event each'}, "
          f"each process a session at niceness {args.watchers_nice}")  # fmt: skip
    print(f"server CPU during the status load: {r['server_cpu']:.0%} of a core (its user + system time){contention}")
    cu = r["catch_up"]
    print(f"catch-ups (subscribe after 0 -> acknowledged, up to generation {r['subscribed_at']}): "
          f"p50 {statistics.median(cu) * ms:.0f} ms, max {max(cu) * ms:.0f} ms; "
          f"POST /stop answered in {r['stop_seconds'] * ms:.0f} ms")  # fmt: skip
