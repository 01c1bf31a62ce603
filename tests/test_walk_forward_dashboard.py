"""A walk-forward run through a real dashboard server: started by the API, its
generations tagged with their fold, its folds and summary stored (the same as the
command line's), its exports, and its errors."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import EURUSD, ROOT, sma_cross_config, write_json
from tests.server import module_server
from visualization_apps.walk_forward_store import ID_STRIDE

pytestmark = pytest.mark.slow  # a real server process and real runs

server = module_server("walk-forward", env={"OPTIMIZER_PLUGINS": "tests.plugins.faulty", "FAULTY_SLEEP": "0.02"})


def wf_config(folds=3, generations=3, slow=False) -> dict:
    """A small walk-forward of the bundled EURUSD hours; ``slow``: with the test
    plugin's pause signal (weight 0: the results are the same), for runs stopped midway."""
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"},
                           stop_loss={"min": 0.002, "max": 0.05})  # fmt: skip
    doc["data"] = {"dataset": "EURUSD-1h"}
    doc["ga"] = {"population": 10, "generations": generations, "seed": 3, "min_trades": 2}
    doc["robustness"] = {"enabled": False}
    doc["workers"] = 1
    doc["walk_forward"] = {"folds": folds, "train": 900, "test": "20d"}
    if slow:
        doc["strategy"]["signals"]["pause"] = {"kind": "slow", "params": {"period": {"min": 1, "max": 10**6,
                                                                                     "type": "int"}}}  # fmt: skip
        doc["strategy"]["entry"]["weights"]["pause"] = 0.0
    return doc


@pytest.fixture(scope="module")
def finished(server):
    response = server.post("/api/runs", json=wf_config())
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    return run_id, server.wait_for(run_id, ("completed", "failed"), timeout=240)


def test_generations_are_numbered_over_the_folds_and_tagged_with_theirs(server, finished):
    run_id, status = finished
    assert status["state"] == "completed", status
    assert status["generation"] == status["generations_total"] == 9
    generations = server.get(f"/api/runs/{run_id}/generations").json()
    assert [g["generation"] for g in generations] == list(range(1, 10))
    assert [(g["fold"], g["fold_generation"]) for g in generations] == [(f, k) for f in (1, 2, 3) for k in (1, 2, 3)]
    assert {g["folds"] for g in generations} == {3}
    assert [g["total_evaluations"] for g in generations] == sorted(g["total_evaluations"] for g in generations)
    assert generations[-1]["total_evaluations"] == status["evaluations"]
    elite = server.get(f"/api/runs/{run_id}/elite").json()  # the last fold's, its ids in fold 3's stride
    assert elite and all(2 * ID_STRIDE <= e["id"] < 3 * ID_STRIDE for e in elite)
    for g in generations:  # the elite's tie changes in the fold's ids too (each fold's first: every entry)
        assert {c["id"] for c in g["tie_changes"]} <= set(g["elite"]), g["generation"]
        if g["fold_generation"] == 1:
            assert {c["id"] for c in g["tie_changes"]} == set(g["elite"]), g["generation"]
    fold2 = server.get(f"/api/runs/{run_id}/walk-forward/folds/2/generations").json()
    assert fold2 == generations[3:6]
    assert server.get(f"/api/runs/{run_id}/walk-forward/folds/4/generations").status_code == 404


def test_the_stored_walk_forward_is_the_command_lines(server, finished, tmp_path):
    run_id, _ = finished
    stored = server.get(f"/api/runs/{run_id}/walk-forward").json()
    assert len(stored["windows"]) == 3 and [f["fold"] for f in stored["folds"]] == [1, 2, 3]
    summary = stored["summary"]
    assert stored["folds"] == summary["folds"]
    assert [w["test_start"] for w in stored["windows"]] == [f["test_start"] for f in summary["folds"]]
    config = write_json(tmp_path / "config.json", wf_config())
    out = tmp_path / "out.json"
    done = subprocess.run([sys.executable, "-m", "optimizer", "run", str(config), "--data", str(EURUSD), "--json",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["walk_forward"] == summary


def test_fold_table_and_stitched_trades_export_as_csv(server, finished):
    run_id, _ = finished
    summary = server.get(f"/api/runs/{run_id}/walk-forward").json()["summary"]
    response = server.get(f"/api/runs/{run_id}/walk-forward/folds.csv")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["fold"]) for r in rows] == [1, 2, 3]
    assert [float(r["test_total_return_pct"]) for r in rows] == [f["test"]["total_return_pct"] for f in summary["folds"]]
    assert [r["test_start"] for r in rows] == [f["test_start"] for f in summary["folds"]]
    trades = list(csv.DictReader(io.StringIO(server.get(f"/api/runs/{run_id}/walk-forward/trades.csv").text)))
    assert len(trades) == summary["stitched"]["total_trades"] > 0
    assert [t["entry_time"] for t in trades] == [t["entry_time"] for t in summary["stitched"]["trades"]]
    assert [float(t["pnl_pct"]) for t in trades] == [t["pnl_pct"] for t in summary["stitched"]["trades"]]


def test_the_fold_column_was_added_by_a_migration(server, finished):
    run_id, _ = finished
    with sqlite3.connect(server.data_dir / "dashboard.sqlite") as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(generations)")}
        folds = db.execute("SELECT fold, count(*) FROM generations WHERE run_id = ? GROUP BY fold", (run_id,)).fetchall()
    assert "fold" in columns and folds == [(1, 3), (2, 3), (3, 3)]


def test_a_plain_run_is_no_walk_forward_and_bad_sections_are_400(server, finished):
    run_id, _ = finished
    plain = {**wf_config(), "ga": {"population": 4, "generations": 1, "seed": 1}}
    del plain["walk_forward"]
    created = server.post("/api/runs", json=plain)
    assert created.status_code == 201
    other = created.json()["id"]
    assert server.get(f"/api/runs/{other}/walk-forward").status_code == 404
    assert server.get(f"/runs/{other}/walk-forward").status_code == 404
    assert server.get(f"/runs/{run_id}/walk-forward").status_code == 200
    too_long = wf_config()
    too_long["walk_forward"] = {"folds": 10, "train": 900, "test": 600}
    response = server.post("/api/runs", json=too_long)
    assert response.status_code == 400
    assert response.json()["details"] == ["walk_forward.test: 10 test windows of 600 need 6000 bars; more than the "
                                          "5000 bars of the data"]  # fmt: skip
    bad = wf_config()
    bad["walk_forward"]["folds"] = 0
    response = server.post("/api/runs", json=bad)
    assert response.status_code == 400 and response.json()["details"] == ["walk_forward.folds: 0 must be at least 1"]
    estimate = server.post("/api/runs/estimate", json=wf_config()).json()
    assert estimate["evaluations"] == 10 * 3 * 3  # population x generations x folds


def test_stopped_in_fold_2_and_resumed_ends_with_the_uninterrupted_result(server):
    doc = wf_config(generations=4, slow=True)
    reference = server.post("/api/runs", json=doc).json()["id"]
    server.wait_for(reference, ("completed",), timeout=240)
    run_id = server.post("/api/runs", json=doc).json()["id"]
    server.wait_for(run_id, ("running",))
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 5:  # fold 2's first generation
        time.sleep(0.01)
    assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
    status = server.wait_for(run_id, ("stopped",))
    assert 5 <= status["generation"] < 12
    assert server.get(f"/api/runs/{run_id}/walk-forward").json()["summary"] is None
    assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
    server.wait_for(run_id, ("completed",), timeout=240)
    generations = server.get(f"/api/runs/{run_id}/generations").json()
    assert [g["generation"] for g in generations] == list(range(1, 13))
    assert [g["fold"] for g in generations] == [1] * 4 + [2] * 4 + [3] * 4
    resumed = server.get(f"/api/runs/{run_id}/walk-forward").json()
    assert resumed == server.get(f"/api/runs/{reference}/walk-forward").json()
    assert server.get(f"/api/runs/{run_id}/elite").json() == server.get(f"/api/runs/{reference}/elite").json()
