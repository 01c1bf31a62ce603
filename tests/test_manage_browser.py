"""The form's help and error summary, the runs list's rename, delete and compare,
in a real browser (Playwright, Debian's Chromium) against a real server."""

from __future__ import annotations

import json

import pytest

from tests import test_browser
from tests.conftest import GOOG
from tests.test_api import run_config
from tests.test_browser import ARTIFACTS

pytestmark = pytest.mark.slow  # a real server and a headless browser

server = test_browser.server  # fixtures: this module's own server and browser page
page = test_browser.page


def _ready(page) -> None:
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")


def _form_json(page) -> dict:
    return json.loads(page.input_value("#config"))


def test_the_form_explains_itself_and_its_error_summary_links_to_the_fields(server, page):
    page.goto(server.url + "/runs/new")
    _ready(page)
    commission = "[data-path='execution.commission']"
    assert page.input_value(commission) == "0.01"  # shown in percent ...
    assert _form_json(page)["execution"]["commission"] == 0.0001  # ... stored as a fraction
    assert page.inner_text(f"label:has({commission}) .unit") == "% per side"
    assert "per side" in page.inner_text(f"label:has({commission}) small.help")
    assert "all weighted signals agree" in page.inner_text("label:has([data-path='strategy.entry.threshold']) small.help")
    assert "luck" in page.inner_text("label:has([data-path='ga.min_trades']) small.help")
    page.fill(commission, "0.05")  # the JSON view follows every edit
    assert _form_json(page)["execution"]["commission"] == 0.0005
    page.fill("[data-path='ga.generations']", "7")
    assert _form_json(page)["ga"]["generations"] == 7
    population = _form_json(page)["ga"]["population"]  # the server's estimate by Start follows the edits
    page.wait_for_function("n => document.getElementById('estimate').textContent.startsWith(n + ' evaluations')",
                           arg=f"{population * 7:,}")  # fmt: skip

    fast = "[data-path='strategy.signals.golden.params.fast']"
    page.fill(fast, "50")
    page.fill(f"label:has({fast}) .to", "5")
    page.fill("[data-path='ga.population']", "1")
    page.click("#start")
    page.wait_for_selector("#errors a.error-link")
    links = page.locator("#errors a.error-link")
    texts = [links.nth(k).inner_text() for k in range(links.count())]
    assert "strategy.signals.golden.params.fast: min 50 is above max 5" in texts, texts
    assert any(t.startswith("ga.population:") for t in texts), texts
    page.problems.clear()  # the browser logs the expected 400 answer as an error
    page.screenshot(path=ARTIFACTS / "new-run-errors.png", full_page=True)
    page.click("#errors a.error-link[data-path='ga.population']")
    assert page.evaluate("() => document.activeElement.dataset.path") == "ga.population"
    page.click("#errors a.error-link[data-path='strategy.signals.golden.params.fast']")
    assert page.evaluate("() => document.activeElement.dataset.path") == "strategy.signals.golden.params.fast"
    assert page.problems == [] and page.refused == []


def test_load_json_shows_what_the_form_cannot_hold_instead_of_rewriting_it(server, page):
    page.goto(server.url + "/runs/new")
    _ready(page)
    before = page.input_value("[data-path='ga.population']")
    doc = _form_json(page)
    doc["ga"]["population"] = "many"
    doc["ga"]["crossover_prob"] = 0.7  # no field for it: kept as it is
    page.click("#advanced summary")
    page.fill("#config", json.dumps(doc))
    page.click("#apply-json")
    page.wait_for_selector("#errors li")
    assert 'ga.population: "many" cannot be held by the form' in page.inner_text("#errors")
    assert page.input_value("[data-path='ga.population']") == before  # the form was left as it was
    assert json.loads(page.input_value("#config"))["ga"]["population"] == "many"  # the JSON as written
    doc["ga"]["population"] = 20
    page.fill("#config", json.dumps(doc))
    page.click("#apply-json")
    assert page.input_value("[data-path='ga.population']") == "20"
    assert page.inner_text("#errors") == ""
    assert _form_json(page)["ga"]["crossover_prob"] == 0.7


def _finished_runs(server, *seeds: int) -> list[int]:
    ids = [server.post("/api/runs", json=run_config(generations=2, seed=seed)).json()["id"] for seed in seeds]
    for run_id in ids:
        assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return ids


def test_compare_two_runs(server, page):
    first, second = _finished_runs(server, 5, 6)
    page.goto(server.url + "/")
    _ready(page)
    assert page.locator("#compare").is_disabled()
    page.check(f"#run-{first} input.select")
    page.check(f"#run-{second} input.select")
    page.click("#compare")
    page.wait_for_url(f"**/compare?runs={min(first, second)},{max(first, second)}")
    _ready(page)
    assert page.evaluate("() => document.getElementById('pareto').data.length") == 2
    assert page.locator("#evolution .main-svg").count() >= 1
    best = server.get(f"/api/runs/{first}/elite").json()[0]
    cell = page.locator("#best tr[data-metric='total_trades'] td.train").first.inner_text()
    assert cell == str(best["total_trades"])
    assert page.locator("#best tr[data-metric='sharpe'] td.test").count() == 2
    assert page.inner_text("#diff tr[data-key='ga.seed']").split("\t")[1:] == ["5", "6"]
    page.screenshot(path=ARTIFACTS / "compare.png", full_page=True)


def test_rename_and_delete_a_run_from_the_list(server, page):
    (run_id,) = _finished_runs(server, 8)
    page.goto(server.url + "/")
    _ready(page)
    best = server.get("/api/runs").json()
    member = next(r for r in best if r["id"] == run_id)["best_member"]
    assert page.inner_text(f"#run-{run_id} td.best").startswith(f"#{member['id']}: net profit ")
    page.click(f"#run-{run_id} button.rename")
    page.fill(f"#run-{run_id} input.new-name", "my renamed run")
    page.press(f"#run-{run_id} input.new-name", "Enter")
    page.wait_for_function(f"() => document.querySelector('#run-{run_id} td.name').textContent === 'my renamed run'")
    assert server.get(f"/api/runs/{run_id}").json()["name"] == "my renamed run"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#run-{run_id} button.delete")
    page.wait_for_selector(f"#run-{run_id}", state="detached")
    assert server.get(f"/api/runs/{run_id}").status_code == 404
    page.reload()
    _ready(page)
    assert page.locator(f"#run-{run_id}").count() == 0
    assert page.locator("#datasets tr#dataset-EURUSD-1h button.delete-dataset").is_disabled()


def test_the_list_names_an_uploaded_dataset_by_its_file_and_keeps_its_delete_until_its_runs_go(server, page):
    content = b"".join(GOOG.read_bytes().splitlines(keepends=True)[:-3])  # content no other test uploads
    dataset = server.post("/api/datasets", files={"file": ("mygoog.csv", content)}).json()
    doc = run_config(generations=1)
    doc["data"] = {"dataset": dataset["id"]}
    run_id = server.post("/api/runs", json=doc).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    listed = {d["id"]: d for d in server.get("/api/datasets").json()}
    assert listed[dataset["id"]]["run_ids"] == [run_id] and listed[dataset["id"]]["name"] == "mygoog.csv"
    page.goto(server.url + "/")
    _ready(page)
    cell = f"#run-{run_id} td.dataset"
    page.wait_for_function(f"() => document.querySelector('{cell}').textContent === 'mygoog.csv'")
    assert dataset["id"] in page.get_attribute(cell, "title")
    remove = page.locator(f"#datasets tr#dataset-{dataset['id']} button.delete-dataset")
    assert remove.is_disabled()
    assert remove.get_attribute("title") == f"used by run {run_id}: delete it first"
    page.screenshot(path=ARTIFACTS / "runs-dataset-names.png", full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#run-{run_id} button.delete")
    page.wait_for_selector(f"#run-{run_id}", state="detached")
    page.wait_for_function(f"() => !document.querySelector('#dataset-{dataset['id']} button.delete-dataset').disabled")
    assert remove.get_attribute("title") is None


def test_compare_shows_real_differences_only_and_whole_generation_ticks(server, page):
    """Null in one run and absent in another is no difference; the objectives'
    generation axis has whole-number ticks at a sensible step, first to last."""
    docs = [run_config(generations=12, seed=9), run_config(generations=2, seed=10), run_config(generations=2, seed=11)]
    docs[1]["strategy"]["direction"] = "both"  # its entry_short is a rule, the others' null
    docs[1]["strategy"]["entry_short"] = {"weights": {"down": 1.0}, "threshold": 1.0}
    ids = [server.post("/api/runs", json=doc).json()["id"] for doc in docs]
    for run_id in ids:
        assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    page.goto(server.url + "/compare?runs=" + ",".join(map(str, ids)))
    _ready(page)
    rows = page.locator("#diff tbody tr")
    cells = [rows.nth(k).inner_text().split("\t") for k in range(rows.count())]
    assert all(len(set(row[1:])) > 1 for row in cells), cells  # every row shown differs
    keys = [row[0] for row in cells]
    assert "strategy.entry_short" not in keys and "strategy.entry_short.weights.down" in keys, keys
    chart = "#evolution-total_return_pct"
    history = server.get(f"/api/runs/{ids[0]}/generations").json()
    first, last = history[0]["generation"], history[-1]["generation"]
    assert page.evaluate(f"() => document.querySelector('{chart}').layout.xaxis.range") == [first, last]
    ticks = page.evaluate(f"() => [...document.querySelectorAll('{chart} .xtick text')].map((t) => t.textContent)")
    assert ticks and all(t.isdigit() for t in ticks) and len(ticks) <= 8, ticks
    assert all(first <= int(t) <= last for t in ticks), ticks
    page.screenshot(path=ARTIFACTS / "compare-three.png", full_page=True)
    assert page.problems == [] and page.refused == []
