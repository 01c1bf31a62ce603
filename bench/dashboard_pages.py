"""The pages at real scale (issue 14): ``python -m bench.dashboard pages``; see
`bench.dashboard`'s docstring for what is measured."""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import sma_cross_config
from tests.server import Server


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


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of ``processes`` so far (those that exited: 0)."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _chromium_processes() -> list[psutil.Process]:
    """This process's Chromium descendants (Playwright's browser and its renderers)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chrom" in child.name() or "headless" in child.name():
                found.append(child)
    return found


def _timed_run(server: Server, config: dict, watch: str | None = None) -> tuple[int, float, int, float, float]:
    """Submit ``config`` and wait for it: (run id, wall seconds from submission to
    completion, evaluations, the browser's CPU seconds meanwhile, those of them until the
    page's first complete draw). ``watch``: a Chromium path; the run page is opened in it
    right after the submission (the browser started before) and kept open."""
    playwright = browser = None
    if watch:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=watch, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
    before = _cpu_seconds(_chromium_processes())
    start = time.perf_counter()
    run_id = server.post("/api/runs", json=config).json()["id"]
    loaded_cpu = 0.0
    if browser is not None:
        page.goto(f"{server.url}/runs/{run_id}")
        page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=120_000)
        loaded_cpu = _cpu_seconds(_chromium_processes()) - before
    while (status := server.get(f"/api/runs/{run_id}").json())["state"] not in FINAL:
        time.sleep(0.05)
    wall = time.perf_counter() - start
    browser_cpu = _cpu_seconds(_chromium_processes()) - before  # renderers started meanwhile count whole
    if browser is not None:
        browser.close()
        playwright.stop()
    assert status["state"] == "completed", status
    return run_id, wall, status["evaluations"], browser_cpu, loaded_cpu


FINAL = ("completed", "failed", "stopped", "interrupted")


WARM_LOADS = 5  # a warm load is a second or less: one reading is within the machine's drift of the target


def _page_load(server: Server, run_id: int, chromium: str) -> tuple[float, list[float], int, int]:
    """The run page in a fresh browser, then `WARM_LOADS` times again with its assets
    cached: (seconds to its first complete draw cold, each warm one's; API bytes; all
    bytes of the cold load)."""
    from playwright.sync_api import sync_playwright

    sizes: dict[str, int] = {}
    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("requestfinished", lambda r: sizes.setdefault(r.url, r.sizes()["responseBodySize"]))
        for _ in range(1 + WARM_LOADS):
            start = time.perf_counter()
            page.goto(f"{server.url}/runs/{run_id}")
            page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=120_000)
            seconds.append(time.perf_counter() - start)
        browser.close()
    api = sum(size for url, size in sizes.items() if "/api/" in url)
    return seconds[0], seconds[1:], api, sum(sizes.values())


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


def pages(population: int, generations: int, workers: int, repeat: int = 3) -> None:
    """Print the issue-14 figures of the pages (`bench.dashboard` docstring, "pages")."""
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed"
    config = _btc_config(population, generations, workers)
    mb = 1e6
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "server").start()
        try:
            _timed_run(server, {**config, "ga": {**config["ga"], "generations": 1}})  # warm-up: compile, caches
            alone_runs, watched_runs = [], []
            for _ in range(repeat):  # alternately: a drift of the machine's load hits both alike
                alone_runs.append(_timed_run(server, config))
                watched_runs.append(_timed_run(server, config, watch=chromium))
            run_id, evaluations = alone_runs[0][0], alone_runs[0][2]
            watched_evaluations = watched_runs[0][2]
            alone = statistics.median(r[1] for r in alone_runs)
            watched = statistics.median(r[1] for r in watched_runs)
            browser_cpu = statistics.median(r[3] for r in watched_runs)
            load_cpu = statistics.median(r[4] for r in watched_runs)
            cold, warm, api_bytes, all_bytes = _page_load(server, run_id, chromium)
            elite = len(server.get(f"/api/runs/{run_id}/elite?fields=summary").json())
        finally:
            server.stop()
        out_bytes, checkpoint_bytes = _cli_sizes(config, Path(tmp))
    print(f"BTC-1m {population} x {generations}, {workers} workers: {evaluations} evaluations, elite {elite}")
    print(f"throughput: {evaluations / alone:.0f} evals/s unwatched ({alone:.1f} s), "
          f"{watched_evaluations / watched:.0f} evals/s with the run page open ({watched:.1f} s): "
          f"{(watched / alone - 1) * 100:+.1f} % time  (target within 10 %); medians of {repeat} alternate runs "
          f"(unwatched {', '.join(f'{r[1]:.1f}' for r in alone_runs)} s, watched "
          f"{', '.join(f'{r[1]:.1f}' for r in watched_runs)} s); the browser's CPU while watching: "
          f"{browser_cpu:.1f} s ({load_cpu:.1f} s of it to the page's first draw, a fresh browser)")  # fmt: skip
    print(f"run page with {generations} generations stored: {statistics.median(warm):.2f} s to its first draw "
          f"(median of {len(warm)} loads with cached assets: {', '.join(f'{w:.2f}' for w in warm)} s; "
          f"{cold:.2f} s with a cold cache), {api_bytes / mb:.2f} MB of API data, {all_bytes / mb:.2f} MB with the "
          f"static assets  "
          f"(target < 1 s and < 2 MB)")  # fmt: skip
    print(f"OUT.json {out_bytes / mb:.2f} MB, checkpoint {checkpoint_bytes / mb:.2f} MB")


def pages_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard pages", description="the pages at real scale")
    parser.add_argument("--population", type=int, default=300)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="unwatched and watched runs, alternately (medians)")
    args = parser.parse_args(argv)
    pages(args.population, args.generations, args.workers, args.repeat)
