"""A name a user wrote is shown as its characters in charts too: Plotly reads trace
names as a subset of HTML, so a run named ``<a href=...>`` made a live link in the
compare page's legend (an outside trial). Real server, real runs, Debian's Chromium."""

from __future__ import annotations

import pytest

from tests import test_browser
from tests.test_manage_browser import _finished_runs, _ready

pytestmark = pytest.mark.slow  # a real server, real runs and a headless browser

server = test_browser.server  # fixtures: this module's own server and browser page
page = test_browser.page

LINK = 'SMA <a href="https://example.com/">click me</a>'
BOLD = "BIG <b>bold</b> & co"


def test_run_names_in_the_compare_legends_are_text_not_markup(server, page):
    first, second = _finished_runs(server, 3, 4)
    for run_id, name in ((first, LINK), (second, BOLD)):
        assert server.patch(f"/api/runs/{run_id}", json={"name": name}).status_code == 200
    page.goto(f"{server.url}/compare?runs={first},{second}")
    _ready(page)
    legends = page.locator("#pareto .legendtext").all_text_contents()  # SVG: no inner text
    assert f"#{first} {LINK}" in legends and f"#{second} {BOLD}" in legends, legends
    assert page.locator("#pareto a, #evolution a").count() == 0  # no link made from a name
    assert page.locator("#pareto .legendtext b, #pareto .legendtext [style*='bold']").count() == 0
    assert page.problems == []
