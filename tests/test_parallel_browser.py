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
