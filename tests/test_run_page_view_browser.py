"""The run page while a run is watched (Playwright, Debian's Chromium, a real server):
charts off screen wait until they scroll into view, and every chart shows the run's
end at once when it ends (issue 14: watching a run must not slow it down)."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.server import module_server
from tests.test_api import PLUGIN_ENV
from tests.test_browser import CHROMIUM, _two_of_a_kind

pytestmark = pytest.mark.slow  # a real server, a live run and a headless browser

server = module_server("run-page-view", env={**PLUGIN_ENV, "FAULTY_SLEEP": "0.1"})

GENERATIONS = 14  # with the sleeping signal, generations arrive one by one


@pytest.fixture(scope="module")
def page():
    assert CHROMIUM, "Debian's chromium is not installed"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 700})
        page.problems = []
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        yield page
        browser.close()


def _shown(page, chart: str) -> int:
    """How many generations the per-generation chart ``chart`` shows (its first trace's points)."""
    return page.evaluate(f"() => document.getElementById('{chart}').data?.[0]?.x?.length ?? 0")


def _drawn(page) -> int:
    return int(page.evaluate("() => Number(document.body.dataset.drawn || 0)"))


def test_charts_off_screen_wait_for_their_view_and_the_end_draws_them_all(server, page):
    run_id = server.post("/api/runs", json=_two_of_a_kind(GENERATIONS, slow=True)).json()["id"]
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => Number(document.body?.dataset.drawn || 0) >= 1", timeout=60_000)
    first = _drawn(page)
    page.wait_for_function(f"() => Number(document.body.dataset.drawn) > {first}", timeout=60_000)
    later = _drawn(page)
    assert page.evaluate("() => document.body.dataset.state") == "running", "the run ended before it was watched"
    assert _shown(page, "evolution") <= first < later  # below the fold: not redrawn while the run is watched
    assert page.evaluate("() => document.querySelector('#objectives > div').data[0].x.length") == later  # on screen

    page.locator("#evolution").scroll_into_view_if_needed()  # scrolled into view: drawn at once
    page.wait_for_function("() => (document.getElementById('evolution').data?.[0]?.x?.length ?? 0)"
                           " >= Number(document.body.dataset.drawn)", timeout=10_000)  # fmt: skip
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_function("() => document.body?.dataset.state === 'completed'", timeout=180_000)
    page.wait_for_function(f"() => Number(document.body?.dataset.drawn) === {GENERATIONS}", timeout=30_000)
    assert _shown(page, "evolution") == GENERATIONS  # off screen, yet the run's end drawn at once
    histogram_counts = page.evaluate("() => document.getElementById('histograms').data[1].y.reduce((a, b) => a + b, 0)")
    elite = server.get(f"/api/runs/{run_id}/generations").json()[-1]["elite"]
    assert histogram_counts == len(elite)  # the final elite, though it never scrolled into view
    rows = page.locator("#elite tbody tr").evaluate_all("rows => rows.map((r) => Number(r.dataset.id))")
    assert rows == elite
    assert page.problems == []
