"""Walk-forward pages a trader reads, in a real browser on real runs: 40 folds with
readable fold labels, folds without a valid member that say why (and never show an
invalid member as the best), the largest fold's share in words, and the run page's
exports with the walk-forward and the folds."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import ROOT
from tests.server import module_server
from tests.test_walk_forward_browser import page as page  # the browser fixture
from tests.test_walk_forward_dashboard import wf_config
from visualization_apps.walk_forward_store import ID_STRIDE

pytestmark = pytest.mark.slow  # a real server, real runs and a headless browser

ARTIFACTS = ROOT / "test-artifacts"
server = module_server("walk-forward-pages")


def _finished(server, doc: dict) -> int:
    response = server.post("/api/runs", json=doc)
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"), timeout=600)["state"] == "completed"
    return run_id


@pytest.fixture(scope="module")
def forty(server):
    doc = wf_config(folds=40, generations=2)
    doc["ga"]["population"] = 6
    doc["walk_forward"] = {"folds": 40, "mode": "rolling", "train": 300, "test": 110}
    return _finished(server, doc)


@pytest.fixture(scope="module")
def empty(server):
    doc = wf_config(folds=2, generations=2)
    doc["ga"]["min_trades"] = 10**6  # no member of any fold trades that often
    return _finished(server, doc)


def _open(page, server, run_id: int) -> None:
    page.goto(f"{server.url}/runs/{run_id}/walk-forward")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)


def _tick_boxes(page, selector: str) -> list[dict]:
    return page.evaluate(f"""() => [...document.querySelectorAll('{selector}')].map((t) => {{
        const b = t.getBoundingClientRect(); return {{text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height}}; }})""")


def _overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def test_forty_folds_have_readable_fold_labels(server, page, forty):
    _open(page, server, forty)
    page.screenshot(path=ARTIFACTS / "walk-forward-40-folds.png", full_page=True)
    for selector in ("#timeline .y2tick text", "#drift .xtick text"):
        boxes = _tick_boxes(page, selector)
        assert 3 <= len(boxes) <= 12, (selector, [b["text"] for b in boxes])
        assert all(b["text"].isdigit() and 1 <= int(b["text"]) <= 40 for b in boxes), boxes
        assert not any(_overlap(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1:]), (selector, boxes)
    assert page.locator("#fold-table tbody tr").count() == 40
    # every fold's window is on the timeline, its number and dates on hover
    hovers = page.evaluate("() => document.getElementById('timeline').data.slice(1).map((t) => t.hovertemplate)")
    assert len(hovers) == 80 and hovers[-1].startswith("fold 40 test")
    assert page.problems == []


def test_the_largest_folds_share_is_said_in_words(server, page, forty):
    summary = server.get(f"/api/runs/{forty}/walk-forward").json()["summary"]
    _open(page, server, forty)
    profits = summary["fold_profits_pct"]
    total = sum(profits)
    best = profits.index(max(profits)) + 1
    notes = page.inner_text("#wf-figure-notes")
    if total > 0:
        share = page.evaluate("(v) => fmt(v, 3)", max(profits) / total * 100)
        assert f"Fold {best} made {share} % of the net profit; the others" in notes, notes
        if max(profits) > total:
            assert "the others lost" in notes and "a share above 1" in notes, notes
    else:
        assert "Largest fold's share undefined: the folds made no net profit together" in notes, notes
        assert summary["max_fold_profit_share"] is None
    dd = page.locator("#wf-figures dd").nth(5)  # the stored value is shown as it is, explained on hover
    assert dd.get_attribute("title") in notes


def test_undefined_sharpe_ratios_say_why(server, page, forty):
    folds = server.get(f"/api/runs/{forty}/walk-forward").json()["folds"]
    _open(page, server, forty)
    undefined = [f["fold"] for f in folds if f["params"] and f["test"]["sharpe"] is None]
    assert undefined  # 110 hourly bars: fewer than 30 daily returns
    cell = page.locator(f"#fold-table tbody tr[data-fold='{undefined[0]}'] td.test").nth(1)
    assert cell.inner_text() == "\u2013"  # the en dash of an undefined value
    periods = folds[undefined[0] - 1]["test"]["return_periods"]
    assert cell.get_attribute("title") == (f"Sharpe undefined: the window has {periods} daily returns, fewer than "
                                           "the 30 an annualized Sharpe ratio needs")  # fmt: skip
    note = page.inner_text("#fold-notes li[data-note='sharpe-test']")
    assert note.startswith("Sharpe \"\u2013\" on the test window of folds ") and "fewer than the 30 daily returns" in note


def test_a_fold_without_a_valid_member_says_why_and_shows_no_best(server, page, empty):
    stored = server.get(f"/api/runs/{empty}/walk-forward").json()
    assert [f["params"] for f in stored["folds"]] == [None, None]
    _open(page, server, empty)
    for fold in (1, 2):
        why = (f"no member of fold {fold} met the minimum of 1000000 trades (ga.min_trades) on its training window: "
               "the fold trades nothing")  # fmt: skip
        assert page.inner_text(f"#fold-notes li[data-note='empty-{fold}']") == f"Fold {fold}: {why}."
        row = page.locator(f"#fold-table tbody tr[data-fold='{fold}']")
        assert row.get_attribute("title") == why
        assert row.locator("td.why").count() >= 6 and row.locator("td.why").first.get_attribute("title") == why
    page.screenshot(path=ARTIFACTS / "walk-forward-empty-folds.png", full_page=True)
    page.goto(server.url + "/")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    cell = page.locator(f"#run-{empty} td.best")
    assert cell.locator("a").inner_text() == "walk-forward, 2 folds: failed"
    assert "#" not in cell.inner_text()  # no member shown as the run's best
    assert page.problems == []


def test_export_json_has_the_walk_forward_and_every_csv_row_its_fold(server, forty):
    summary = server.get(f"/api/runs/{forty}/walk-forward").json()["summary"]
    document = server.get(f"/api/runs/{forty}/export.json").json()
    assert document["walk_forward"] == summary
    rows = list(csv.DictReader(io.StringIO(server.get(f"/api/runs/{forty}/export.csv").text)))
    assert rows and list(rows[0])[:2] == ["id", "fold"]
    assert all(int(r["fold"]) == int(r["id"]) // ID_STRIDE + 1 for r in rows)
    assert {int(r["fold"]) for r in rows} == set(range(1, 41))
    evaluations = {f["fold"]: f["evaluations"] for f in summary["folds"]}
    for fold in (1, 40):
        assert 0 < sum(1 for r in rows if int(r["fold"]) == fold) <= evaluations[fold]


def test_a_plain_runs_exports_are_unchanged(server):
    doc = wf_config(folds=1, generations=1)
    del doc["walk_forward"]
    run_id = _finished(server, doc)
    assert "walk_forward" not in server.get(f"/api/runs/{run_id}/export.json").json()
    header = server.get(f"/api/runs/{run_id}/export.csv").text.splitlines()[0].split(",")
    assert "fold" not in header
    assert server.get(f"/api/walk-forward?runs={run_id}").json() == []
    assert server.get("/api/walk-forward?runs=x").status_code == 400


@pytest.mark.parametrize("state", ["interrupted", "failed", "stopped"])
def test_a_run_that_is_not_running_says_where_it_stopped_and_has_no_eta(server, page, forty, state):
    """The page's words for a run left in fold 3 (2 folds done, 1 generation of the third), from the stored folds."""
    _open(page, server, forty)
    seen = page.evaluate("""async (state) => {
        const wf = await getJSON(`/api/runs/${RUN_ID}/walk-forward`);
        const partial = { ...wf, folds: wf.folds.slice(0, 2), summary: null };
        const run = { ...(await getJSON(`/api/runs/${RUN_ID}`)), state, generation: 5, eta_seconds: 12 };
        const progress = foldProgress(run, partial, 2);
        showStatus(run, progress);
        return { words: foldStateWords(run, progress), states: progress.states.slice(0, 4),
                 eta: !document.getElementById('eta-box').hidden, fold: document.getElementById('fold').textContent };
    }""", state)  # fmt: skip
    assert seen == {"words": f"{state} in fold 3 of 40, after its generation 1 of 2", "eta": False, "fold": "3",
                    "states": ["done", "done", state, "pending"]}  # fmt: skip
