"""The cluster panel, the form's "where it evaluates" line and estimate, and the run
page's "Evaluated on" line in a real browser (Playwright, Debian's Chromium), against
a dashboard started with ``--dask`` in front of a real two-worker Dask cluster (and a
local one for the run page); then with its scheduler killed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import test_browser
from tests.dask_processes import DaskCluster, module_cluster
from tests.test_api import run_config
from tests.test_browser import ARTIFACTS
from tests.test_security import ServerWith
from visualization_apps.cluster_monitor import REFRESH_SECONDS, STALE_SECONDS, WATCHED_SECONDS

pytestmark = pytest.mark.slow  # a Dask cluster, a server and a headless browser

page = test_browser.page
WORKERS_NOT_USED = "not used on the Dask cluster: a run evaluates on the cluster's workers (this field sets local worker processes)"


cluster = module_cluster(workers=2)


@pytest.fixture(scope="module")
def server(tmp_path_factory, cluster):
    running = ServerWith(tmp_path_factory.mktemp("dashboard"), "--dask", cluster.address).start()
    yield running
    running.stop()


def test_after_a_quiet_spell_the_panel_shows_the_last_workers_refreshing(page, server, cluster):
    page.goto(server.url + "/cluster")
    expect(page.locator("#cluster-workers tbody tr")).to_have_count(2, timeout=30_000)
    page.goto(server.url + "/")  # no page reads the cluster: the monitor stops reading after WATCHED_SECONDS
    page.wait_for_timeout((WATCHED_SECONDS + STALE_SECONDS + 2 * REFRESH_SECONDS) * 1000)
    page.goto(server.url + "/cluster")  # the first draw: the last reading, well over STALE_SECONDS old
    expect(page.locator("#cluster-totals")).to_contain_text("s ago, refreshing")
    expect(page.locator("#cluster-error")).to_be_hidden()
    expect(page.locator("#cluster-workers tbody tr")).to_have_count(2)  # the last known state
    page.screenshot(path=str(ARTIFACTS / "cluster-refreshing.png"), full_page=True)
    expect(page.locator("#cluster-totals")).to_contain_text("(read ", timeout=30_000)  # then a fresh reading
    expect(page.locator("#cluster-error")).to_be_hidden()
    assert not page.problems, page.problems


def test_the_form_on_a_cluster_estimates_with_its_workers_not_the_configs(page, server, cluster):
    page.goto(server.url + "/runs/new")
    expect(page.locator("#where")).to_contain_text(
        f"Evaluates on the Dask cluster at {cluster.address}: 2 workers, 2 cores", timeout=30_000)
    expect(page.locator("#where")).to_contain_text("the configuration's “workers” is not used on the cluster")
    workers = page.locator("[data-path='workers']")
    workers.fill("64")  # far more than this machine's cores: not refused, not counted on a cluster
    workers.dispatch_event("change")
    expect(page.locator("#estimate")).to_contain_text("on 2 workers of the Dask cluster: about", timeout=30_000)
    expect(page.locator("#errors")).to_be_hidden()
    page.locator("#estimate").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "form-on-cluster.png"))


def test_the_run_page_says_where_the_run_evaluated(page, server, cluster, tmp_path):
    run_id = server.post("/api/runs", json=run_config(generations=2, population=8)).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"), timeout=300)["state"] == "completed"
    page.goto(f"{server.url}/runs/{run_id}")
    line = page.locator("#evaluated-on")
    expect(line).to_have_text(f"Evaluated on the Dask cluster at {cluster.address}: 2 workers, 2 cores.",
                              timeout=30_000)  # fmt: skip
    page.locator("#provenance summary").click()
    (start,) = server.get(f"/api/runs/{run_id}").json()["versions"]["evaluated_on"]
    expect(page.locator("#provenance-evaluated-on li")).to_have_text(
        [f"{start['started_at']}: the Dask cluster at {cluster.address}: 2 workers, 2 cores"])
    expect(page.locator("#provenance-versions")).to_contain_text("numpy")
    page.locator("#provenance").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "run-evaluated-on-cluster.png"), full_page=True)

    local = ServerWith(tmp_path / "local").start()  # the same on this machine's pool
    try:
        doc = run_config(generations=2, population=8)
        doc["workers"] = 2
        run_id = local.post("/api/runs", json=doc).json()["id"]
        assert local.wait_for(run_id, ("completed", "failed"), timeout=300)["state"] == "completed"
        page.goto(f"{local.url}/runs/{run_id}")
        expect(line).to_have_text("Evaluated on a local pool of 2 worker processes on the dashboard's machine.",
                                  timeout=30_000)  # fmt: skip
        page.goto(server.url + "/")  # off its pages before it stops (their reads would fail)
    finally:
        local.stop()
    assert not page.problems, page.problems


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
    expect(page.locator("#cluster-error")).to_contain_text("(the read failed at 20")  # when, as ISO 8601 UTC
    expect(page.locator("#cluster-workers")).to_be_hidden()
    where = page.locator("#cluster-where")
    expect(where).to_contain_text("Runs under way wait for it; a run submitted now fails to start")  # as DEPLOY.md says
    assert ".." not in where.text_content() and ".." not in page.locator("#cluster-error").text_content()
    page.screenshot(path=str(ARTIFACTS / "cluster-unreachable.png"), full_page=True)
    page.goto(server.url + "/")  # every other page too
    expect(page.locator("h1")).to_have_text("Runs")
    assert not page.problems, page.problems
    assert not page.refused, page.refused


def test_a_worker_without_the_project_is_flagged_on_the_panel_and_the_form(page, tmp_path):
    other = DaskCluster(tmp_path / "dask").start(workers=1)
    dashboard = None
    try:
        other.start_worker(with_project=False)
        other.wait_for_workers(2)
        dashboard = ServerWith(tmp_path / "dashboard", "--dask", other.address).start()
        page.goto(dashboard.url + "/cluster")
        rows = page.locator("#cluster-workers tbody tr")
        expect(rows).to_have_count(2, timeout=30_000)
        flagged = page.locator("#cluster-workers tbody tr.cannot-import")
        expect(flagged).to_have_count(1, timeout=30_000)
        expect(flagged).to_contain_text("cannot import the optimizer: ModuleNotFoundError: No module named 'optimizer'")
        where = page.locator("#cluster-where")
        expect(where).to_contain_text(f"the Dask cluster at {other.address}: 1 of 2 workers usable")
        expect(where).to_contain_text("1 worker cannot import the optimizer and is left out of runs: tcp://127.0.0.1:")
        page.screenshot(path=str(ARTIFACTS / "cluster-cannot-import.png"), full_page=True)

        page.goto(dashboard.url + "/runs/new")
        expect(page.locator("#where")).to_contain_text("1 of 2 workers usable", timeout=30_000)
        expect(page.locator("#where")).to_contain_text("No module named 'optimizer'")
        help_line = page.locator("label:has([data-path='workers']) .help")
        expect(help_line).to_have_text(WORKERS_NOT_USED, timeout=30_000)  # not "worker processes; 0: one per CPU"
        expect(page.locator("#estimate")).to_contain_text("on 1 worker of the Dask cluster: about", timeout=30_000)

        other.kill(other.workers[0])  # only the worker without the project is left
        expect(page.locator("#where")).to_contain_text("No worker can import the optimizer", timeout=60_000)
        expect(page.locator("#where")).to_contain_text("a run fails to start")
        page.goto(dashboard.url + "/")  # off its pages before it stops
        assert not page.problems, page.problems
    finally:
        if dashboard is not None:
            dashboard.stop()
        other.stop()
