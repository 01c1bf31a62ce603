"""How a walk-forward shows up outside its own page (a second outside trial): its
run record says what its ``best`` is and carries its verdict, its exports mark each
fold's selected member and its own test window, the stitched trades tell a fold's
end from the data's, flat folds say so, and its progress counts every fold's
generations from the start."""

from __future__ import annotations

import csv
import io

import pytest

from optimizer.walk_forward.results import END_OF_FOLD, end_of_fold
from tests.server import module_server
from tests.test_walk_forward_dashboard import wf_config
from visualization_apps.storage import Store
from visualization_apps.walk_forward_store import ID_STRIDE

server = module_server("walk-forward-outside")


@pytest.fixture(scope="module")
def finished(server):
    response = server.post("/api/runs", json=wf_config())
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    status = server.wait_for(run_id, ("completed", "failed"), timeout=240)
    assert status["state"] == "completed", status
    return run_id, status, server.get(f"/api/runs/{run_id}/walk-forward").json()["summary"]


@pytest.fixture(scope="module")
def flat(server):
    """A walk-forward whose every fold trades nothing: no member meets ga.min_trades."""
    doc = wf_config(generations=1)
    doc["ga"].update(population=4, min_trades=100000)
    response = server.post("/api/runs", json=doc)
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    status = server.wait_for(run_id, ("completed", "failed"), timeout=240)
    assert status["state"] == "completed", status
    return run_id, status


def test_end_of_fold_relabels_only_a_boundary_close():
    trades = [{"reason": "end_of_data", "exit_time": "A"}, {"reason": "stop_loss", "exit_time": "A"},
              {"reason": "end_of_data", "exit_time": "B"}]  # fmt: skip
    assert [t["reason"] for t in end_of_fold({"trades": trades}, "B")["trades"]] == [END_OF_FOLD, "stop_loss",
                                                                                     "end_of_data"]  # fmt: skip
    assert [t["reason"] for t in end_of_fold({"trades": trades}, "*")["trades"]] == [END_OF_FOLD, "stop_loss",
                                                                                     END_OF_FOLD]  # fmt: skip
    assert end_of_fold({"trades": trades}, None)["trades"] == trades


@pytest.mark.slow
def test_the_run_record_says_what_its_best_is_and_carries_the_verdict(server, finished):
    run_id, status, summary = finished
    assert status["best_scope"] == "fold 3 of 3, its training window"
    verdict = status["walk_forward"]
    assert (verdict["folds"], verdict["folds_done"], verdict["finished"]) == (3, 3, True)
    assert verdict["passed"] is summary["passed"] and verdict["efficiency"] == summary["efficiency"]
    assert verdict["stitched"]["total_return_pct"] == summary["stitched"]["total_return_pct"]
    assert verdict["flat_folds"] == sum(1 for f in summary["folds"] if not (f["test"] or {}).get("total_trades"))
    listed = next(r for r in server.get("/api/runs").json() if r["id"] == run_id)
    assert listed["walk_forward"] == verdict and listed["best_scope"] == status["best_scope"]
    exported = server.get(f"/api/runs/{run_id}/export.json").json()
    assert exported["run"]["walk_forward"] == verdict and exported["run"]["best_scope"] == status["best_scope"]
    assert exported["elite"] and {e["fold"] for e in exported["elite"]} == {3}


@pytest.mark.slow
def test_a_plain_run_record_gains_nothing(server, finished):
    doc = wf_config()
    del doc["walk_forward"]
    doc["ga"]["generations"] = 1
    run_id = server.post("/api/runs", json=doc).json()["id"]
    status = server.wait_for(run_id, ("completed", "failed"), timeout=240)
    assert "walk_forward" not in status and "best_scope" not in status
    assert "walk_forward" not in server.get(f"/api/runs/{run_id}/export.json").json()["run"]


@pytest.mark.slow
def test_export_csv_marks_each_folds_selected_member_and_its_test_window(server, finished):
    run_id, _, summary = finished
    rows = list(csv.DictReader(io.StringIO(server.get(f"/api/runs/{run_id}/export.csv").text)))
    chosen = [r for r in rows if r["selected"] == "True"]
    assert {r["selected"] for r in rows} == {"True", "False"}
    expect = [(f["fold"], (f["fold"] - 1) * ID_STRIDE + f["selected_id"]) for f in summary["folds"] if f["params"]]
    assert sorted((int(r["fold"]), int(r["id"])) for r in chosen) == expect
    for row in chosen:
        fold = summary["folds"][int(row["fold"]) - 1]
        assert float(row["test_total_return_pct"]) == pytest.approx(fold["test"]["total_return_pct"])
    for row in rows:
        fold = summary["folds"][int(row["fold"]) - 1]
        assert row["test_window"] == f"{fold['test_start']}/{fold['test_end']}"


@pytest.mark.slow
def test_stitched_trades_say_end_of_fold_at_a_boundary(server, finished):
    run_id, _, summary = finished
    trades = list(csv.DictReader(io.StringIO(server.get(f"/api/runs/{run_id}/walk-forward/trades.csv").text)))
    last = summary["folds"][-1]["test_end"]
    assert not [t for t in trades if t["reason"] == "end_of_data" and t["exit_time"] != last]
    boundaries = {f["test_end"] for f in summary["folds"][:-1]}
    assert all(t["exit_time"] in boundaries for t in trades if t["reason"] == END_OF_FOLD)
    assert not [t for t in summary["stitched"]["trades"] if t["reason"] == "end_of_data" and t["exit_time"] != last]


@pytest.mark.slow
def test_flat_folds_are_counted_and_their_rows_say_why(server, flat):
    run_id, status = flat
    verdict = status["walk_forward"]
    assert (verdict["flat_folds"], verdict["no_member_folds"]) == (3, 3)
    rows = list(csv.DictReader(io.StringIO(server.get(f"/api/runs/{run_id}/walk-forward/folds.csv").text)))
    assert [int(r["fold"]) for r in rows] == [1, 2, 3]
    assert all("trades nothing" in r["note"] for r in rows)
    assert all(int(r["test_bars"]) > 0 and int(r["evaluations"]) > 0 and r["seed"] for r in rows)


def test_a_walk_forward_counts_every_folds_generations_from_its_creation(tmp_path):
    store = Store(tmp_path / "dashboard.sqlite")
    run_id = store.create_run(wf_config(folds=5, generations=4) | {"name": "wf"}, "EURUSD-1h", {})
    assert store.run(run_id)["generations_total"] == 20
    plain = wf_config(generations=4) | {"name": "plain"}
    del plain["walk_forward"]
    assert store.run(store.create_run(plain, "EURUSD-1h", {}))["generations_total"] == 4
