"""The run page's elite table (Playwright, Debian's Chromium, a real server and real
runs).

* Its ties while a run is watched: an elite entry's ``ties`` and ``tie_ranges`` grow
  when later generations evaluate more parameter sets with its objective values, and
  a page that watched the run (from its start, through a dropped connection, joining
  it mid-run, through a stop and a resume) ends showing what a fresh load shows,
  without reading the whole elite again (the generations' ``tie_changes``).
* A statistic that reads a dash (undefined) says why: Sharpe and Sortino on BTC-1m's nine days of
  training (they need `MIN_RETURN_PERIODS` daily returns), in the cell's title and a
  note beside the table, on the run page and the individual page.
* A page opened while a run runs ends with a fresh load's robustness columns (DSR,
  plateau, MC p95 drawdown), DSR cells and hint: the members it read before the run's
  end are read again once their robustness is stored (fails on the previous page:
  base columns only); and once the run is over its rate is the whole run's.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import sync_playwright

from optimizer.stats import MIN_CAGR_DAYS, MIN_RETURN_PERIODS
from tests.conftest import sma_cross_config
from tests.server import module_server
from tests.test_api import PLUGIN_ENV
from tests.test_browser import CHROMIUM

pytestmark = pytest.mark.slow  # a real server, a live run and a headless browser

server = module_server("run-page-elite", env={**PLUGIN_ENV, "FAULTY_SLEEP": "0.1"})

DASH = "\u2013"  # what the pages show for an undefined value (common.js's fmt)
GENERATIONS = 24  # with the sleeping signal, generations arrive one by one


def _tie_heavy() -> dict:
    """Few distinct trades (fast 3-4, slow 20-21) and two genes that change none: a
    stop-loss that never triggers (EURUSD never falls 50 % within a trade) and a
    weight-0 signal that sleeps (generations arrive one by one). Nearly every
    evaluation ties an entry already in the elite."""
    doc = sma_cross_config({"min": 3, "max": 4, "type": "int"}, {"min": 20, "max": 21, "type": "int"},
                           stop_loss={"min": 0.5, "max": 0.9})  # fmt: skip
    doc["name"] = "many ties"
    doc["data"] = {"dataset": "EURUSD-1h"}
    doc["strategy"]["signals"]["pause"] = {
        "kind": "slow",
        "params": {"period": {"min": 1, "max": 10**6, "type": "int"}},
    }
    doc["strategy"]["entry"]["weights"]["pause"] = 0.0
    doc["ga"] = {"population": 16, "generations": GENERATIONS, "seed": 5}
    doc["split"] = {"test_fraction": 0.25}
    doc["workers"] = 1
    return doc


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, "Debian's chromium is not installed"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def _page(browser):
    """A page in its own context (its own window: never a hidden tab), recording its
    errors and the API requests it makes."""
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.problems, page.asked = [], []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("request", lambda request: page.asked.append(request.url) if "/api/" in request.url else None)
    return page


def _ties(page) -> dict[int, tuple[str, str]]:
    """The elite table's ties column: row id -> (the cell's text, its title: the tie ranges)."""
    rows = page.locator("#elite tbody tr").evaluate_all(
        "rows => rows.map((r) => { const c = r.querySelector(\"td[data-column='ties']\");"
        " return [Number(r.dataset.id), c.textContent, c.title]; })")  # fmt: skip
    return {ind_id: (text, title) for ind_id, text, title in rows}


def _rows(page) -> list[int]:
    return page.locator("#elite tbody tr").evaluate_all("rows => rows.map((r) => Number(r.dataset.id))")


def _wait_generation(server, run_id: int, at_least: int, timeout: float = 120) -> None:
    """Until the run has stored generation ``at_least`` (or has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = server.get(f"/api/runs/{run_id}?fields=summary").json()
        if status["generation"] >= at_least or status["state"] in ("completed", "failed"):
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached generation {at_least}")


def _drawn(page, generations: int) -> None:
    page.wait_for_function("() => document.body?.dataset.state === 'completed'", timeout=240_000)
    page.wait_for_function(f"() => Number(document.body?.dataset.drawn) === {generations}", timeout=60_000)


def _elite_reads(page) -> list[str]:
    return [url for url in page.asked if re.search(r"/elite(\?|$)", url)]


def test_a_watched_page_ends_with_the_ties_of_a_fresh_load(server, browser):
    run_id = server.post("/api/runs", json=_tie_heavy()).json()["id"]
    watched = _page(browser)  # from the run's start
    watched.goto(f"{server.url}/runs/{run_id}")
    watched.wait_for_function("() => Number(document.body?.dataset.drawn || 0) >= 1", timeout=120_000)
    watched.locator("#elite").scroll_into_view_if_needed()  # the ties column in view: drawn as the run goes
    watched.wait_for_function("() => Number(document.body.dataset.drawn) >= 2"
                              " && document.querySelectorAll('#elite tbody tr').length > 0", timeout=120_000)  # fmt: skip
    early = _ties(watched)
    assert early and watched.evaluate("() => document.body.dataset.state") == "running", "the run ended before"

    # The connection drops for two generations: the page catches up over REST when it is back.
    dropped_at = int(watched.evaluate("() => document.body.dataset.generations"))
    watched.evaluate("() => socket.disconnect()")
    _wait_generation(server, run_id, dropped_at + 2)
    watched.evaluate("() => socket.connect()")

    # Stopped and resumed while it watches: the resumed process goes on from its checkpoint.
    assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
    assert server.wait_for(run_id, ("stopped", "completed"))["state"] == "stopped", "the run ended before its stop"
    watched.wait_for_function("() => document.body?.dataset.state === 'stopped'", timeout=60_000)
    stopped_at = server.get(f"/api/runs/{run_id}?fields=summary").json()["generation"]
    assert stopped_at < GENERATIONS - 2
    assert server.post(f"/api/runs/{run_id}/resume").status_code == 202

    joined = _page(browser)  # opened mid-run, once the resumed run has gone on
    _wait_generation(server, run_id, stopped_at + 1)
    joined.goto(f"{server.url}/runs/{run_id}")
    joined.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=120_000)
    joined.locator("#elite").scroll_into_view_if_needed()
    assert joined.evaluate("() => Number(document.body.dataset.generations)") < GENERATIONS, "the run ended before"
    for page in (watched, joined):
        _drawn(page, GENERATIONS)

    fresh = _page(browser)  # a reload, as the user compared it
    fresh.goto(f"{server.url}/runs/{run_id}")
    fresh.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=120_000)
    final = _ties(fresh)
    elite = server.get(f"/api/runs/{run_id}/elite?fields=summary").json()
    assert _rows(fresh) == [e["id"] for e in elite]
    assert [int(final[e["id"]][0]) for e in elite] == [e["ties"] for e in elite]  # the fresh load shows the stored ties
    assert any(e["ties"] > 1 and "stop_loss" in final[e["id"]][1] for e in elite)  # and their ranges
    header = fresh.locator("#elite th[data-column='ties']").get_attribute("title")
    assert "objective values" in header and "one entry per distinct result" in header, header  # what ties are
    grown = [i for i in early if i in final and early[i] != final[i]]
    assert grown, (early, final)  # entries the page showed early gained ties while it watched: what it must follow

    for page in (watched, joined):
        assert _rows(page) == _rows(fresh)
        assert _ties(page) == final  # counts and ranges, as a fresh load shows them
        assert page.problems == []
    # Applied as changes: the whole elite is read at most once per page, at its load (none
    # before the run's first generation), never again; new members one request a generation.
    assert len(_elite_reads(watched)) <= 1 and len(_elite_reads(joined)) == 1, (watched.asked, joined.asked)
    for page in (watched, joined):
        assert len([u for u in page.asked if "/individuals?ids=" in u]) <= GENERATIONS, page.asked
    assert fresh.problems == []


def _btc_demo() -> dict:
    """The run form's example on BTC-1m (13,680 minutes: about nine days of training),
    small: what the outside trial ran."""
    doc = sma_cross_config({"min": 5, "max": 50, "type": "int"}, {"min": 60, "max": 200, "type": "int"},
                           stop_loss={"min": 0.005, "max": 0.05})  # fmt: skip
    doc["name"] = "SMA trend on BTC"
    doc["data"] = {"dataset": "BTC-1m"}
    doc["ga"] = {"population": 12, "generations": 2, "seed": 7, "min_trades": 10}
    doc["split"] = {"test_fraction": 0.25}
    doc["workers"] = 1
    return doc


def _cells(page, selector: str) -> list[tuple[str, str]]:
    return [
        tuple(cell)
        for cell in page.locator(selector).evaluate_all("cells => cells.map((c) => [c.textContent, c.title])")
    ]


def test_sharpe_and_sortino_say_why_they_read_a_dash(server, browser):
    run_id = server.post("/api/runs", json=_btc_demo()).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"), timeout=240)["state"] == "completed"
    elite = server.get(f"/api/runs/{run_id}/elite?fields=summary").json()
    train, test = elite[0]["return_periods"], elite[0]["test"]["return_periods"]
    assert train < MIN_RETURN_PERIODS and test < MIN_RETURN_PERIODS  # what the run shows: undefined
    assert all(e["sharpe"] is None and e["sortino"] is None for e in elite)
    why_train = f"Sharpe and Sortino need at least {MIN_RETURN_PERIODS} daily returns; the training period has {train}"
    why_test = f"Sharpe and Sortino need at least {MIN_RETURN_PERIODS} daily returns; the test period has {test}"

    page = _page(browser)
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=120_000)
    for column, why in (("sharpe", why_train), ("sortino", why_train), ("test_sharpe", why_test)):
        cells = _cells(page, f"#elite tbody td[data-column='{column}']")
        assert cells == [(DASH, why)] * len(elite), column  # each dash says why in its title
    defined = _cells(page, "#elite tbody td[data-column='total_return_pct']")
    assert all(text != DASH and title == "" for text, title in defined)  # a defined value has no such title
    note = page.locator("#elite-undefined")
    assert note.is_visible()  # and once, in words, beside the table
    assert why_train in note.inner_text() and why_test in note.inner_text()

    page.goto(f"{server.url}/runs/{run_id}/individuals/{elite[0]['id']}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=120_000)
    for stat in ("sharpe", "sortino"):
        cells = _cells(page, f"#summary tr[data-stat='{stat}'] td")
        assert cells == [(DASH, why_train), (DASH, why_test)], stat
    calmar = _cells(page, "#summary tr[data-stat='calmar'] td[data-period='train']")[0]
    assert calmar[0] == DASH and f"at least {MIN_CAGR_DAYS:g} days" in calmar[1]  # CAGR and Calmar need a year
    note = page.locator("#summary-undefined")
    assert note.is_visible() and why_train in note.inner_text() and why_test in note.inner_text()
    assert page.problems == []


def test_before_its_first_generation_the_page_says_the_run_is_starting(server, browser):
    doc = _tie_heavy()
    doc["ga"] = {"population": 40, "generations": 2, "seed": 9}  # a first generation of 4 s at least (sleeps)
    run_id = server.post("/api/runs", json=doc).json()["id"]
    page = _page(browser)
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=60_000)
    if server.get(f"/api/runs/{run_id}").json()["generation"] == 0:  # not yet: what the page says meanwhile
        page.wait_for_function("() => !document.getElementById('starting').hidden", timeout=10_000)
        assert re.match(r"^(Starting|Queued): ", page.inner_text("#starting")), page.inner_text("#starting")
    else:
        pytest.fail("the first generation was stored before the page loaded: the test cannot see the note")
    page.wait_for_function("() => Number(document.getElementById('generation').textContent) >= 1", timeout=120_000)
    assert page.is_hidden("#starting")  # the charts tell from here
    server.wait_for(run_id, ("completed",), timeout=120)
    assert page.problems == []


def _robust_view(page) -> dict:
    """The elite table's header, its DSR cells by row, the DSR hint and the rate's words and value."""
    return page.evaluate(
        "() => ({ head: [...document.querySelectorAll('#elite thead th')].map((th) => th.textContent),"
        " dsr: [...document.querySelectorAll('#elite tbody tr')].map((r) =>"
        " [Number(r.dataset.id), r.querySelector(\"td[data-column='dsr']\")?.textContent ?? null]),"
        " hint: document.getElementById('elite-hint').hidden ? null : document.getElementById('elite-hint').textContent,"
        " rate: [document.getElementById('rate-words').textContent, document.getElementById('rate').textContent] })"
    )  # fmt: skip


def test_a_watched_page_ends_with_the_robustness_columns_and_the_whole_run_rate_of_a_fresh_load(server, browser):
    doc = _tie_heavy()
    doc["ga"]["generations"] = 8
    run_id = server.post("/api/runs", json=doc).json()["id"]
    watched = _page(browser)  # opened while the run runs: its elite read before the robustness exists
    watched.goto(f"{server.url}/runs/{run_id}")
    watched.locator("#elite").scroll_into_view_if_needed()
    watched.wait_for_function("() => document.querySelectorAll('#elite tbody tr').length > 0", timeout=120_000)
    assert watched.evaluate("() => document.body.dataset.state") == "running", "the run ended before"
    assert watched.locator("#rate-words").text_content() == "Evaluations/s"  # while running: the moving average
    _drawn(watched, 8)
    watched.wait_for_function("() => document.body.dataset.robustness === 'drawn'", timeout=60_000)

    status = server.get(f"/api/runs/{run_id}?fields=summary").json()
    fresh = _page(browser)
    fresh.goto(f"{server.url}/runs/{run_id}")
    fresh.wait_for_function("() => document.body?.dataset.ready === 'true'", timeout=120_000)
    final = _robust_view(fresh)
    elite = server.get(f"/api/runs/{run_id}/elite?fields=summary").json()
    assert "DSR" in final["head"] and "MC p95 drawdown %" in final["head"], final  # the fresh load has them
    assert [i for i, _ in final["dsr"]] == [e["id"] for e in elite] and final["hint"]
    watched.wait_for_function("() => document.querySelector(\"#elite th[data-column='dsr']\") !== null",
                              timeout=30_000)  # fmt: skip  # a redraw may follow the end by one read
    seen = _robust_view(watched)
    assert (seen["head"], seen["dsr"], seen["hint"]) == (final["head"], final["dsr"], final["hint"])
    # The rate, once the run is over: the whole run's (evaluations / its generations' wall time).
    rate = status["overall_evals_per_second"]
    assert rate == status["evaluations"] / server.get(f"/api/runs/{run_id}/generations").json()[-1]["elapsed_seconds"]
    shown = fresh.evaluate("(x) => x.toPrecision(4)", rate)  # common.js's fmt(rate, 4)
    assert final["rate"] == seen["rate"] == ["Evaluations/s (whole run)", shown], (final, seen, status)
    assert watched.problems == [] and fresh.problems == []
