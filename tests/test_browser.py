"""The pages in a real browser: Playwright driving Debian's Chromium against a real server.

Screenshots of each page are saved to ``test-artifacts/`` (the README shows copies).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import ROOT
from tests.server import module_server
from tests.test_api import PLUGIN_ENV, run_config

pytestmark = pytest.mark.slow  # a real server and a headless browser

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


server = module_server("browser", env={**PLUGIN_ENV, "FAULTY_SLEEP": "0.1"})


def _estimate(message) -> bool:
    """The form's estimate of a form still being filled in: its 400 is expected
    (the browser logs every 4xx answer as an error)."""
    return message.location.get("url", "").endswith("/api/runs/estimate")


@pytest.fixture(scope="module")
def page():
    assert CHROMIUM, "Debian's chromium is not installed (the README's test command installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        problems: list[str] = []
        refused: list[str] = []  # Content-Security-Policy violations, on any page of the test
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and not _estimate(m) else None)
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.problems = problems
        page.refused = refused
        yield page
        browser.close()


GENERATIONS = 12  # with the sleeping signal, long enough to be watched live on a busy machine


def _form_config() -> dict:
    """A quick run for the form: the live page must see generations arrive one by one."""
    return {
        "name": "browser test",
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
        "objectives": [{"metric": "total_return_pct", "goal": "max"}, {"metric": "max_drawdown_pct", "goal": "min"}],
        "ga": {"population": 16, "generations": GENERATIONS, "seed": 2},
        "split": {"test_fraction": 0.25},
        "workers": 1,
    }  # fmt: skip


def loaded_elite_stop_loss(page, server) -> float:
    """The stop-loss of the individual whose page was open before the form."""
    run_id, ind_id = re.search(r"/runs/(\d+)/individuals/(\d+)", page.url).groups()
    return server.get(f"/api/runs/{run_id}/individuals/{ind_id}").json()["params"]["strategy.stop_loss"]


# Predicates are functions ("() => ..."): Playwright evaluates a bare expression
# with eval, which the pages' Content-Security-Policy (rightly) refuses.


def _rendered(page, selector: str) -> bool:
    return page.locator(f"{selector} .main-svg").count() > 0


def test_create_a_run_watch_it_live_and_open_an_elite(server, page):
    page.goto(server.url + "/runs/new")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    fast = "[data-path='strategy.signals.golden.params.fast']"
    page.fill(fast, "50")
    page.fill(f"label:has({fast}) .to", "5")
    page.click("#start")
    page.wait_for_function(f"() => document.querySelector(\"label:has({fast}) .field-error\").textContent !== ''")
    assert page.inner_text(f"label:has({fast}) .field-error") == "min 50 is above max 5"  # beside its field
    page.problems.clear()  # the browser logs the expected 400 answer as an error

    page.select_option("#dataset", "EURUSD-1h")
    page.click("#advanced summary")
    page.fill("#config", json.dumps(_form_config()))
    page.click("#apply-json")  # a saved configuration, loaded into the fields
    assert page.input_value("[data-path='ga.generations']") == str(GENERATIONS)
    assert page.input_value("[data-path='strategy.signals.up.params.fast']") == "3"
    assert page.input_value("label:has([data-path='strategy.signals.up.params.fast']) .to") == "30"
    page.screenshot(path=ARTIFACTS / "new-run.png", full_page=True)
    page.click("#start")

    page.wait_for_url(re.compile(r"/runs/\d+$"))
    page.wait_for_function("() => Number(document.body?.dataset.generations || 0) >= 2", timeout=60_000)
    seen_live = int(page.evaluate("document.body.dataset.generations"))
    assert page.evaluate("document.body.dataset.state") == "running" and seen_live < GENERATIONS
    page.screenshot(path=ARTIFACTS / "run-live.png", full_page=True)
    page.wait_for_function("() => document.body?.dataset.state === 'completed'", timeout=120_000)
    page.wait_for_function(f"() => Number(document.body?.dataset.generations) === {GENERATIONS}")
    page.wait_for_selector("#elite tbody tr")
    for chart in ("#objectives", "#pareto", "#parallel", "#evolution", "#histograms"):
        assert _rendered(page, chart), chart
    ticks = page.evaluate("() => document.getElementById('histograms').layout.yaxis")
    assert ticks["tickformat"] == "d" and ticks["dtick"] >= 1 and ticks["dtick"] == int(ticks["dtick"])  # whole counts
    assert page.locator("#elite tbody tr").count() >= 1
    page.screenshot(path=ARTIFACTS / "run.png", full_page=True)

    page.click("#elite tbody tr a")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=30_000)
    for chart in ("#candles", "#equity", "#drawdown", "#wins", "#losses"):
        assert _rendered(page, chart), chart
    assert page.evaluate("document.getElementById('candles').data[0].type") == "candlestick"
    assert page.locator("#trades tbody tr").count() > 0
    page.screenshot(path=ARTIFACTS / "individual.png", full_page=True)

    page.click("#to-form")  # the elite, loaded into the run form with every value fixed
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    assert page.input_value("[data-path='strategy.stop_loss']") == str(loaded_elite_stop_loss(page, server))
    assert page.input_value("label:has([data-path='strategy.stop_loss']) .to") == ""  # fixed, not a range

    page.goto(server.url + "/")
    page.wait_for_selector("#runs tbody tr[data-state='completed']")
    page.screenshot(path=ARTIFACTS / "runs.png", full_page=True)
    assert page.problems == []
    assert page.refused == []  # every page worked under its Content-Security-Policy


def test_pages_carry_a_content_security_policy_without_inline_scripts(server):
    for path in ("/", "/runs/new", "/runs/1", "/runs/1/individuals/1"):
        response = server.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text) == [], path  # no inline scripts


def test_pages_load_nothing_from_elsewhere(server, page):
    requests_made: list[str] = []
    page.on("request", lambda request: requests_made.append(request.url))
    page.goto(server.url + "/runs/new")
    page.wait_for_load_state("networkidle")
    assert requests_made and all(url.startswith(server.url) for url in requests_made), requests_made


def test_a_single_objective_run_page_draws_its_charts_and_elite(server, page):
    """One objective: one axis (no second one for a second metric), the elite as bars."""
    doc = run_config(generations=3)
    doc["objectives"] = [{"metric": "sharpe", "goal": "max"}]
    run_id = server.post("/api/runs", json=doc).json()["id"]
    server.wait_for(run_id, ("completed",))
    page.problems.clear()
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => Number(document.body?.dataset.generations || 0) === 3", timeout=60_000)
    page.wait_for_selector("#elite tbody tr")
    for chart in ("#objectives", "#pareto"):
        assert _rendered(page, chart), chart
    assert page.locator("#objectives > .small-chart").count() == 1  # one chart per objective
    assert page.problems == []


def _two_of_a_kind(generations: int, slow: bool = False) -> dict:
    """Two signals of the same kind, each with a ``fast`` gene, and a split."""
    fast = {"min": 3, "max": 30, "type": "int"}
    signals = {
        "golden": {"kind": "sma_cross_up", "params": {"fast": fast, "slow": 60}},
        "late": {"kind": "sma_cross_up", "params": {"fast": fast, "slow": 120}},
        "death": {"kind": "sma_cross_down", "params": {"fast": 10, "slow": 60}},
    }
    weights = {"golden": 1.0, "late": 1.0}
    if slow:  # a weight-0 signal that sleeps: generations arrive one by one
        signals["pause"] = {"kind": "slow", "params": {"period": {"min": 1, "max": 10**6, "type": "int"}}}
        weights["pause"] = 0.0
    return {
        "name": "two of a kind", "data": {"dataset": "EURUSD-1h"},
        "strategy": {"signals": signals, "entry": {"weights": weights, "threshold": 0.5},
                     "exit": {"weights": {"death": 1.0}, "threshold": 1.0}, "stop_loss": {"min": 0.005, "max": 0.05}},
        "objectives": [{"metric": "total_return_pct", "goal": "max"}, {"metric": "max_drawdown_pct", "goal": "min"}],
        "ga": {"population": 16, "generations": generations, "seed": 4},
        "split": {"test_fraction": 0.3}, "workers": 1,
    }  # fmt: skip


@pytest.fixture(scope="module")
def split_run(server) -> int:
    """A completed run with a split and two signals of the same kind."""
    run_id = server.post("/api/runs", json=_two_of_a_kind(3)).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return run_id


def test_gene_labels_tell_two_signals_of_the_same_kind_apart(server, page, split_run):
    page.problems.clear()
    page.goto(f"{server.url}/runs/{split_run}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    page.wait_for_selector("#elite tbody tr")
    head = page.locator("#elite thead th").all_inner_texts()
    assert {"golden.fast", "late.fast", "stop_loss"} <= set(head), head
    assert len(head) == len(set(head))
    layout = page.evaluate("() => document.getElementById('evolution').layout")
    titles = [axis["title"]["text"] for name, axis in layout.items() if name.startswith("yaxis")]
    assert sorted(titles) == sorted(server.get(f"/api/runs/{split_run}/labels").json()["labels"].values())
    csv_head = server.get(f"/api/runs/{split_run}/export.csv").text.splitlines()[0].split(",")
    assert {"golden.fast", "late.fast"} <= set(csv_head)
    # one small chart per objective
    assert page.locator("#objectives > .small-chart .main-svg").count() >= 2
    axes = page.evaluate("() => [...document.querySelectorAll('#objectives .small-chart')].map((c) => c.layout.xaxis)")
    assert axes and all(a["tickformat"] == "d" and a["dtick"] >= 1 for a in axes)  # whole generations, no 1.5
    # a Pareto point's hover names its objectives and parameters; a click opens it
    pareto = page.evaluate("() => document.getElementById('pareto').data[0]")
    assert "net profit (%)" in pareto["text"][0] and "golden.fast" in pareto["text"][0]
    page.locator("#pareto").scroll_into_view_if_needed()  # below the fold once a run shows "Is it real?"
    box = page.locator("#pareto .point").first.bounding_box()  # Plotly's drag layer takes the click: the mouse
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(rf"/runs/{split_run}/individuals/{pareto['customdata'][0]}$"))
    assert page.problems == []


def test_metrics_read_by_the_same_name_on_the_runs_list_run_and_individual_pages_raw_keys_in_titles(
    server, page, split_run
):
    page.problems.clear()
    page.goto(server.url + "/")
    page.wait_for_selector(f"#run-{split_run} td.best a")
    best = page.inner_text(f"#run-{split_run} td.best")
    assert "net profit " in best and "max drawdown " in best and "total_return_pct" not in best, best
    page.goto(f"{server.url}/runs/{split_run}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    page.wait_for_selector("#elite tbody tr")
    heads = page.locator("#elite thead th").evaluate_all("ths => ths.map((th) => [th.textContent, th.title])")
    assert ["net profit (%)", "total_return_pct"] in heads and ["max drawdown (%)", "max_drawdown_pct"] in heads, heads
    assert ["Sharpe", "sharpe"] in heads and ["test net profit (%)", "test total_return_pct"] in heads, heads
    assert not any("_pct" in text for text, _ in heads), heads  # no raw key where a person reads
    titles = page.evaluate(
        "() => [...document.querySelectorAll('#objectives .small-chart')].map((c) => c.layout.title.text)"
    )
    assert titles == ["net profit (%), higher is better", "max drawdown (%), lower is better"], titles
    axes = page.evaluate(
        "() => { const l = document.getElementById('pareto').layout; return [l.xaxis.title.text, l.yaxis.title.text]; }"
    )
    assert axes == ["net profit (%)", "max drawdown (%)"], axes
    parallel = page.evaluate("() => document.getElementById('parallel').data[0].x")  # a member's line, then a gap
    assert parallel[-2:] == ["net profit", None], parallel  # the last axis: the first objective
    csv_head = server.get(f"/api/runs/{split_run}/export.csv").text.splitlines()[0].split(",")
    assert {"total_return_pct", "max_drawdown_pct"} <= set(csv_head)  # files and the API keep the keys
    member = server.get(f"/api/runs/{split_run}/elite?fields=summary").json()[0]
    page.goto(f"{server.url}/runs/{split_run}/individuals/{member['id']}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    row = page.locator("#summary tr[data-stat='total_return_pct'] th")
    assert row.inner_text() == "net profit (%)" and row.get_attribute("title") == "total_return_pct"
    rows = page.locator("#summary tbody th").all_inner_texts()
    assert "max drawdown (%)" in rows and "Sharpe" in rows and not any("_pct" in r for r in rows), rows
    assert page.problems == []


def test_the_individual_page_shows_training_and_test_side_by_side_with_the_split_marked(server, page, split_run):
    elite = server.get(f"/api/runs/{split_run}/elite").json()
    member = elite[0]
    page.problems.clear()
    page.goto(f"{server.url}/runs/{split_run}/individuals/{member['id']}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    assert page.locator("#summary thead th").all_inner_texts() == ["statistic", "training", "test"]
    row = "#summary tr[data-stat='total_return_pct']"
    shown = [float(page.inner_text(f"{row} td[data-period='{p}']")) for p in ("train", "test")]
    assert shown == pytest.approx([member["total_return_pct"], member["test"]["total_return_pct"]], rel=1e-3)
    split = member["test"]["equity"]["time"][0]
    assert page.evaluate("() => document.body.dataset.split") == split
    for chart in ("candles", "equity", "drawdown"):
        shapes = page.evaluate(f"() => document.getElementById('{chart}').layout.shapes")
        assert any(s["type"] == "line" and s["x0"] == split for s in shapes), chart
    names = page.evaluate("() => document.getElementById('equity').data.map((t) => t.name)")
    assert "strategy (training)" in names and "strategy (test)" in names
    periods = page.locator("#trades tbody tr").evaluate_all("rows => rows.map((r) => r.dataset.period)")
    assert periods.count("training") == member["total_trades"]
    assert periods.count("test") == member["test"]["total_trades"]
    assert page.problems == []


def test_the_page_of_an_individual_outside_the_elite_says_its_series_were_not_kept(server, page, split_run):
    elite = {e["id"] for e in server.get(f"/api/runs/{split_run}/elite?fields=summary").json()}
    page_of = server.get(f"/api/runs/{split_run}/individuals?limit=1000").json()["individuals"]
    other = next(i for i in page_of if i["id"] not in elite and i["total_trades"] and not i["failed"])
    assert server.get(f"/api/runs/{split_run}/individuals/{other['id']}").json()["trades"] == []
    page.goto(f"{server.url}/runs/{split_run}/individuals/{other['id']}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    assert f"{other['total_trades']} trades and its equity were not kept" in page.inner_text("#no-series")
    page.goto(f"{server.url}/runs/{split_run}/individuals/{min(elite)}")  # a member's page says nothing of it
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    assert page.locator("#no-series").count() == 0


def test_the_run_page_applies_generations_as_changes(server, page):
    """Watching a live run: after its first read, the page asks for the summaries of
    new elite members only (at most one request a generation), never the whole elite
    or every generation again, and never any trades or equity."""
    run_id = server.post("/api/runs", json=_two_of_a_kind(GENERATIONS, slow=True)).json()["id"]
    asked: list[str] = []
    listener = lambda request: asked.append(request.url) if "/api/" in request.url else None  # noqa: E731
    page.on("request", listener)
    try:
        page.problems.clear()
        page.goto(f"{server.url}/runs/{run_id}")
        page.wait_for_function("() => Number(document.body?.dataset.generations || 0) >= 1", timeout=60_000)
        start = int(page.evaluate("document.body.dataset.generations"))
        at_start = len(asked)
        page.wait_for_function("() => document.body?.dataset.state === 'completed'", timeout=180_000)
        page.wait_for_function(f"() => Number(document.body?.dataset.drawn) === {GENERATIONS}")
        later = asked[at_start:]
    finally:
        page.remove_listener("request", listener)
    live = GENERATIONS - start
    assert live >= 1, "the run ended before the page was watching"
    deltas = [url for url in later if "/individuals?ids=" in url]
    assert len(deltas) <= live, later
    robustness = [url for url in later if f"/api/runs/{run_id}/robustness" in url]  # once, at the end
    assert len(robustness) == 1, later
    assert all("/individuals?ids=" in url or re.search(r"/generations\?after=\d+", url) or url in robustness
               for url in later), later  # fmt: skip
    assert not any(re.search(r"/elite(\?|$)", url) and "fields=summary" not in url for url in asked), asked
    assert not any(re.search(r"/individuals/\d+$", url) for url in asked), asked  # no full statistics
    shown = page.locator("#elite tbody tr").evaluate_all("rows => rows.map((r) => Number(r.dataset.id))")
    assert shown == server.get(f"/api/runs/{run_id}/generations").json()[-1]["elite"]  # the deltas add up
    assert page.problems == []
