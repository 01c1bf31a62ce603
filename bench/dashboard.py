"""The dashboard during a running optimization: live latency and status under load.

    python -m bench.dashboard [--generations G] [--rate R] [--seconds S]

A real server (``python app.py``) on a free port with its own data folder runs
one optimization (EURUSD hourly, population 64, 2 workers). Measured meanwhile:

* generation-to-browser latency: from the moment the run process has a
  generation (``completed_at``, before it is committed) to the moment a Socket.IO
  client subscribed to the run receives it; p50 / p95 / max over all generations.
* the status endpoint under load: ``GET /api/runs/<id>`` at ``--rate`` requests per
  second (paced, from a pool of client threads) for ``--seconds``; p50 / p99 / max.

    python -m bench.dashboard --pages [--population P] [--generations G] [--workers W]

The pages at real scale (issue 14; section "Pages" below): a BTC-1m run of P x G
(300 x 60 is the issue's size), run twice on one server, once unwatched and once
with its run page open in a real browser (Playwright, Debian's Chromium) from
submission to the end: the throughput of each (evaluations per wall second, from
the submission to ``completed`` as polled; after a warm-up run). Then, with all G generations stored, the
run page's load time in a fresh browser (navigation to the page's first complete
draw, ``data-ready``) and the bytes it transferred (API data, and everything with
the static assets). Last, the same run by the command line with a checkpoint: the
sizes of OUT.json and of the checkpoint folder.
"""

from __future__ import annotations

import argparse
import statistics
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

            status_times: list[float] = []
            session = threading.local()

            def one_request() -> None:
                http = getattr(session, "http", None) or requests.Session()
                session.http = http
                start = time.perf_counter()
                response = http.get(f"{server.url}/api/runs/{run_id}", timeout=10)
                status_times.append(time.perf_counter() - start)
                response.raise_for_status()

            total = int(args.rate * args.seconds)
            with ThreadPoolExecutor(max_workers=16) as pool:
                start = time.perf_counter()
                futures = []
                for k in range(total):
                    delay = start + k / args.rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    futures.append(pool.submit(one_request))
                for future in futures:
                    future.result()
                achieved = total / (time.perf_counter() - start)
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


# ------------------------------------------------------------------ Pages


def _btc_config(population: int, generations: int, workers: int) -> dict:
    """The issue's BTC-1m run: two SMA crosses with ranges, a stop-loss, a split."""
    fast = {"min": 5, "max": 60, "type": "int"}
    slow = {"min": 61, "max": 300, "type": "int"}
    return {
        **sma_cross_config(fast, slow, "unused", stop_loss={"min": 0.002, "max": 0.03}),
        "name": "bench pages",
        "data": {"dataset": "BTC-1m"},
        "split": {"test_fraction": 0.25},
        "ga": {"population": population, "generations": generations, "seed": 1},
        "workers": workers,
    }


def _timed_run(server: Server, config: dict, watch: str | None = None) -> tuple[int, float, int]:
    """Submit ``config`` and wait for it: (run id, wall seconds from submission to
    completion, evaluations). ``watch``: a Chromium path; the run page is opened in it
    right after the submission (the browser started before) and kept open."""
    playwright = browser = None
    if watch:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=watch, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
    start = time.perf_counter()
    run_id = server.post("/api/runs", json=config).json()["id"]
    if browser is not None:
        page.goto(f"{server.url}/runs/{run_id}")
    while (status := server.get(f"/api/runs/{run_id}").json())["state"] not in FINAL:
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if browser is not None:
        browser.close()
        playwright.stop()
    assert status["state"] == "completed", status
    return run_id, wall, status["evaluations"]


FINAL = ("completed", "failed", "stopped", "interrupted")


def _page_load(server: Server, run_id: int, chromium: str) -> tuple[float, float, int, int]:
    """The run page in a fresh browser, then again with its assets cached: (seconds
    to its first complete draw cold, warm; API bytes; all bytes of the cold load)."""
    from playwright.sync_api import sync_playwright

    sizes: dict[str, int] = {}
    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("requestfinished", lambda r: sizes.setdefault(r.url, r.sizes()["responseBodySize"]))
        for _ in range(2):
            start = time.perf_counter()
            page.goto(f"{server.url}/runs/{run_id}")
            page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=120_000)
            seconds.append(time.perf_counter() - start)
        browser.close()
    api = sum(size for url, size in sizes.items() if "/api/" in url)
    return seconds[0], seconds[1], api, sum(sizes.values())


def _cli_sizes(config: dict, folder: Path) -> tuple[int, int]:
    """The same run by ``python -m optimizer run``: (OUT.json bytes, checkpoint folder bytes)."""
    import json
    import subprocess
    import sys

    from bench.common import DATA, ROOT

    doc = {**config, "data": {"path": str(DATA / "BTC-1m.csv")}}
    (folder / "config.json").write_text(json.dumps(doc))
    out, checkpoint = folder / "out.json", folder / "checkpoint"
    subprocess.run([sys.executable, "-m", "optimizer", "run", str(folder / "config.json"), "--checkpoint",
                    str(checkpoint), "--json", str(out)], cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    return out.stat().st_size, sum(f.stat().st_size for f in checkpoint.rglob("*") if f.is_file())


def pages(population: int, generations: int, workers: int) -> None:
    """Print the issue-14 figures of the pages (module docstring, "--pages")."""
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed"
    config = _btc_config(population, generations, workers)
    mb = 1e6
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "server").start()
        try:
            _timed_run(server, {**config, "ga": {**config["ga"], "generations": 1}})  # warm-up: compile, caches
            run_id, alone, evaluations = _timed_run(server, config)
            _, watched, watched_evaluations = _timed_run(server, config, watch=chromium)
            cold, warm, api_bytes, all_bytes = _page_load(server, run_id, chromium)
            elite = len(server.get(f"/api/runs/{run_id}/elite?fields=summary").json())
        finally:
            server.stop()
        out_bytes, checkpoint_bytes = _cli_sizes(config, Path(tmp))
    print(f"BTC-1m {population} x {generations}, {workers} workers: {evaluations} evaluations, elite {elite}")
    print(f"throughput: {evaluations / alone:.0f} evals/s unwatched ({alone:.1f} s), "
          f"{watched_evaluations / watched:.0f} evals/s with the run page open ({watched:.1f} s): "
          f"{(watched / alone - 1) * 100:+.1f} % time  (target within 10 %)")  # fmt: skip
    print(f"run page with {generations} generations stored: {warm:.2f} s to its first draw ({cold:.2f} s with "
          f"a cold cache), {api_bytes / mb:.2f} MB of API data, {all_bytes / mb:.2f} MB with the static assets  "
          f"(target < 1 s and < 2 MB)")  # fmt: skip
    print(f"OUT.json {out_bytes / mb:.2f} MB, checkpoint {checkpoint_bytes / mb:.2f} MB")


if __name__ == "__main__":
    import sys

    if "--pages" in sys.argv:
        section = argparse.ArgumentParser(description="the pages at real scale (issue 14)")
        section.add_argument("--pages", action="store_true")
        section.add_argument("--population", type=int, default=300)
        section.add_argument("--generations", type=int, default=60)
        section.add_argument("--workers", type=int, default=2)
        args = section.parse_args()
        pages(args.population, args.generations, args.workers)
    else:
        main()
