"""A walk-forward in a real browser (Playwright, Debian's Chromium, a real server):
started from the form, its folds arriving live, its page drawn from stored statistics."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT
from tests.server import module_server
from tests.test_api import PLUGIN_ENV

pytestmark = pytest.mark.slow  # a real server and a headless browser

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FOLDS = 3

server = module_server("walk-forward-browser", env={**PLUGIN_ENV, "FAULTY_SLEEP": "0.1"})


@pytest.fixture(scope="module")
def page():
    assert CHROMIUM, "Debian's chromium is not installed (the README's test command installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        problems: list[str] = []
        refused: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "estimate" not in
                m.location.get("url", "") else None)  # fmt: skip
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.problems = problems
        page.refused = refused
        yield page
        browser.close()


def _config() -> dict:
    """A quick search whose generations sleep a little (the test-only ``slow`` kind)."""
    return {
        "name": "walk-forward in the browser",
        "strategy": {
            "signals": {
                "up": {"kind": "sma_cross_up", "params": {"fast": {"min": 3, "max": 30, "type": "int"},
                                                          "slow": {"min": 31, "max": 120, "type": "int"}}},
                "down": {"kind": "sma_cross_down", "params": {"fast": 10, "slow": 60}},
                "pause": {"kind": "slow", "params": {"period": {"min": 1, "max": 1000000, "type": "int"}}},
            },
            "entry": {"weights": {"up": 1.0, "pause": 0.0}, "threshold": 1.0},
            "exit": {"weights": {"down": 1.0}, "threshold": 1.0},
            "stop_loss": {"min": 0.005, "max": 0.05},
        },
        "objectives": [{"metric": "total_return_pct", "goal": "max"}],
        "ga": {"population": 8, "generations": 4, "seed": 2, "min_trades": 2},
        "robustness": {"enabled": False},
        "split": {"test_fraction": 0.25},
        "workers": 1,
    }  # fmt: skip


def _rendered(page, selector: str) -> bool:
    return page.locator(f"{selector} .main-svg").count() > 0


def test_start_a_walk_forward_from_the_form_and_watch_its_folds(server, page):
    page.goto(server.url + "/runs/new")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    page.select_option("#dataset", "EURUSD-1h")
    page.click("#advanced summary")
    page.fill("#config", json.dumps(_config()))
    page.click("#apply-json")
    assert not page.is_checked("#wf-on") and page.is_hidden("#wf-fields")
    page.check("#wf-on")
    page.fill("#wf-folds", str(FOLDS))
    page.select_option("#wf-mode", "anchored")
    page.fill("#wf-train", "900")
    page.fill("#wf-test", "20d")
    written = json.loads(page.input_value("#config"))  # the JSON view follows the fields
    assert written["walk_forward"] == {"folds": FOLDS, "mode": "anchored", "train": 900, "test": "20d"}
    assert "split" not in written
    page.screenshot(path=ARTIFACTS / "new-walk-forward.png", full_page=True)
    page.click("#start")
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    run_id = int(page.url.rstrip("/").split("/")[-1])
    page.wait_for_selector("#walk-forward-link:not([hidden])")
    page.click("#walk-forward-link")
    page.wait_for_url(f"**/runs/{run_id}/walk-forward")

    # live: the timeline is there from the start, folds fill the table as they end
    page.wait_for_function("() => Number(document.getElementById('fold-table').dataset.folds || 0) >= 1",
                           timeout=120_000)  # fmt: skip
    seen = page.evaluate("() => [Number(document.getElementById('fold-table').dataset.folds), "
                         "document.getElementById('state').textContent]")  # fmt: skip
    assert seen[0] < FOLDS and seen[1] == "running", seen
    assert _rendered(page, "#timeline")
    page.screenshot(path=ARTIFACTS / "walk-forward-live.png", full_page=True)
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=180_000)

    stored = server.get(f"/api/runs/{run_id}/walk-forward").json()
    summary = stored["summary"]
    assert page.inner_text("#state") == "completed"
    for chart in ("#timeline", "#stitched", "#drift", "#fold-generations"):
        assert _rendered(page, chart), chart
    timeline = page.evaluate("() => document.getElementById('timeline').data.map((t) => [t.x[0], t.x[t.x.length - 1]])")
    assert timeline[1:] == [pair for w in stored["windows"] for pair in ([w["train_start"], w["train_end"]],
                                                                          [w["test_start"], w["test_end"]])]  # fmt: skip
    stitched = page.evaluate("() => document.getElementById('stitched').data[0]")
    assert stitched["y"] == summary["stitched"]["equity"]["value"]
    assert stitched["x"] == summary["stitched"]["equity"]["time"]
    rows = page.locator("#fold-table tbody tr.done")
    assert rows.count() == FOLDS
    test_returns = page.evaluate("() => [...document.querySelectorAll('#fold-table tbody tr')].map((tr) => "
                                 "Number(tr.querySelectorAll('td.test')[0].dataset.value))")  # fmt: skip
    assert test_returns == [f["test"]["total_return_pct"] for f in summary["folds"]]
    assert page.locator("#criteria tbody tr").count() == 5
    verdict = page.inner_text("#wf-verdict")
    assert verdict.startswith("Passed" if summary["passed"] else "Failed")
    assert page.is_visible("#export-trades")
    page.select_option("#fold-select", "2")
    page.wait_for_function("() => document.getElementById('fold-generations').dataset.fold === '2'")
    x = page.evaluate("() => document.getElementById('fold-generations').data[0].x")
    assert x == [1, 2, 3, 4]
    page.screenshot(path=ARTIFACTS / "walk-forward.png", full_page=True)
    assert page.problems == []
    assert page.refused == []
