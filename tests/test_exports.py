"""Exports (JSON, CSV, an elite as a re-runnable config) and the configuration's JSON Schema."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import jsonschema
import pytest

from optimizer.config import parse_config
from optimizer.stats import SCALAR_FIELDS
from tests.conftest import EURUSD, ROOT, sma_cross_config
from tests.server import module_server
from tests.test_api import run_config

pytestmark = pytest.mark.slow  # a real server process and real runs


server = module_server("exports")


@pytest.fixture(scope="module")
def run_id(server):
    doc = run_config(generations=3)  # with a split: training and test statistics
    run_id = server.post("/api/runs", json=doc).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return run_id


# A re-run has no genes and its own id; ties and robustness (DSR against the trials,
# neighbours, Monte Carlo) belong to the search that found the member, not to it.
NOT_STATISTICS = ("id", "params", "valid", "ties", "tie_ranges", "robustness")


def _statistics(stats: dict) -> dict:
    """Every statistic of an individual (training, and test under ``test``)."""
    out = {k: v for k, v in stats.items() if k not in NOT_STATISTICS}
    if out.get("test") is not None:
        out["test"] = {k: v for k, v in out["test"].items() if k not in NOT_STATISTICS}
    return out


def _exported(server, run_id, tmp_path):
    elite = server.get(f"/api/runs/{run_id}/elite").json()
    chosen = max(elite, key=lambda e: e["total_trades"])  # one with trades in both periods
    assert chosen["total_trades"] and chosen["test"]["total_trades"]
    response = server.get(f"/api/runs/{run_id}/individuals/{chosen['id']}/config")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    exported = response.json()
    assert parse_config(exported).genes == ()  # every value fixed
    path = tmp_path / "elite.json"
    path.write_text(json.dumps(exported))
    return chosen, exported, path


def _cli(*args):
    done = subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_an_elite_exported_as_config_backtests_to_its_stored_statistics(server, run_id, tmp_path):
    elite, _, config = _exported(server, run_id, tmp_path)
    out = tmp_path / "out.json"
    _cli("backtest", config, "--data", EURUSD, "--json", out)
    again = json.loads(out.read_text())
    assert _statistics(again) == _statistics(elite)  # training and test, every statistic
    assert again["trades"] == elite["trades"] and again["test"]["trades"] == elite["test"]["trades"]


def test_an_exported_elite_runs_as_it_is_in_the_cli_and_the_dashboard(server, run_id, tmp_path):
    """A configuration without ranges is a single backtest: ``run`` in the command
    line (given --data), and a run of the dashboard (its dataset by id), each with
    the elite's every stored statistic."""
    elite, exported, config = _exported(server, run_id, tmp_path)
    out = tmp_path / "run.json"
    _cli("run", config, "--data", EURUSD, "--json", out)
    result = json.loads(out.read_text())
    assert len(result["generations"]) == 1 and result["genes"] == []
    (entry,) = result["elite"]
    assert _statistics(entry) == _statistics(elite) and entry["ties"] == 1
    created = server.post("/api/runs", json=exported)
    assert created.status_code == 201, created.text
    again_id = created.json()["id"]
    status = server.wait_for(again_id, ("completed", "failed"))
    assert status["state"] == "completed" and (status["generation"], status["generations_total"]) == (1, 1), status
    (stored,) = server.get(f"/api/runs/{again_id}/elite").json()
    assert _statistics(stored) == _statistics(elite)
    generations = server.get(f"/api/runs/{again_id}/generations").json()
    assert [g["generation"] for g in generations] == [1] and generations[0]["finished"]


def test_json_and_csv_exports(server, run_id):
    document = server.get(f"/api/runs/{run_id}/export.json").json()
    assert document["run"]["id"] == run_id and document["config"]["ga"]["generations"] == 3
    assert [g["generation"] for g in document["generations"]] == [1, 2, 3]
    assert document["elite"] == server.get(f"/api/runs/{run_id}/elite").json()
    response = server.get(f"/api/runs/{run_id}/export.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == server.get(f"/api/runs/{run_id}").json()["evaluations"]
    assert {"id", "stop_loss", *SCALAR_FIELDS, "ties", "tie_ranges"} <= set(rows[0])
    assert all(int(r["ties"]) >= 1 for r in rows if int(r["id"]) in {e["id"] for e in document["elite"]})
    assert all(e["ties"] >= 1 and set(e["tie_ranges"]) == set(e["params"]) for e in document["elite"])
    best = next(r for r in rows if int(r["id"]) == document["elite"][0]["id"])
    assert float(best["total_return_pct"]) == pytest.approx(document["elite"][0]["total_return_pct"])
    assert server.get("/api/runs/424242/export.csv").status_code == 404


def test_the_served_schema_accepts_valid_configs_and_rejects_invalid_ones(server):
    schema = server.get("/api/schema/config").json()
    # Computed in a fresh interpreter: other tests register plugin signal kinds in this one.
    fresh = subprocess.run([sys.executable, "-c", "import json; from optimizer.schema import config_schema; "
                            "print(json.dumps(config_schema()))"], cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    assert schema == json.loads(fresh.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    example = json.loads((ROOT / "examples" / "eurusd-sma.json").read_text())
    for valid in (example, parse_config(example).raw, sma_cross_config(5, 20)):
        jsonschema.validate(valid, schema)
    for patch in ({"strategy": {**example["strategy"], "stoploss": 0.1}},
                  {"objectives": [{"metric": "luck", "goal": "max"}]},
                  {"execution": {"fill": "vwap"}}):  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**example, **patch}, schema)
