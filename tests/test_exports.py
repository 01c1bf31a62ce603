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
from tests.server import Server
from tests.test_api import run_config

pytestmark = pytest.mark.slow  # a real server process and real runs


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("exports")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def run_id(server):
    doc = run_config(generations=3)
    doc.pop("split")  # statistics over all bars, as the command line's backtest computes them
    run_id = server.post("/api/runs", json=doc).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return run_id


def test_an_elite_exported_as_config_backtests_to_its_stored_statistics(server, run_id, tmp_path):
    elite = server.get(f"/api/runs/{run_id}/elite").json()[0]
    response = server.get(f"/api/runs/{run_id}/individuals/{elite['id']}/config")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    exported = response.json()
    assert parse_config(exported).genes == ()  # every value fixed
    config = tmp_path / "elite.json"
    config.write_text(json.dumps(exported))
    out = tmp_path / "out.json"
    done = subprocess.run([sys.executable, "-m", "optimizer", "backtest", str(config), "--data", str(EURUSD),
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    again = json.loads(out.read_text())
    for field in ("total_trades", "total_return_pct", "max_drawdown_pct", "sharpe", "profit_factor"):
        assert again[field] == elite[field], field
    assert again["trades"] == elite["trades"]


def test_json_and_csv_exports(server, run_id):
    document = server.get(f"/api/runs/{run_id}/export.json").json()
    assert document["run"]["id"] == run_id and document["config"]["ga"]["generations"] == 3
    assert [g["generation"] for g in document["generations"]] == [1, 2, 3]
    assert document["elite"] == server.get(f"/api/runs/{run_id}/elite").json()
    response = server.get(f"/api/runs/{run_id}/export.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == server.get(f"/api/runs/{run_id}").json()["evaluations"]
    assert {"id", "stop_loss", *SCALAR_FIELDS} <= set(rows[0])  # genes by their labels (optimizer.labels)
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
