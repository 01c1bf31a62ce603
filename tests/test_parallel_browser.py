"""The run page's parallel coordinates in a real browser (Playwright, Debian's
Chromium) against a real server: each gene's axis spans its configured range, the
title fits its panel and the plot fills it, on a wide screen too."""

from __future__ import annotations

import pytest

from tests import test_browser
from tests.server import module_server
from tests.test_api import run_config
from tests.test_browser import ARTIFACTS

pytestmark = pytest.mark.slow  # a real server, a real run and a headless browser

server = module_server("parallel")
page = test_browser.page


@pytest.mark.parametrize("width", [1300, 1900])  # two chart columns, and three (a tall neighbour in its row)
def test_parallel_axes_span_each_genes_configured_range_and_fit_their_panel(server, page, width):
    run_id = server.post("/api/runs", json=run_config(generations=3)).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true' && document.body?.dataset.drawn")
    ends = page.evaluate("() => document.getElementById('parallel').layout.annotations.map((a) => a.text)")
    # genes in order (down.fast, down.slow, stop_loss, up.fast, up.slow): high then low of each
    labels = server.get(f"/api/runs/{run_id}/labels").json()
    ranges = {"fast": ["20", "3"], "slow": ["90", "30"], "stop_loss": ["0.03", "0.002"]}
    expected = [end for gene in labels["genes"] for end in ranges[gene.rsplit(".", 1)[1]]]
    assert ends[: len(expected)] == expected, ends  # the configured ranges, not the elite's spread
    panel = page.locator("#parallel").bounding_box()
    title = page.locator("#parallel .gtitle").bounding_box()
    assert panel["x"] <= title["x"] and title["x"] + title["width"] <= panel["x"] + panel["width"], (panel, title)
    plot = page.locator("#parallel .main-svg").first.bounding_box()
    assert plot["height"] >= panel["height"] - 4, (plot, panel)  # no empty panel under the plot
    page.screenshot(path=ARTIFACTS / f"run-parallel-{width}.png", full_page=True)
    assert page.problems == [] and page.refused == []


def _ints(low: int, high: int) -> dict:
    return {"min": low, "max": high, "type": "int"}


def _two_crosses_config() -> dict:
    """Eight genes, six named after two signals of the same kind ("golden", "golden_4h"):
    the entry threshold, both weights, both signals' fast and slow, the stop loss."""
    doc = run_config(generations=2)
    signals = doc["strategy"]["signals"]
    signals["golden"] = {"kind": "sma_cross_up", "params": {"fast": _ints(5, 50), "slow": _ints(60, 200)}}
    signals["golden_4h"] = {
        "kind": "sma_cross_up",
        "timeframe": "4h",
        "params": {"fast": _ints(3, 20), "slow": _ints(21, 60)},
    }
    del signals["up"]
    doc["strategy"]["signals"]["down"]["params"] = {"fast": 10, "slow": 30}
    doc["strategy"]["entry"] = {"weights": {"golden": {"min": 0.0, "max": 1.0}, "golden_4h": {"min": 0.0, "max": 1.0}},
                                "threshold": {"min": 0.3, "max": 1.0}}  # fmt: skip
    doc["strategy"]["stop_loss"] = {"min": 0.005, "max": 0.05}
    return doc


def test_eight_genes_labels_are_whole_apart_and_inside_the_chart_with_their_full_names_as_titles(server, page):
    run_id = server.post("/api/runs", json=_two_crosses_config()).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    labels = server.get(f"/api/runs/{run_id}/labels").json()
    assert len(labels["genes"]) == 8, labels
    page.set_viewport_size({"width": 1300, "height": 900})
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_function("() => document.body?.dataset.ready === 'true' && document.body?.dataset.drawn")
    page.wait_for_function("() => document.querySelectorAll('#parallel .xtick text title').length === 9")
    ticks = page.locator("#parallel .xtick text")
    shown = page.evaluate("""() => [...document.querySelectorAll('#parallel .xtick text')].map((t) =>
        [...t.childNodes].filter((n) => n.nodeName !== 'title').map((n) => n.textContent).join(''))""")
    assert shown == [labels["labels"][g] for g in labels["genes"]] + ["net profit"], shown  # whole, not cut
    titles = page.evaluate(
        "() => [...document.querySelectorAll('#parallel .xtick text title')].map((t) => t.textContent)"
    )
    assert titles[-1] == "net profit (total_return_pct)"
    assert all(gene in title for gene, title in zip(labels["genes"], titles, strict=False)), titles
    panel = page.locator("#parallel").bounding_box()
    boxes = [ticks.nth(k).bounding_box() for k in range(ticks.count())]
    for box in boxes:  # inside the panel
        assert panel["x"] <= box["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"] + 1, (panel, box)
        assert box["y"] + box["height"] <= panel["y"] + panel["height"] + 1, (panel, box)
    # apart: each rotated label's box starts right of the previous one's
    starts = [box["x"] for box in boxes]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), starts
    plot = page.locator("#parallel .main-svg").first.bounding_box()
    assert plot["height"] >= panel["height"] - 4, (plot, panel)  # no empty panel under the plot
    page.locator("#parallel").screenshot(path=ARTIFACTS / "run-parallel-8-genes.png")
    page.screenshot(path=ARTIFACTS / "run-parallel-8-genes-page.png", full_page=True)
    assert page.problems == [] and page.refused == []
