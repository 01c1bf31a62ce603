"""The issue-13 load test: ``python -m bench.dashboard load``; see
`bench.dashboard`'s docstring for what is measured."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import socketio

from bench.dashboard import _config, _paced_status, _percentile
from tests.server import Server


class _Watcher:
    """One Socket.IO client watching a run: the generations it got and when."""

    def __init__(self, url: str) -> None:
        self.generations: list[int] = []
        self.latencies: dict[int, float] = {}
        self.client = socketio.Client(reconnection=False)
        self.client.on("generation", self._on_generation)
        self.client.connect(url, transports=["websocket"], wait_timeout=30)

    def _on_generation(self, summary: dict) -> None:
        self.generations.append(summary["generation"])
        self.latencies.setdefault(summary["generation"], time.time() - summary["completed_at"])


def watch_load(clients: int, rate: float, seconds: float, generations: int) -> dict:
    """The issue-13 load test (see the module docstring); returns its figures."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp)).start()
        try:
            process = psutil.Process(server.process.pid)
            rss_before = process.memory_info().rss
            run_id = server.post("/api/runs", json=_config(generations)).json()["id"]
            while server.get(f"/api/runs/{run_id}").json()["generation"] < 1:  # its pool is up
                time.sleep(0.05)
            watchers = [_Watcher(server.url) for _ in range(clients)]
            for watcher in watchers:  # after 0: what was published before it subscribed comes first
                assert watcher.client.call("subscribe", {"run_id": run_id, "after": 0}, timeout=120)["ok"]  # its catch-up first
            subscribed_at = server.get(f"/api/runs/{run_id}").json()["generation"]
            status_times, achieved = _paced_status(server.url, run_id, rate, seconds)
            rss_after = process.memory_info().rss
            server.post(f"/api/runs/{run_id}/stop")
            final = server.wait_for(run_id, ("stopped", "completed"), timeout=120)
            time.sleep(1.0)  # the last generation's events in flight
            for watcher in watchers:
                watcher.client.disconnect()
        finally:
            server.stop()
    expected = list(range(1, final["generation"] + 1))
    exact = sum(w.generations == expected for w in watchers)
    live = [lat for w in watchers for g, lat in w.latencies.items() if g > subscribed_at]
    return {"clients": clients, "generations": final["generation"], "exact_clients": exact, "latencies": live,
            "status": status_times, "achieved": achieved, "seconds": seconds,
            "rss_before": rss_before, "rss_after": rss_after}  # fmt: skip


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard load", description="the issue-13 load test")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="status requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--generations", type=int, default=20_000, help="more than the run can do meanwhile")
    args = parser.parse_args(argv)
    r = watch_load(args.clients, args.rate, args.seconds, args.generations)
    ms, mb = 1000.0, 1024 * 1024
    print(f"{r['clients']} clients, {r['generations']} generations: {r['exact_clients']} of {r['clients']} clients "
          "got every generation exactly once, in order")  # fmt: skip
    lat = r["latencies"] or [float("nan")]
    print(f"generation -> client over {len(r['latencies'])} deliveries: p50 {statistics.median(lat) * ms:.1f} ms, "
          f"p95 {_percentile(lat, 0.95) * ms:.1f} ms, max {max(lat) * ms:.1f} ms  (target p95 <= 250 ms)")  # fmt: skip
    st = r["status"]
    print(f"GET /api/runs/<id> at {r['achieved']:.0f} requests/s for {r['seconds']:.0f} s ({len(st)} requests): "
          f"p50 {statistics.median(st) * ms:.2f} ms, p99 {_percentile(st, 0.99) * ms:.2f} ms, "
          f"max {max(st) * ms:.2f} ms  (target p99 <= 20 ms)")  # fmt: skip
    print(f"server RSS: {r['rss_before'] / mb:.0f} MB before, {r['rss_after'] / mb:.0f} MB after")
