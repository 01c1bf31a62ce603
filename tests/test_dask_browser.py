"""The cluster panel and the form's "where it evaluates" line in a real browser
(Playwright, Debian's Chromium), against a dashboard started with ``--dask`` in front
of a real two-worker Dask cluster; then with its scheduler killed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import test_browser
from tests.dask_processes import DaskCluster
from tests.test_browser import ARTIFACTS
from tests.test_security import ServerWith

pytestmark = pytest.mark.slow  # a Dask cluster, a server and a headless browser

page = test_browser.page


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = DaskCluster(tmp_path_factory.mktemp("dask")).start(workers=2)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, cluster):
    running = ServerWith(tmp_path_factory.mktemp("dashboard"), "--dask", cluster.address).start()
    yield running
    running.stop()


def test_the_cluster_panel_shows_the_workers_then_a_dead_scheduler(page, server, cluster):
    page.goto(server.url + "/cluster")
    rows = page.locator("#cluster-workers tbody tr")
    expect(rows).to_have_count(2, timeout=30_000)
    expect(page.locator("#cluster-workers td.cores")).to_have_text(["1", "1"])
    expect(page.locator("#cluster-where")).to_contain_text(f"the Dask cluster at {cluster.address}: 2 workers, 2 cores")
    expect(page.locator("#cluster-totals")).to_contain_text("0 tasks in flight")
    link = page.locator("#cluster-dashboard")
    expect(link).to_be_visible()
    assert link.get_attribute("href").startswith(f"http://127.0.0.1:{cluster.dashboard_port}/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cluster.png"), full_page=True)

    page.goto(server.url + "/runs/new")  # the form says where a run will evaluate
    expect(page.locator("#where")).to_contain_text(f"Evaluates on the Dask cluster at {cluster.address}: 2 workers",
                                                   timeout=30_000)  # fmt: skip

    cluster.kill_scheduler()
    page.goto(server.url + "/cluster")  # the page loads; the panel says what is wrong
    expect(page.locator("#cluster-error")).to_contain_text(f"Scheduler {cluster.address} unreachable", timeout=60_000)
    expect(page.locator("#cluster-workers")).to_be_hidden()
    page.goto(server.url + "/")  # every other page too
    expect(page.locator("h1")).to_have_text("Runs")
    assert not page.problems, page.problems
    assert not page.refused, page.refused
