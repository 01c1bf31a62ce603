"""The run form as a new user met it, in a real browser (Playwright, Debian's
Chromium) against a real server: the dashboard's own downloaded re-runnable config
loads into the form and starts as it is; a refused load holds Start; percent fields
speak in percent, in their help and in their errors; no Plotly where no chart is."""

from __future__ import annotations

import json
import re

import pytest

from tests import test_browser
from tests.server import module_server
from tests.test_api import run_config
from tests.test_browser import ARTIFACTS
from tests.test_exports import _statistics

pytestmark = pytest.mark.slow  # a real server, real runs and a headless browser

server = module_server("form")
page = test_browser.page


def _ready(page) -> None:
    page.wait_for_function("() => document.body && document.body?.dataset.ready === 'true'")


def _load_json(page, text: str) -> None:
    if page.locator("#advanced").get_attribute("open") is None:  # closed
        page.click("#advanced summary")
    page.fill("#config", text)
    page.click("#apply-json")


def _config(direction: str) -> dict:
    doc = run_config(generations=2)
    doc["strategy"]["direction"] = direction
    if direction == "both":  # short on the cross down, covered on the cross up
        doc["strategy"]["entry_short"] = {"weights": {"down": 1.0}, "threshold": 1.0}
        doc["strategy"]["exit_short"] = {"weights": {"up": 1.0}, "threshold": 1.0}
    return doc


@pytest.mark.parametrize("direction", ["long", "both"])
def test_the_downloaded_config_of_an_elite_loads_into_the_form_and_starts_as_it_is(server, page, direction):
    response = server.post("/api/runs", json=_config(direction))
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    best = server.get(f"/api/runs/{run_id}/elite").json()[0]
    download = server.get(f"/api/runs/{run_id}/individuals/{best['id']}/config")
    assert "attachment" in download.headers["Content-Disposition"]
    downloaded = download.json()
    # the nulls the user met: no timeframe, no short rules (long only), no stall limit
    assert downloaded["ga"]["stall_generations"] is None
    assert all(s["timeframe"] is None for s in downloaded["strategy"]["signals"].values())
    assert (downloaded["strategy"]["entry_short"] is None) == (direction == "long")

    page.goto(server.url + "/runs/new")
    _ready(page)
    _load_json(page, download.text)
    assert page.inner_text("#errors") == ""
    assert page.input_value("[data-path='ga.stall_generations']") == ""
    assert page.input_value("[data-path='strategy.signals.up.timeframe']") == ""
    assert page.input_value("#direction") == direction
    assert not page.locator("#start").is_disabled()
    page.click("#start")
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    again = int(page.url.rsplit("/", 1)[1])
    assert server.wait_for(again, ("completed", "failed"))["state"] == "completed"
    assert server.get(f"/api/runs/{again}/config").json() == downloaded  # what was loaded, nothing else
    (member,) = server.get(f"/api/runs/{again}/elite").json()
    assert _statistics(member) == _statistics(best)  # a single backtest: the elite's own statistics
    assert page.problems == [] and page.refused == []


def test_a_refused_load_holds_start_until_the_form_is_edited_or_a_load_succeeds(server, page):
    page.goto(server.url + "/runs/new")
    _ready(page)
    doc = json.loads(page.input_value("#config"))
    doc["ga"]["population"] = "many"
    _load_json(page, json.dumps(doc))
    page.wait_for_selector("#errors li")
    start = page.locator("#start")
    assert start.is_disabled()
    assert "not loaded" in start.get_attribute("title")
    page.fill("[data-path='ga.generations']", "3")  # an edit of the form: what it shows is what starts
    assert not start.is_disabled() and start.get_attribute("title") is None

    _load_json(page, json.dumps(doc))
    page.wait_for_selector("#errors li")
    assert start.is_disabled()
    doc["ga"]["population"] = 12
    _load_json(page, json.dumps(doc))
    assert page.inner_text("#errors") == ""
    assert not start.is_disabled()
    assert page.input_value("[data-path='ga.population']") == "12"
    assert page.problems == [] and page.refused == []


def test_percent_fields_speak_in_percent_in_their_help_and_their_errors(server, page):
    page.goto(server.url + "/runs/new")
    _ready(page)
    for path in ("execution.commission", "execution.slippage"):
        field = f"[data-path='{path}']"
        text = page.inner_text(f"label:has({field}) small.help")
        assert "in percent" in text and "fraction" not in text, text
    commission = "[data-path='execution.commission']"
    assert "0.1 = 0.1 %" in page.inner_text(f"label:has({commission}) small.help")
    page.fill(commission, "0.1")  # 0.1 %
    assert json.loads(page.input_value("#config"))["execution"]["commission"] == 0.001
    page.fill(commission, "-1")
    page.fill("[data-path='execution.slippage']", "150")
    page.click("#start")
    page.wait_for_selector("#errors a.error-link")
    links = page.locator("#errors a.error-link")
    texts = [links.nth(k).inner_text() for k in range(links.count())]
    assert "execution.commission: -1 % must be at least 0 %" in texts, texts
    assert "execution.slippage: 150 % must be below 100 %" in texts, texts
    assert "-1 % must be at least 0 %" in page.inner_text(f"label:has({commission}) .field-error")
    page.problems.clear()  # the browser logs the expected 400 answer as an error
    page.screenshot(path=ARTIFACTS / "new-run-percent-errors.png", full_page=True)
    assert page.refused == []


@pytest.mark.parametrize(("path", "charts"), [("/", False), ("/runs/new", False)])
def test_plotly_loads_only_on_pages_with_charts(server, page, path, charts):
    page.goto(server.url + path)
    _ready(page)
    assert page.evaluate("() => typeof window.Plotly") == ("object" if charts else "undefined")
    assert page.problems == [] and page.refused == []


@pytest.fixture(scope="module")
def finished(server) -> tuple[int, int]:
    """A completed run and its best member: (run id, individual id)."""
    run_id = server.post("/api/runs", json=run_config(generations=2)).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return run_id, server.get(f"/api/runs/{run_id}/elite?fields=summary").json()[0]["id"]


@pytest.mark.parametrize(("path", "charts"), [("/", False), ("/runs/new", False), ("/runs/{run}", True),
                                              ("/runs/{run}/individuals/{member}", True),
                                              ("/compare?runs={run},{run}", True)])  # fmt: skip
def test_only_pages_with_charts_load_plotly(server, finished, path, charts):
    page = server.get(path.format(run=finished[0], member=finished[1]))
    assert page.status_code == 200
    assert bool(re.search(r"/vendor/plotly(-cartesian)?\.min\.js", page.text)) == charts  # the full or cartesian bundle
    assert "/vendor/socket.io.min.js" in page.text and "common.js" in page.text  # the rest as before
