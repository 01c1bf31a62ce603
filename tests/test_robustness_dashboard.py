"""Issue 15 in the dashboard: a real run with robustness, through a real server, read
over REST and shown by Debian's Chromium.

The reads: the light generation summaries and elite summaries leave the large arrays
out, the run's robustness has its own route, the CSV export carries the elite's
robustness figures. The pages: the run page's "Is it real?" panel (PBO, verdict,
logits, IS vs OOS), the elite's robustness columns (sortable by the stored value),
the individual page's Monte Carlo fan and neighbourhood; every value shown is the
stored one (read from the charts' data and the cells' values), none is computed.
Screenshots go to ``test-artifacts/`` (the README shows copies in docs/screenshots).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from tests.server import module_server
from tests.test_api import PLUGIN_ENV, run_config
from tests.test_browser import ARTIFACTS, page  # noqa: F401 - the module-scoped browser page fixture

pytestmark = pytest.mark.slow  # a real server, a real run and a headless browser

LOGIT_ARRAYS = ("logits", "is_sharpe", "oos_sharpe")
server = module_server("robustness", env={**PLUGIN_ENV, "FAULTY_SLEEP": "0"})


@pytest.fixture(scope="module")
def run_id(server) -> int:
    doc = run_config(generations=3, population=16)
    doc["objectives"] = [{"metric": "sharpe", "goal": "max"}, {"metric": "max_drawdown_pct", "goal": "min"}]
    doc["execution"] = {"commission": 0.0002, "slippage": 0.0001}
    doc["ga"]["elite_size"] = 5
    doc["robustness"] = {"neighbours": 6, "monte_carlo": 200}
    run_id = server.post("/api/runs", json=doc).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return run_id


@pytest.fixture(scope="module")
def stored(server, run_id) -> dict:
    """The contract's full reads: the run's robustness (last generation) and the elite."""
    last = server.get(f"/api/runs/{run_id}/generations").json()[-1]
    elite = server.get(f"/api/runs/{run_id}/elite").json()
    assert last["robustness"]["logits"] and all(m["robustness"]["mc_fan"] for m in elite)
    return {"run": last["robustness"], "elite": elite}


def test_the_run_robustness_has_its_own_route_and_light_reads_leave_its_arrays_out(server, run_id, stored):
    assert server.get(f"/api/runs/{run_id}/robustness").json() == stored["run"]
    assert server.get(f"/api/runs/{run_id}").json()["robustness"] == stored["run"]  # the contract read keeps it
    figures = {k: v for k, v in stored["run"].items() if k not in LOGIT_ARRAYS}
    light = server.get(f"/api/runs/{run_id}/generations?fields=summary").json()
    assert light[-1]["robustness"] == figures and all(g["robustness"] is None for g in light[:-1])
    assert server.get(f"/api/runs/{run_id}?fields=summary").json()["robustness"] == figures
    assert len(server.get(f"/api/runs/{run_id}/generations?fields=summary").content) < 100_000
    assert server.get("/api/runs/424242/robustness").status_code == 404


def _expected_bins(run: dict, bins: int, edges: list[float]) -> dict:
    """What ``?bins=`` must answer, counted here with numpy from the stored arrays, the
    logits in the answer's ``edges`` once they are checked: equal bins of which none
    straddles 0, about ``bins`` of them over the logits' range."""
    logits = np.array([v for v in run["logits"] if v is not None])
    edges = np.array(edges)
    size = (logits.max() - logits.min()) / bins
    np.testing.assert_allclose(np.diff(edges), size, rtol=1e-9)
    assert edges[0] <= logits.min() and logits.max() < edges[-1] and bins <= len(edges) - 1 <= bins + 2
    assert not np.any((edges[:-1] < 0) & (edges[1:] > 0)), edges
    below, _ = np.histogram(logits[logits <= 0], edges)
    above, _ = np.histogram(logits[logits > 0], edges)
    pairs = [(x, y) for x, y in zip(run["is_sharpe"], run["oos_sharpe"], strict=True) if x is not None and y is not None]
    density, is_edges, oos_edges = np.histogram2d(*np.array(pairs).T, bins=bins)
    return {"edges": edges, "below": below.tolist(), "above": above.tolist(), "is_edges": is_edges,
            "oos_edges": oos_edges, "counts": density.T.astype(int).tolist(),
            "is_range": [min(x for x, _ in pairs), max(x for x, _ in pairs)]}  # fmt: skip


def test_the_binned_robustness_counts_every_split_as_stored(server, run_id, stored):
    """?bins=N: the per-split arrays binned as the run page draws them, a few kB."""
    run = stored["run"]
    for bins in (2, 40):
        answer = server.get(f"/api/runs/{run_id}/robustness?bins={bins}")
        binned = answer.json()
        assert len(answer.content) < 40_000
        expected = _expected_bins(run, bins, binned["logit_histogram"]["edges"])
        assert {k: v for k, v in binned.items() if k not in ("logit_histogram", "selection_density",
                "is_sharpe_range", "bins")} == {k: v for k, v in run.items() if k not in LOGIT_ARRAYS}  # fmt: skip
        histogram = binned["logit_histogram"]
        assert histogram["below"] == expected["below"] and histogram["above"] == expected["above"]
        assert sum(histogram["below"]) == sum(1 for v in run["logits"] if v is not None and v <= 0)
        density = binned["selection_density"]
        np.testing.assert_allclose(density["is_edges"], expected["is_edges"], rtol=1e-12)
        np.testing.assert_allclose(density["oos_edges"], expected["oos_edges"], rtol=1e-12)
        assert density["counts"] == expected["counts"] and len(density["counts"]) == bins
        assert binned["is_sharpe_range"] == expected["is_range"] and binned["bins"] == bins
    for bad in ("1", "201", "x", "-3"):
        refused = server.get(f"/api/runs/{run_id}/robustness?bins={bad}")
        assert refused.status_code == 400 and "bins" in refused.json()["details"][0], bad
    assert server.get(f"/api/runs/{run_id}?fields=all").status_code == 400


def test_elite_summaries_leave_the_members_chart_series_out(server, run_id, stored):
    summaries = server.get(f"/api/runs/{run_id}/elite?fields=summary").json()
    for full, summary in zip(stored["elite"], summaries, strict=True):
        expected = {k: v for k, v in full["robustness"].items() if k not in ("mc_fan", "neighbour_values")}
        assert summary["robustness"] == expected and expected["dsr"] is not None


def test_the_csv_export_carries_the_elite_robustness_figures(server, run_id, stored):
    rows = list(csv.DictReader(io.StringIO(server.get(f"/api/runs/{run_id}/export.csv").text)))
    by_id = {int(row["id"]): row for row in rows}
    for member in stored["elite"]:
        row, r = by_id[member["id"]], member["robustness"]
        for key in ("dsr", "psr", "min_track_record", "ruin_probability", "stress_return_pct"):
            assert (row[key] == "") if r[key] is None else math.isclose(float(row[key]), r[key], rel_tol=1e-12), key
        assert int(row["neighbours"]) == r["neighbours"]
        assert [float(row["plateau_ratio_sharpe"]), float(row["plateau_ratio_max_drawdown_pct"])] == r["plateau_ratio"]
        assert [float(row[f"mc_drawdown_pct_{p}"]) for p in ("p5", "p50", "p95")] == r["mc_drawdown_pct"]
        assert [float(row[f"mc_return_pct_{p}"]) for p in ("p5", "p50", "p95")] == r["mc_return_pct"]
    outside = [row for row in rows if int(row["id"]) not in {m["id"] for m in stored["elite"]}]
    assert outside and all(row["dsr"] == "" and row["mc_return_pct_p95"] == "" for row in outside)


def _precision(value: float, digits: int) -> str:
    """``Number.prototype.toPrecision`` as static/common.js's ``fmt`` uses it (integers as they are)."""
    return str(int(value)) if float(value).is_integer() else f"%#.{digits}g" % value


def _traces(page, div: str) -> list[dict]:  # noqa: F811
    return page.evaluate(f"() => document.getElementById('{div}').data.map((t) => ({{type: t.type, x: t.x, y: t.y, z: t.z, name: t.name}}))")


def test_the_run_page_shows_is_it_real_from_the_stored_statistics(server, run_id, stored, page):  # noqa: F811
    robustness_reads: list[str] = []

    def count_reads(request) -> None:
        if "/api/runs/" in request.url and "/robustness" in request.url:
            robustness_reads.append(request.url)

    page.on("request", count_reads)
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => document.body?.dataset.robustness === 'drawn' && document.body?.dataset.ready === 'true'")
    run = stored["run"]
    assert page.locator("#robustness").is_visible()
    verdict = page.locator("#verdict").text_content()
    assert verdict.startswith(f"PBO {_precision(run['pbo'], 2)}: "), verdict
    expected_level = "overfit" if run["pbo"] >= 0.5 else "caution" if run["pbo"] >= 0.2 else "robust"
    assert page.locator("#verdict").get_attribute("data-level") == expected_level
    assert ("likely overfit" in verdict) == (expected_level == "overfit")
    for key in ("pbo", "prob_oos_loss", "degradation_slope", "trials", "splits"):
        assert float(page.locator(f'#robustness-figures dd[data-key="{key}"]').get_attribute("data-value")) == run[key]
    assert "0.2" in page.locator("#robustness-hint").text_content()  # the thresholds are stated
    # The charts plot the stored values, binned: the logits (split at 0), each split's IS and OOS Sharpe.
    expected = _expected_bins(run, 40, server.get(f"/api/runs/{run_id}/robustness?bins=40").json()["logit_histogram"]["edges"])
    below, above = _traces(page, "logits")
    assert below["type"] == "bar" and below["y"] == expected["below"] and above["y"] == expected["above"]
    np.testing.assert_allclose(below["x"], (expected["edges"][:-1] + expected["edges"][1:]) / 2, rtol=1e-9, atol=1e-12)
    density, line = _traces(page, "degradation")  # every split's selection, counted on the server
    assert density["type"] == "heatmap" and density["z"] == expected["counts"]
    np.testing.assert_allclose(density["x"], (expected["is_edges"][:-1] + expected["is_edges"][1:]) / 2, rtol=1e-9)
    low, high = expected["is_range"]
    assert line["x"] == [low, high]
    assert line["y"] == [run["degradation_intercept"] + run["degradation_slope"] * x for x in (low, high)]
    assert len(robustness_reads) == 1  # read once
    page.remove_listener("request", count_reads)
    page.screenshot(path=ARTIFACTS / "run-robustness.png", full_page=True)
    page.locator("#robustness").screenshot(path=ARTIFACTS / "is-it-real.png")
    assert not page.problems, page.problems


def test_the_elite_robustness_columns_show_and_sort_by_the_stored_values(server, run_id, stored, page):  # noqa: F811
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true' && document.querySelector('#elite td.robust')")
    by_id = {m["id"]: m["robustness"] for m in stored["elite"]}

    def column(key: str) -> list[tuple[int, float | None]]:
        return page.evaluate(f"""() => [...document.querySelectorAll('#elite tbody tr')].map((tr) => {{
            const td = tr.querySelector('td[data-column="{key}"]');
            return [Number(tr.dataset.id), td.dataset.value === undefined ? null : Number(td.dataset.value)]; }})""")

    for id_, value in column("dsr"):
        assert value == by_id[id_]["dsr"]
    for id_, value in column("plateau_ratio_0"):
        assert value == by_id[id_]["plateau_ratio"][0]
    for id_, value in column("mc_drawdown_p95"):
        assert value == by_id[id_]["mc_drawdown_pct"][2]
    passing = page.locator("#elite td.pass").count()
    assert passing == sum(1 for r in by_id.values() if r["dsr"] is not None and r["dsr"] >= 0.95)
    assert "0.95" in page.locator("#elite-hint").text_content()
    page.locator('#elite th[data-column="dsr"]').click()
    ascending = [v for _, v in column("dsr")]
    assert ascending == sorted(ascending)
    page.locator('#elite th[data-column="dsr"]').click()
    assert [v for _, v in column("dsr")] == sorted(ascending, reverse=True)
    page.locator('#elite th[data-column="mc_drawdown_p95"]').click()
    drawdowns = [v for _, v in column("mc_drawdown_p95")]
    assert drawdowns == sorted(drawdowns)
    wrap = page.locator(".table-wrap:has(#elite)")
    wrap.evaluate("(w) => { w.scrollLeft = w.scrollWidth; }")
    wrap.screenshot(path=ARTIFACTS / "elite-robustness.png")
    assert not page.problems, page.problems


def test_the_individual_page_shows_the_fan_and_the_neighbourhood_as_stored(server, run_id, stored, page):  # noqa: F811
    member = stored["elite"][0]
    r = member["robustness"]
    page.goto(f"{server.url}/runs/{run_id}/individuals/{member['id']}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    assert page.locator("#member-robustness").is_visible()
    p5, p95, p50 = _traces(page, "fan")
    fan = r["mc_fan"]
    assert p5["x"] == p95["x"] == p50["x"] == fan["trade"]
    assert (p5["y"], p50["y"], p95["y"]) == (fan["p5"], fan["p50"], fan["p95"])
    neighbours = _traces(page, "neighbours")
    for k, metric in enumerate(("sharpe", "max_drawdown_pct")):
        box, own = neighbours[2 * k], neighbours[2 * k + 1]
        assert box["y"] == [v[k] for v in r["neighbour_values"]] and own["y"] == [member[metric]]
    words = page.locator("#robustness-words").text_content()
    assert "DSR " in words and "PSR " in words and "bars" in words and "Ruin probability" in words
    assert "Cost stress" in words and "doubled" in words
    basis = page.locator('#robustness-words li[data-key="sharpe_basis"]').text_content()
    assert "per-bar returns" in basis and "need 30 of them" in basis, basis  # which Sharpe the DSR judges
    track = page.locator('#robustness-words li[data-key="min_track_record"]').text_content()
    assert ("undefined" in track) if r["min_track_record"] is None else ("days" in track or "years" in track or "hours" in track)
    page.locator("#member-robustness").screenshot(path=ARTIFACTS / "individual-robustness.png")
    assert not page.problems, page.problems


def test_an_individual_outside_the_elite_has_no_robustness_section(server, run_id, stored, page):  # noqa: F811
    elite = {m["id"] for m in stored["elite"]}
    other = next(i for i in server.get(f"/api/runs/{run_id}/individuals?limit=50").json()["individuals"]
                 if i["id"] not in elite and not i["failed"])  # fmt: skip
    page.goto(f"{server.url}/runs/{run_id}/individuals/{other['id']}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true'")
    assert page.locator("#member-robustness").is_hidden()
    assert not page.problems, page.problems
