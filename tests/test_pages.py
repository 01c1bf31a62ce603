"""The read routes that keep the pages small, through a real server and a real run."""

from __future__ import annotations

import pytest

from tests.server import module_server
from tests.test_api import PLUGIN_ENV, run_config

pytestmark = pytest.mark.slow  # a real server process and a real run

SERIES = ("trades", "pnl_history", "equity", "winning_trades_distribution", "losing_trades_distribution")


server = module_server("pages", env=PLUGIN_ENV)


@pytest.fixture(scope="module")
def run_id(server) -> int:
    run_id = server.post("/api/runs", json=run_config(generations=3)).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return run_id


ROBUSTNESS_SERIES = ("mc_fan", "neighbour_values")  # an elite member's robustness charts (individual page)


def _without_series(stats: dict) -> dict:
    out = {k: v for k, v in stats.items() if k not in SERIES}
    if out.get("test"):
        out["test"] = {k: v for k, v in out["test"].items() if k not in SERIES}
    if out.get("robustness"):
        out["robustness"] = {k: v for k, v in out["robustness"].items() if k not in ROBUSTNESS_SERIES}
    return out


def test_elite_summaries_are_the_full_statistics_without_series(server, run_id):
    full = server.get(f"/api/runs/{run_id}/elite").json()
    summaries = server.get(f"/api/runs/{run_id}/elite?fields=summary").json()
    assert full and full[0]["trades"] and full[0]["test"]["equity"]["time"]  # the contract read is unchanged
    assert summaries == [_without_series(stats) for stats in full]
    assert server.get(f"/api/runs/{run_id}/elite?fields=all").status_code == 400


def test_individuals_page_by_cursor_and_by_ids(server, run_id):
    evaluations = server.get(f"/api/runs/{run_id}").json()["evaluations"]
    seen, query, pages = [], "", 0
    while query is not None:
        answer = server.get(f"/api/runs/{run_id}/individuals?limit=7{query}").json()
        assert len(answer["individuals"]) <= 7
        seen += answer["individuals"]
        query, pages = (None if answer["next"] is None else f"&after={answer['next']}"), pages + 1
    assert [s["id"] for s in seen] == sorted({s["id"] for s in seen}) and len(seen) == evaluations
    assert pages >= evaluations // 7
    assert all("trades" not in s and "equity" not in s for s in seen)
    elite = server.get(f"/api/runs/{run_id}/elite?fields=summary").json()
    ids = [e["id"] for e in reversed(elite)] + [10**9]  # in the order asked; unknown ids left out
    answer = server.get(f"/api/runs/{run_id}/individuals?ids={','.join(map(str, ids))}").json()
    assert answer == {"individuals": list(reversed(elite)), "next": None}
    for bad in ("after=x", "after=-2", "limit=0", "limit=100000", "ids=1,a", f"after={2**63}"):
        response = server.get(f"/api/runs/{run_id}/individuals?{bad}")
        assert response.status_code == 400 and response.json()["details"][0].split(":")[0] in bad, bad
    assert server.get("/api/runs/424242/individuals").status_code == 404


def test_light_generations_carry_quartiles_instead_of_the_population(server, run_id):
    full = server.get(f"/api/runs/{run_id}/generations").json()
    light = server.get(f"/api/runs/{run_id}/generations?fields=summary").json()
    assert [g["generation"] for g in light] == [g["generation"] for g in full] == [1, 2, 3]
    for heavy, small in zip(full, light, strict=True):
        assert "population" not in small and "population_params" not in small and small["elite"] == heavy["elite"]
        for gene, values in heavy["population_params"].items():
            low, q1, median, q3, high = small["population_quantiles"][gene]
            ordered = sorted(values)
            assert (low, high) == (ordered[0], ordered[-1]) and low <= q1 <= median <= q3 <= high


def test_generations_stored_without_quartiles_get_them_computed_on_read(server, run_id, tmp_path):
    """A database written before the quartiles were stored with each generation."""
    import sqlite3

    from visualization_apps.storage import Store

    with sqlite3.connect(server.data_dir / "dashboard.sqlite") as live, sqlite3.connect(tmp_path / "older.sqlite") as db:
        live.backup(db)  # with what the server's write-ahead log holds
        db.execute("UPDATE generations SET summary = json_remove(summary, '$.population_quantiles')")
    assert Store(tmp_path / "older.sqlite").generation_summaries_after(run_id, 0) == server.get(
        f"/api/runs/{run_id}/generations?fields=summary").json()  # fmt: skip


def test_generations_with_their_population_leave_only_ids_front_and_arrays_out(server, run_id):
    full = server.get(f"/api/runs/{run_id}/generations?after=2").json()
    [last] = server.get(f"/api/runs/{run_id}/generations?after=2&fields=population").json()
    assert last["population_params"] == full[0]["population_params"] and "population_quantiles" not in last
    assert "population" not in last and "pareto_front" not in last and last["elite"] == full[0]["elite"]
    arrays = ("logits", "is_sharpe", "oos_sharpe")  # the run's per-split arrays: /robustness serves them
    expected = {k: v for k, v in full[0].items() if k not in ("population", "pareto_front", "population_quantiles")}
    if expected.get("robustness"):
        expected["robustness"] = {k: v for k, v in expected["robustness"].items() if k not in arrays}
    assert last == expected
    refused = server.get(f"/api/runs/{run_id}/generations?fields=everything")
    assert refused.status_code == 400 and refused.json()["details"][0].startswith("fields:")


def test_labels_are_served_with_the_run(server, run_id):
    answer = server.get(f"/api/runs/{run_id}/labels").json()
    assert answer["genes"][-1] == "strategy.stop_loss" and answer["labels"]["strategy.stop_loss"] == "stop_loss"
    assert answer["labels"]["strategy.signals.up.params.fast"] == "up.fast"


def test_pages_of_runs_and_individuals_that_do_not_exist_answer_404(server, run_id):
    for path, what in ((f"/runs/{run_id + 1000}", f"There is no run {run_id + 1000}."),
                       (f"/runs/{run_id}/individuals/99999999", f"Run {run_id} has no individual 99999999.")):  # fmt: skip
        response = server.get(path)
        assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html"), path
        assert what in response.text and 'href="/"' in response.text
    assert server.get(f"/runs/{run_id}").status_code == 200
