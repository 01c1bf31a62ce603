"""The dashboard during a running optimization: live latency and status under load.

    python -m bench.dashboard [--generations G] [--rate R] [--seconds S]

A real server (``python app.py``) on a free port with its own data folder runs
one optimization (EURUSD hourly, population 64, 2 workers). Measured meanwhile:

* generation-to-browser latency: from the moment the run process has a
  generation (``completed_at``, before it is committed) to the moment a Socket.IO
  client subscribed to the run receives it; p50 / p95 / max over all generations.
* the status endpoint under load: ``GET /api/runs/<id>`` at ``--rate`` requests per
  second (paced, from a pool of client threads) for ``--seconds``; p50 / p99 / max.

    python -m bench.dashboard pages [--population P] [--generations G] [--workers W] [--repeat R]

The pages at real scale (issue 14; `bench.dashboard_pages`): a BTC-1m run of P x G
(300 x 60 is the issue's size), run on one server unwatched and with its run page
open in a real browser (Playwright, Debian's Chromium) from submission to the end,
alternately ``--repeat`` times each (3): the throughput of each (evaluations per
wall second, from the submission to ``completed`` as polled; medians; after a
warm-up run), and the browser's CPU seconds while it watched (all its processes; and those of them to
the page's first draw, the fixed cost of opening it in a fresh browser). Then, with all G generations stored, the
run page's load time in a fresh browser (navigation to the page's first complete
draw, ``data-ready``) and the bytes it transferred (API data, and everything with
the static assets). Last, the same run by the command line with a checkpoint: the
sizes of OUT.json and of the checkpoint folder.

    python -m bench.dashboard load [--clients 50] [--rate 200] [--seconds 30]

The issue-13 load test (`bench.dashboard_load`): ``--clients`` Socket.IO clients watch one
run while the status endpoint takes ``--rate`` requests/s for ``--seconds``; every
client must receive every generation exactly once and in order; reported:
generation-to-client p50 / p95 / max over every client's every generation (target
p95 <= 250 ms), status p50 / p99 / max (target p99 <= 20 ms), and the server's
RSS before the clients connect and after the load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import socketio

from bench.common import sma_cross_config
from tests.server import Server


def _config(generations: int) -> dict:
    fast = {"min": 5, "max": 50, "type": "int"}
    slow = {"min": 20, "max": 200, "type": "int"}
    return {
        **sma_cross_config(fast, slow, "unused", stop_loss={"min": 0.005, "max": 0.05}),
        "data": {"dataset": "EURUSD-1h"},
        "ga": {"population": 64, "generations": generations, "seed": 1},
        "workers": 2,
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _paced_status(url: str, run_id: int, rate: float, seconds: float) -> tuple[list[float], float]:
    """``GET /api/runs/<id>`` at ``rate`` requests/s for ``seconds``: (each request's
    seconds, the rate achieved)."""
    times: list[float] = []
    session = threading.local()

    def one_request() -> None:
        http = getattr(session, "http", None) or requests.Session()
        session.http = http
        start = time.perf_counter()
        response = http.get(f"{url}/api/runs/{run_id}", timeout=10)
        times.append(time.perf_counter() - start)
        response.raise_for_status()

    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=16) as pool:
        start = time.perf_counter()
        futures = []
        for k in range(total):
            delay = start + k / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one_request))
        for future in futures:
            future.result()
        achieved = total / (time.perf_counter() - start)
    return times, achieved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=400)
    parser.add_argument("--rate", type=float, default=200.0, help="status requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp)).start()
        try:
            latencies: list[float] = []
            client = socketio.Client(reconnection=False)
            client.on("generation", lambda summary: latencies.append(time.time() - summary["completed_at"]))
            client.connect(server.url, transports=["websocket"])
            run_id = server.post("/api/runs", json=_config(args.generations)).json()["id"]
            assert client.call("subscribe", {"run_id": run_id}, timeout=10)["ok"]
            while server.get(f"/api/runs/{run_id}").json()["generation"] < 1:
                time.sleep(0.05)

            status_times, achieved = _paced_status(server.url, run_id, args.rate, args.seconds)
            state = server.get(f"/api/runs/{run_id}").json()
            server.post(f"/api/runs/{run_id}/stop")
            time.sleep(0.5)
            client.disconnect()
        finally:
            server.stop()

    ms = 1000.0
    print(f"run: {state['generation']} generations while measuring, {state['evals_per_second'] or 0:.0f} evals/s")
    print(f"generation -> browser latency over {len(latencies)} generations: "
          f"p50 {statistics.median(latencies) * ms:.1f} ms, p95 {_percentile(latencies, 0.95) * ms:.1f} ms, "
          f"max {max(latencies) * ms:.1f} ms  (target p95 < 250 ms)")  # fmt: skip
    print(f"GET /api/runs/<id> at {achieved:.0f} requests/s for {args.seconds:.0f} s ({len(status_times)} requests): "
          f"p50 {statistics.median(status_times) * ms:.2f} ms, p99 {_percentile(status_times, 0.99) * ms:.2f} ms, "
          f"max {max(status_times) * ms:.2f} ms  (target p99 < 20 ms)")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        from bench.dashboard_load import load_main

        load_main(sys.argv[2:])
    elif sys.argv[1:2] == ["pages"]:
        from bench.dashboard_pages import pages_main

        pages_main(sys.argv[2:])
    else:
        main()
