"""The issue-13 load test: ``python -m bench.dashboard load``; see
`bench.dashboard`'s docstring for what is measured."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import websocket

from bench.dashboard import _config, _paced_status, _percentile
from tests.server import Server


class _Watcher:
    """One client watching a run on a raw Engine.IO 4 websocket, read by a thread of
    its own in arrival order (python-socketio's client runs each event's handler in
    a thread of its own, so its order is not the server's): the generations it got
    and each one's latency from ``completed_at``."""

    def __init__(self, port: int) -> None:
        self.generations: list[int] = []
        self.latencies: dict[int, float] = {}
        self.acks: dict[int, dict] = {}
        self.acked = threading.Condition()
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                                              timeout=120)  # fmt: skip
        assert self.ws.recv().startswith("0")  # Engine.IO open
        self.ws.send("40")  # Socket.IO connect
        while not self.ws.recv().startswith("40"):
            pass
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                packet = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if packet == "2":
                self.ws.send("3")  # Engine.IO ping -> pong
            elif packet.startswith('42["generation"'):
                arrived = time.time()
                summary = json.loads(packet[2:])[1]
                self.generations.append(summary["generation"])
                self.latencies.setdefault(summary["generation"], arrived - summary["completed_at"])
            elif packet.startswith("43"):
                number, _, body = packet[2:].partition("[")
                with self.acked:
                    self.acks[int(number)] = json.loads("[" + body)[0]
                    self.acked.notify_all()

    def subscribe(self, run_id: int, after: int, timeout: float = 120) -> dict:
        """``subscribe`` with its acknowledgement (after the catch-up's generations)."""
        number = len(self.acks)
        self.ws.send(f"42{number}" + json.dumps(["subscribe", {"run_id": run_id, "after": after}]))
        with self.acked:
            assert self.acked.wait_for(lambda: number in self.acks, timeout), "no acknowledgement"
        return self.acks[number]

    def close(self) -> None:
        self.ws.close()
        self.reader.join(timeout=5)


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
            watchers = [_Watcher(server.port) for _ in range(clients)]
            for watcher in watchers:  # after 0: what was published before it subscribed comes first
                assert watcher.subscribe(run_id, 0)["ok"]  # its catch-up first
            subscribed_at = server.get(f"/api/runs/{run_id}").json()["generation"]
            status_times, achieved = _paced_status(server.url, run_id, rate, seconds)
            rss_after = process.memory_info().rss
            server.post(f"/api/runs/{run_id}/stop")
            final = server.wait_for(run_id, ("stopped", "completed"), timeout=120)
            time.sleep(1.0)  # the last generation's events in flight
            for watcher in watchers:
                watcher.close()
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
