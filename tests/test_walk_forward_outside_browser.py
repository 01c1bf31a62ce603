"""A walk-forward outside its own page, in a real browser on real runs (the second
outside trial): the run page labels the elite with its fold and marks the fold
boundaries on the per-generation charts, says no ETA once finished; flat folds are
said beside the stitched figures (walk-forward page, runs list, compare); failed
criteria are red; the timeline's and the stitched chart's labels do not overlap;
the form lists a walk-forward's problems at once and disables the dropped split."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.server import module_server
from tests.test_walk_forward_browser import page as page  # the browser fixture
from tests.test_walk_forward_dashboard import wf_config
from tests.test_walk_forward_pages_browser import _finished, _open, _overlap, _tick_boxes

pytestmark = pytest.mark.slow  # a real server, real runs and a headless browser

ARTIFACTS = ROOT / "test-artifacts"
server = module_server("walk-forward-outside-browser")


@pytest.fixture(scope="module")
def three(server):
    return _finished(server, wf_config(folds=3, generations=3))


@pytest.fixture(scope="module")
def flat(server):
    doc = wf_config(folds=2, generations=1)
    doc["ga"].update(population=4, min_trades=10**6)  # no member of any fold trades that often
    return _finished(server, doc)


def _run_page(page, server, run_id: int) -> None:
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    page.wait_for_function("() => document.getElementById('elite-heading').textContent !== 'Elite'")


def test_the_run_page_says_which_fold_its_elite_is_and_marks_the_folds(server, page, three):
    _run_page(page, server, three)
    assert page.inner_text("#elite-heading") == "Elite (fold 3 of 3, its training window)"
    for chart in ("#objectives > div", "#evolution"):
        marks = page.evaluate(f"""() => {{ const c = document.querySelector('{chart}');
            return [c.layout.shapes.map((s) => s.x0), c.layout.annotations.map((a) => [a.x, a.text])]; }}""")
        assert marks == [[3.5, 6.5], [[1, "fold 1"], [3.5, "fold 2"], [6.5, "fold 3"]]], (chart, marks)
    assert page.locator("#objectives .annotation-text").count() == 3  # all drawn: fold 1's inside the range
    note = page.inner_text("#wf-robustness")
    assert "the last fold's search only (fold 3, its training window)" in note and "span every fold's generations" in note
    assert "the charts below are the last fold's" not in note
    assert page.inner_text("#eta") == "\u2013"  # (an en dash) completed: no ETA (the run's last event said 0.0 s)
    page.screenshot(path=ARTIFACTS / "walk-forward-run-page.png", full_page=True)
    assert page.problems == []


def test_failed_criteria_are_red_and_labels_do_not_overlap(server, page, three):
    _open(page, server, three)
    page.screenshot(path=ARTIFACTS / "walk-forward-outside.png", full_page=True)
    cells = page.evaluate("""() => [...document.querySelectorAll('#criteria tbody td.robust')].map((td) =>
        [td.textContent, getComputedStyle(td).color])""")
    assert {text for text, _ in cells} <= {"pass", "fail"}
    for text, color in cells:
        assert color == ("rgb(207, 34, 46)" if text == "fail" else "rgb(26, 127, 55)"), (text, color)
    dates = _tick_boxes(page, "#timeline .xtick text")
    folds = _tick_boxes(page, "#timeline .y2tick text")
    assert dates and folds and not [(a, b) for a in dates for b in folds if _overlap(a, b)]
    legend = _tick_boxes(page, "#stitched .legend")
    stitched_dates = _tick_boxes(page, "#stitched .xtick text")
    assert legend and stitched_dates and not [(a, b) for a in stitched_dates for b in legend if _overlap(a, b)]
    assert page.problems == []


def test_flat_folds_are_said_beside_the_stitched_figures(server, page, flat, three):
    words = "2 of 2 folds flat (no test trade; 2 without a valid member)"
    _open(page, server, flat)
    assert page.inner_text("#wf-figure-notes li[data-note='flat-folds']").startswith(words)
    page.goto(server.url + "/")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    assert words in page.inner_text(f"#run-{flat} td.best")
    page.goto(f"{server.url}/compare?runs={three},{flat}")  # (2 to 4 runs)
    page.wait_for_selector("#best .flat-folds")
    assert words in page.inner_text("#best .flat-folds")
    assert page.problems == []


def test_the_form_lists_walk_forward_problems_at_once_and_disables_the_split(server, page):
    page.goto(server.url + "/runs/new")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    split = "[data-path='split.test_fraction']"
    assert page.is_enabled(split)
    page.check("#wf-on")
    assert page.is_disabled(split)
    assert page.is_visible(".split-dropped")
    page.fill("#wf-folds", "0")
    page.fill("#wf-test", "1")
    page.wait_for_selector("#errors a.error-link[data-path='walk_forward.folds']", timeout=10_000)
    assert page.locator("#errors a.error-link[data-path^='walk_forward']").count() >= 1
    assert page.inner_text("#estimate").startswith("No estimate yet")
    page.screenshot(path=ARTIFACTS / "new-walk-forward-problems.png", full_page=True)
    page.fill("#wf-folds", "3")
    page.fill("#wf-test", "0.1")
    page.wait_for_function("() => document.getElementById('errors').hidden", timeout=10_000)
    page.uncheck("#wf-on")
    assert page.is_enabled(split) and page.is_hidden(".split-dropped")
