"""The walk-forward page followed live in a real browser (Playwright, Debian's
Chromium, a real server and run process): the fold's generation chart follows new
generations, a stop and a resume show without a reload (no ETA once stopped, the
fold where it stopped), and the run ends completed. Then the pages that show a
walk-forward among runs (the runs list, the compare page, the run page's "Is it
real?" panel) show its stitched out-of-sample figures and verdict, labelled."""

from __future__ import annotations

import time

import pytest

from tests.conftest import ROOT
from tests.server import module_server
from tests.test_walk_forward_browser import CHROMIUM, _config
from tests.test_walk_forward_browser import page as page  # the browser fixture

pytestmark = pytest.mark.slow  # a real server, real runs and a headless browser

ARTIFACTS = ROOT / "test-artifacts"
FOLDS = 3
GENERATIONS = 6

server = module_server("walk-forward-live", env={"OPTIMIZER_PLUGINS": "tests.plugins.faulty", "FAULTY_SLEEP": "0.15"})


def _wf_config(**walk_forward) -> dict:
    doc = _config()
    doc.pop("split")
    doc["name"] = "walk-forward followed live"
    doc["data"] = {"dataset": "EURUSD-1h"}
    doc["ga"]["generations"] = GENERATIONS
    doc["robustness"] = {"enabled": True, "monte_carlo": 50}  # the run page's "Is it real?" panel
    doc["walk_forward"] = {"folds": FOLDS, "mode": "rolling", "train": 900, "test": "20d", **walk_forward}
    return doc


def _wait(page, script: str, timeout: float = 120_000) -> None:
    page.wait_for_function(script, timeout=timeout)


def _generations_shown(page) -> int:
    return int(page.evaluate("() => Number(document.getElementById('fold-generations').dataset.generations || 0)"))


@pytest.fixture(scope="module")
def followed(server, page):
    """A walk-forward watched from its page through stop, resume and completion: what was seen."""
    assert CHROMIUM
    run_id = server.post("/api/runs", json=_wf_config()).json()["id"]
    page.goto(f"{server.url}/runs/{run_id}/walk-forward")
    _wait(page, "() => Number(document.getElementById('fold-generations').dataset.generations || 0) >= 1")
    first = _generations_shown(page)
    fold = page.evaluate("() => document.getElementById('fold-generations').dataset.fold")
    # the same fold's chart grows as its generations arrive (no reload)
    _wait(page, f"() => Number(document.getElementById('fold-generations').dataset.generations || 0) > {first} "
                f"|| document.getElementById('fold-generations').dataset.fold !== '{fold}'")  # fmt: skip
    grown = (_generations_shown(page), page.evaluate("() => document.getElementById('fold-generations').dataset.fold"))
    while server.get(f"/api/runs/{run_id}").json()["generation"] < GENERATIONS + 2:  # into fold 2
        time.sleep(0.05)
    assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
    server.wait_for(run_id, ("stopped",), timeout=120)
    _wait(page, "() => document.getElementById('state').textContent === 'stopped'", timeout=30_000)
    stopped = page.evaluate("""() => ({
        eta: !document.getElementById('eta-box').hidden, fold: document.getElementById('fold').textContent,
        words: document.getElementById('fold-state').textContent,
        rows: [...document.querySelectorAll('#fold-table tbody tr')].map((tr) => tr.dataset.state),
        generation: Number(document.getElementById('generation').textContent)})""")
    page.screenshot(path=ARTIFACTS / "walk-forward-stopped.png", full_page=True)
    status = server.get(f"/api/runs/{run_id}").json()
    assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
    _wait(page, "() => ['queued', 'running'].includes(document.getElementById('state').textContent)", timeout=30_000)
    resumed = page.evaluate("() => document.getElementById('state').textContent")
    _wait(page, "() => document.body.dataset.ready === 'true' && document.body.dataset.state === 'completed'", timeout=240_000)
    return run_id, grown, first, fold, stopped, status, resumed


def test_the_generation_chart_follows_the_fold_under_way(followed):
    _, grown, first, fold, _, _, _ = followed
    assert grown[0] > first or grown[1] != fold, (first, fold, grown)


def test_a_stopped_run_shows_no_eta_and_where_it_stopped(followed):
    _, _, _, _, stopped, status, _ = followed
    assert stopped["eta"] is False, stopped
    assert stopped["generation"] == status["generation"]
    per_fold_done = status["generation"] - GENERATIONS
    if per_fold_done > 0:
        assert stopped["words"] == f"stopped in fold 2 of {FOLDS}, after its generation {per_fold_done} of {GENERATIONS}"
        assert stopped["rows"] == ["done", "stopped", "pending"], stopped
    else:
        assert stopped["words"] == f"stopped after fold 1 of {FOLDS} (fold 2 not started)", stopped
    assert "running" not in stopped["words"] and "running" not in stopped["rows"]


def test_resume_and_completion_show_without_a_reload(server, page, followed):
    run_id, _, _, _, _, _, resumed = followed
    assert resumed in ("queued", "running")
    assert page.inner_text("#state") == "completed"
    assert page.inner_text("#fold-state") == f"completed: all {FOLDS} folds"
    assert page.is_hidden("#eta-box")
    assert page.locator("#fold-table tbody tr.done").count() == FOLDS
    assert page.is_visible("#wf-summary")
    summary = server.get(f"/api/runs/{run_id}/walk-forward").json()["summary"]
    assert page.inner_text("#wf-verdict").startswith("Passed" if summary["passed"] else "Failed")
    page.screenshot(path=ARTIFACTS / "walk-forward-resumed.png", full_page=True)
    assert page.problems == []


def test_the_runs_list_shows_the_verdict_and_stitched_figures(server, page, followed):
    run_id = followed[0]
    summary = server.get(f"/api/runs/{run_id}/walk-forward").json()["summary"]
    page.goto(server.url + "/")
    _wait(page, "() => document.body.dataset.ready === 'true'")
    cell = page.locator(f"#run-{run_id} td.best")
    label = f"walk-forward, {FOLDS} folds: {'passed' if summary['passed'] else 'failed'}"
    assert cell.locator("a").inner_text() == label
    assert cell.locator("a").get_attribute("href") == f"/runs/{run_id}/walk-forward"
    text = cell.inner_text()
    expected = page.evaluate("(v) => metricText('total_return_pct', v)", summary["stitched"]["total_return_pct"])
    assert f"out of sample {expected}" in text, text
    elite = server.get(f"/api/runs/{run_id}/elite").json()
    assert f"#{elite[0]['id']}" not in text  # not the last fold's best member
    page.screenshot(path=ARTIFACTS / "runs-walk-forward.png", full_page=True)


def test_the_compare_page_shows_the_stitched_figures_under_the_verdict(server, page, followed):
    run_id = followed[0]
    plain = {**_config(), "name": "plain run beside it", "data": {"dataset": "EURUSD-1h"}}
    plain["strategy"]["signals"]["pause"]["params"]["period"] = 1  # no sleep needed here
    plain_id = server.post("/api/runs", json=plain).json()["id"]
    server.wait_for(plain_id, ("completed",), timeout=240)
    summary = server.get(f"/api/runs/{run_id}/walk-forward").json()["summary"]
    page.goto(f"{server.url}/compare?runs={plain_id},{run_id}")
    _wait(page, "() => document.body.dataset.ready === 'true'")
    head = page.locator("#best thead th.walk-forward a")
    assert head.inner_text().endswith(f"walk-forward, {FOLDS} folds: {'passed' if summary['passed'] else 'failed'}")
    assert head.get_attribute("href") == f"/runs/{run_id}/walk-forward"
    cell = page.locator("#best tbody tr[data-metric='total_return_pct'] td.stitched")
    expected = page.evaluate("(v) => fmt(v)", summary["stitched"]["total_return_pct"])
    assert cell.inner_text() == expected
    page.screenshot(path=ARTIFACTS / "compare-walk-forward.png", full_page=True)


def test_the_run_page_labels_the_walk_forward_verdict(server, page, followed):
    run_id = followed[0]
    summary = server.get(f"/api/runs/{run_id}/walk-forward").json()["summary"]
    page.goto(f"{server.url}/runs/{run_id}")
    verdict = f"walk-forward, {FOLDS} folds: {'passed' if summary['passed'] else 'failed'}"
    page.wait_for_function("(v) => document.getElementById('walk-forward-link').textContent.toLowerCase()"
                           ".startsWith(v)", arg=verdict)  # fmt: skip
    page.wait_for_selector("#robustness:not([hidden])")
    note = page.locator("#wf-robustness")
    assert note.is_visible() and note.locator("a").inner_text() == verdict
    assert note.locator("a").get_attribute("href") == f"/runs/{run_id}/walk-forward"
    text = note.inner_text()
    assert "last fold's search only" in text and "out of sample (every fold's test window, stitched)" in text, text
    page.locator("#robustness").screenshot(path=ARTIFACTS / "is-it-real-walk-forward.png")
