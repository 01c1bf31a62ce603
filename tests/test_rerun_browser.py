"""An elite re-run from its page: "Open in the run form", then Start, in a real
browser (Playwright, Debian's Chromium) against a real server; the new run (a single
backtest) reproduces every stored statistic of the elite, training and test."""

from __future__ import annotations

import re

import pytest

from tests import test_browser
from tests.server import module_server
from tests.test_api import run_config
from tests.test_exports import _statistics

pytestmark = pytest.mark.slow  # a real server, real runs and a headless browser

server = module_server("rerun")
page = test_browser.page


def test_an_elite_opened_in_the_run_form_starts_and_reproduces_its_statistics(server, page):
    run_id = server.post("/api/runs", json=run_config(generations=3)).json()["id"]  # with a split
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    elite = server.get(f"/api/runs/{run_id}/elite").json()
    chosen = max(elite, key=lambda e: e["total_trades"])  # trades in both periods
    assert chosen["total_trades"] and chosen["test"]["total_trades"]

    page.goto(f"{server.url}/runs/{run_id}/individuals/{chosen['id']}")
    page.click("#to-form")
    page.wait_for_url(re.compile(r"/runs/new\?from="))
    page.wait_for_function("() => document.body && document.body?.dataset.ready === 'true'")
    page.click("#start")
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    again = int(page.url.rsplit("/", 1)[1])
    assert again != run_id
    status = server.wait_for(again, ("completed", "failed"))
    assert status["state"] == "completed" and status["generations_total"] == 1, status
    (stored,) = server.get(f"/api/runs/{again}/elite").json()
    assert _statistics(stored) == _statistics(chosen)
    assert stored["trades"] == chosen["trades"] and stored["test"]["trades"] == chosen["test"]["trades"]
    # Its Monte Carlo too (seeded by its trades, not by its id in the run) and its cost stress.
    for key in ("mc_return_pct", "mc_drawdown_pct", "ruin_probability", "mc_fan", "stress_return_pct"):
        assert stored["robustness"][key] == chosen["robustness"][key], key
    assert chosen["robustness"]["mc_return_pct"] is not None
    assert page.problems == [] and page.refused == []
