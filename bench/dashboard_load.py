"""The issue-13 load test: ``python -m bench.dashboard load``; see
`bench.dashboard`'s docstring for what is measured.

The clients must not be what is measured: 50 connections read by the threads of
one Python process take a core between them (the GIL), and their latency then is
their own queueing. So the watchers are spread over ``--processes`` processes, each
reading its connections in arrival order from one `select` loop, and the status
requests are paced from a process of their own."""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import select
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.dashboard import _config, _paced_status, _percentile
from tests.raw_socketio import RawSocketIO
from tests.server import Server

log = logging.getLogger("bench.dashboard")
DRAIN_SECONDS = 60.0  # at most, after the run ended, for the last generations to arrive


def _watch(port: int, run_id: int, count: int, conn: Connection) -> None:
    """A process of ``count`` watchers: subscribe each (after 0: its catch-up first),
    say ready, read until told the run's last generation and every watcher has it
    (or `DRAIN_SECONDS` passed), then send back each watcher's generations, in
    arrival order, and latencies (seconds from ``completed_at``)."""
    sockets = [RawSocketIO(port, timeout=120) for _ in range(count)]
    generations: list[list[int]] = [[] for _ in sockets]
    latencies: list[dict[int, float]] = [{} for _ in sockets]
    by_socket = {s.ws.sock: k for k, s in enumerate(sockets)}

    def read(k: int) -> None:
        packet = sockets[k].read()
        if packet is not None and packet.startswith('42["generation"'):
            arrived = time.time()
            summary = json.loads(packet[2:])[1]
            generations[k].append(summary["generation"])
            latencies[k].setdefault(summary["generation"], arrived - summary["completed_at"])

    for k, s in enumerate(sockets):
        number = s.emit("subscribe", {"run_id": run_id, "after": 0})
        while number not in s.acks:
            read(k)
        assert s.acks[number]["ok"], s.acks[number]
    conn.send("ready")
    last: int | None = None
    deadline = float("inf")
    while not (last is not None and all(g[-1:] == [last] for g in generations)) and time.monotonic() < deadline:
        if conn.poll():
            last, deadline = conn.recv(), time.monotonic() + DRAIN_SECONDS
        readable, _, _ = select.select(list(by_socket), [], [], 0.2)
        for sock in readable:
            read(by_socket[sock])
    for s in sockets:
        s.close()
    conn.send({"generations": generations, "latencies": latencies})


def _status(url: str, run_id: int, rate: float, seconds: float, conn: Connection) -> None:
    conn.send(_paced_status(url, run_id, rate, seconds))


def watch_load(clients: int, rate: float, seconds: float, generations: int, processes: int) -> dict[str, Any]:
    """The issue-13 load test (see the module docstring); returns its figures."""
    import psutil

    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp)).start()
        groups: list[tuple[Any, Connection]] = []
        try:
            process = psutil.Process(server.process.pid)
            rss_before = process.memory_info().rss
            run_id = server.post("/api/runs", json=_config(generations)).json()["id"]
            while server.get(f"/api/runs/{run_id}").json()["generation"] < 1:  # its pool is up
                time.sleep(0.05)
            for k in range(processes):
                mine, theirs = spawn.Pipe()
                count = clients // processes + (k < clients % processes)
                worker = spawn.Process(target=_watch, args=(server.port, run_id, count, theirs), daemon=True)
                worker.start()
                groups.append((worker, mine))
            for _, conn in groups:
                assert conn.recv() == "ready"
            subscribed_at = server.get(f"/api/runs/{run_id}").json()["generation"]
            mine, theirs = spawn.Pipe()
            pacer = spawn.Process(target=_status, args=(server.url, run_id, rate, seconds, theirs), daemon=True)
            pacer.start()
            status_times, achieved = mine.recv()
            pacer.join()
            rss_after = process.memory_info().rss
            server.post(f"/api/runs/{run_id}/stop")
            final = server.wait_for(run_id, ("stopped", "completed"), timeout=120)
            results = []
            for _, conn in groups:
                conn.send(final["generation"])
            for worker, conn in groups:
                results.append(conn.recv())
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
            "exact_clients": sum(g == expected for g in watched), "latencies": live,
            "status": status_times, "achieved": achieved, "seconds": seconds,
            "rss_before": rss_before, "rss_after": rss_after}  # fmt: skip


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard load", description="the issue-13 load test")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--processes", type=int, default=5, help="client processes the watchers are spread over")
    parser.add_argument("--rate", type=float, default=200.0, help="status requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--generations", type=int, default=20_000, help="more than the run can do meanwhile")
    args = parser.parse_args(argv)
    r = watch_load(args.clients, args.rate, args.seconds, args.generations, args.processes)
    ms, mb = 1000.0, 1024 * 1024
    print(f"{r['clients']} clients in {r['processes']} processes, {r['generations']} generations: "
          f"{r['exact_clients']} of {r['clients']} clients got every generation exactly once, in order")  # fmt: skip
    lat = r["latencies"] or [float("nan")]
    print(f"generation -> client over {len(r['latencies'])} deliveries: p50 {statistics.median(lat) * ms:.1f} ms, "
          f"p95 {_percentile(lat, 0.95) * ms:.1f} ms, max {max(lat) * ms:.1f} ms  (target p95 <= 250 ms)")  # fmt: skip
    st = r["status"]
    print(f"GET /api/runs/<id> at {r['achieved']:.0f} requests/s for {r['seconds']:.0f} s ({len(st)} requests): "
          f"p50 {statistics.median(st) * ms:.2f} ms, p99 {_percentile(st, 0.99) * ms:.2f} ms, "
          f"max {max(st) * ms:.2f} ms  (target p99 <= 20 ms)")  # fmt: skip
    print(f"server RSS: {r['rss_before'] / mb:.0f} MB before, {r['rss_after'] / mb:.0f} MB after")
