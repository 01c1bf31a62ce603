"""The REST API through a real server process, a real SQLite file and real runs."""

from __future__ import annotations

import copy
import time

import pandas as pd
import pytest
import requests

from optimizer.data import MarketData
from tests.conftest import BTC, EURUSD, GOOG, candles_of, sma_cross_config
from tests.server import SERVERS, Server

pytestmark = pytest.mark.slow  # a real server process and real runs

PLUGIN_ENV = {"OPTIMIZER_PLUGINS": "tests.plugins.faulty", "FAULTY_SLEEP": "0.01"}


def run_config(generations: int = 4, population: int = 16, slow: bool = False, **ga) -> dict:
    doc = sma_cross_config({"min": 3, "max": 20, "type": "int"}, {"min": 30, "max": 90, "type": "int"},
                           stop_loss={"min": 0.002, "max": 0.03})  # fmt: skip
    doc["data"] = {"dataset": "EURUSD-1h"}
    doc["ga"] = {"population": population, "generations": generations, "seed": 3, **ga}
    doc["split"] = {"test_fraction": 0.25}
    doc["workers"] = 1
    if slow:  # a weight-0 signal that sleeps: generations take long enough to act in between
        doc["strategy"]["signals"]["pause"] = {
            "kind": "slow",
            "params": {"period": {"min": 1, "max": 10**6, "type": "int"}},
        }
        doc["strategy"]["entry"]["weights"]["pause"] = 0.0
    return doc


@pytest.fixture(scope="module", params=SERVERS)
def server(request, tmp_path_factory):
    server = Server(tmp_path_factory.mktemp(f"api-{request.param}"), env=PLUGIN_ENV, kind=request.param).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def finished(server):
    """A completed run: (run id, its status)."""
    response = server.post("/api/runs", json=run_config())
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    return run_id, server.wait_for(run_id, ("completed", "failed"))


def test_start_poll_and_read_a_run(server, finished):
    run_id, status = finished
    assert status["state"] == "completed", status
    assert status["generation"] == status["generations_total"] == 4
    assert status["evaluations"] > 16 and status["failed_evaluations"] == 0
    assert status["started_at"] and status["finished_at"] and status["error"] is None
    assert status["evals_per_second"] is None and status["eta_seconds"] is None  # no process, nothing to wait for
    assert status["data_fingerprint"] and status["versions"]["numba"]
    everything = server.get(f"/api/runs/{run_id}/generations").json()
    assert [g["generation"] for g in everything] == [1, 2, 3, 4]
    after = server.get(f"/api/runs/{run_id}/generations?after=2").json()
    assert after == everything[2:]
    assert server.get(f"/api/runs/{run_id}/generations?after=4").json() == []
    elite = server.get(f"/api/runs/{run_id}/elite").json()
    assert [e["id"] for e in elite] == everything[-1]["elite"]
    best = [e["fitness"][0] for e in elite]
    assert best == sorted(best, reverse=True)
    assert elite[0]["trades"] and elite[0]["equity"]["value"] and elite[0]["test"]["bars"] > 0
    one = server.get(f"/api/runs/{run_id}/individuals/{elite[0]['id']}").json()
    assert one == elite[0]
    listed = server.get("/api/runs").json()
    assert any(r["id"] == run_id and r["state"] == "completed" for r in listed)


def test_the_same_config_gives_the_same_results(server, finished):
    run_id, _ = finished
    again = server.post("/api/runs", json=run_config()).json()["id"]
    server.wait_for(again, ("completed",))
    assert server.get(f"/api/runs/{again}/elite").json() == server.get(f"/api/runs/{run_id}/elite").json()


def test_stop_then_resume_gives_the_uninterrupted_result(server, finished):
    doc = run_config(generations=12, slow=True)
    reference = server.post("/api/runs", json=doc).json()["id"]
    server.wait_for(reference, ("completed",))
    run_id = server.post("/api/runs", json=doc).json()["id"]
    server.wait_for(run_id, ("running",))
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 1:
        time.sleep(0.01)
    stopped = server.post(f"/api/runs/{run_id}/stop")
    assert stopped.status_code == 202 and stopped.json()["state"] in ("stopping", "stopped")
    status = server.wait_for(run_id, ("stopped",))
    assert 1 <= status["generation"] < 12
    assert server.post(f"/api/runs/{run_id}/stop").status_code == 409
    before = server.get(f"/api/runs/{run_id}/generations").json()
    assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
    server.wait_for(run_id, ("completed",))
    generations = server.get(f"/api/runs/{run_id}/generations").json()
    assert [g["generation"] for g in generations] == list(range(1, 13))
    # The resume replays its checkpoint's last generation: what was stored of it stays (its timing too).
    assert generations[: len(before)] == before and not any(g["replay"] for g in generations)
    assert server.get(f"/api/runs/{run_id}/elite").json() == server.get(f"/api/runs/{reference}/elite").json()
    assert server.post(f"/api/runs/{run_id}/resume").status_code == 409


def test_delete(server):
    run_id = server.post("/api/runs", json=run_config(generations=1)).json()["id"]
    server.wait_for(run_id, ("completed",))
    folder = server.data_dir / "runs" / str(run_id)
    assert (folder / "checkpoint.json").is_file()
    deleted = server.delete(f"/api/runs/{run_id}")
    assert deleted.status_code == 204 and deleted.content == b"" and "Content-Type" not in deleted.headers
    assert server.get(f"/api/runs/{run_id}").status_code == 404
    assert not folder.exists()


def _invalid(field_patch):
    doc = run_config()
    field_patch(doc)
    return doc


CHUNKED = "a chunked body"
BAD_REQUESTS = [
    ("malformed JSON", "post", "/api/runs", {"data": "{oops", "headers": {"Content-Type": "application/json"}},
     400, "not valid JSON"),
    ("not JSON", "post", "/api/runs", {"data": "a=1", "headers": {"Content-Type": "text/plain"}}, 415, "JSON"),
    ("invalid field", "post", "/api/runs",
     {"json": _invalid(lambda d: d["strategy"]["signals"]["up"]["params"].update(fast={"min": 50, "max": 5,
                                                                                         "type": "int"}))},
     400, "strategy.signals.up.params.fast: min 50 is above max 5"),
    ("path instead of dataset", "post", "/api/runs", {"json": _invalid(lambda d: d.update(data={"path": "/etc"}))},
     400, "data.path"),
    ("unknown dataset", "post", "/api/runs", {"json": _invalid(lambda d: d.update(data={"dataset": "nope"}))},
     400, "data.dataset: no dataset 'nope'"),
    ("unknown run", "get", "/api/runs/999999", {}, 404, "no run 999999"),
    ("stop unknown run", "post", "/api/runs/999999/stop", {}, 404, "no run"),
    ("resume unknown run", "post", "/api/runs/999999/resume", {}, 404, "no run"),
    ("delete unknown run", "delete", "/api/runs/999999", {}, 404, "no run"),
    ("generations of unknown run", "get", "/api/runs/999999/generations", {}, 404, "no run"),
    ("elite of unknown run", "get", "/api/runs/999999/elite", {}, 404, "no run"),
    ("unknown route", "get", "/api/nothing", {}, 404, "not found"),
    ("cross-origin post", "post", "/api/runs", {"json": run_config(), "headers": {"Origin": "http://evil.example"}},
     403, "cross-origin"),
    ("upload without file", "post", "/api/datasets", {"data": {"x": "1"}}, 400, "file:"),
    ("upload of a text file", "post", "/api/datasets", {"files": {"file": ("notes.txt", b"hello")}}, 400, ".txt"),
    ("malformed CSV upload", "post", "/api/datasets",
     {"files": {"file": ("prices.csv", b"Date,Open,High,Low,Close\n2024-01-01,1,2,0.5,1.5\n2024-01-02,1,x,0.5,1\n")}},
     400, "prices.csv line 3 (row 2), column 'High'"),
    ("huge upload", "post", "/api/datasets", {"files": {"file": ("big.csv", b"0" * (51 * 1024 * 1024))}}, 413, ""),
    ("id beyond 64 bits", "get", f"/api/runs/{2**63}", {}, 404, "not found"),
    ("id of 30 digits", "delete", f"/api/runs/{10**30}", {}, 404, "not found"),
    ("largest id", "get", f"/api/runs/{2**63 - 1}", {}, 404, f"no run {2**63 - 1}"),
    ("individual beyond 64 bits", "get", f"/api/runs/1/individuals/{2**64}", {}, 404, "not found"),
    ("cursor beyond 64 bits", "get", f"/api/runs/{2**63}/generations?after={2**63}", {}, 404, "not found"),
    ("JSON nested 1,000 deep", "post", "/api/runs",
     {"data": "[" * 1000 + "]" * 1000, "headers": {"Content-Type": "application/json"}}, 400, "nested too deeply"),
    ("an integer of 400 digits", "post", "/api/runs",
     {"data": '{"workers": ' + "9" * 400 + "}", "headers": {"Content-Type": "application/json"}},
     400, "an integer of 400 digits is out of range"),
    ("a lone surrogate in the name", "post", "/api/runs",
     {"data": '{"name": "a\\ud800"}', "headers": {"Content-Type": "application/json"}}, 400, "lone surrogate"),
    ("NaN", "post", "/api/runs", {"data": '{"workers": NaN}', "headers": {"Content-Type": "application/json"}},
     400, "NaN is not a JSON number"),
    ("a JSON body over 1 MB", "post", "/api/runs",
     {"data": '"' + "a" * (2 * 1024 * 1024) + '"', "headers": {"Content-Type": "application/json"}}, 413, "over the limit"),
    ("a chunked JSON body over 1 MB", "post", "/api/runs",
     {"data": CHUNKED, "headers": {"Content-Type": "application/json"}}, 413, "over the limit"),
    ("method not allowed", "put", "/api/runs", {}, 405, "/api/runs"),
    ("method not allowed on a run", "put", "/api/runs/1", {}, 405, "not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "method", "path", "kwargs", "status", "message"), BAD_REQUESTS,
                         ids=[b[0] for b in BAD_REQUESTS])  # fmt: skip
def test_bad_requests_get_json_errors(server, name, method, path, kwargs, status, message):
    before = server.get("/api/runs").json()
    kwargs = copy.deepcopy(kwargs)
    if kwargs.get("data") is CHUNKED:  # no Content-Length: Transfer-Encoding chunked
        kwargs["data"] = (b"x" * 65536 for _ in range(40))
    call = getattr(server, method, None) or (lambda p, **kw: requests.request(method, server.url + p, timeout=30, **kw))
    response = call(path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "details"}
    assert message in body["error"] + " ".join(body["details"])
    assert server.get("/api/runs").json() == before  # nothing stored was lost or added


def test_generations_cursor_must_be_a_count(server, finished):
    run_id, _ = finished
    for bad in ("abc", "-1", "1.5"):
        response = server.get(f"/api/runs/{run_id}/generations?after={bad}")
        assert response.status_code == 400 and "after" in response.json()["details"][0]
    assert server.get(f"/api/runs/{run_id}/individuals/987654").status_code == 404


def test_upload_then_run_on_it(server):
    content = b"".join(GOOG.read_bytes().splitlines(keepends=True)[:-1])  # not the bundled file (that is reused)
    response = server.post("/api/datasets", files={"file": ("goog.csv", content)})
    assert response.status_code == 201, response.text
    dataset_id = response.json()["id"]
    listed = {d["id"]: d for d in server.get("/api/datasets").json()}
    assert listed[dataset_id]["rows"] == 2147 and listed[dataset_id]["name"] == "goog.csv"
    stored = list((server.data_dir / "uploads").iterdir())
    assert [p.name for p in stored if p.name.startswith(dataset_id)] == [f"{dataset_id}.csv"]  # a generated name
    doc = run_config(generations=1)
    doc["data"] = {"dataset": dataset_id}
    run_id = server.post("/api/runs", json=doc).json()["id"]
    assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"


def test_bundled_datasets_and_openapi(server):
    listed = {d["id"]: d for d in server.get("/api/datasets").json()}
    for path in (EURUSD, GOOG, BTC):  # each listed as loading its file here describes it
        candles = candles_of(path)
        first, last = (pd.Timestamp(int(t), tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ") for t in candles.time[[0, -1]])
        described = listed[path.stem]
        assert isinstance(described.pop("run_ids"), list)  # the runs made on it (this module's, if any)
        assert described == {
            "id": path.stem, "name": path.name, "rows": len(candles), "bar_seconds": candles.bar_ns / 1e9,
            "first_time": first, "last_time": last, "fingerprint": MarketData(candles).fingerprint(), "bundled": True,
        }  # fmt: skip
    document = server.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/generations", "/api/runs/{run_id}/elite",
                 "/api/runs/{run_id}/individuals/{iid}", "/api/datasets", "/api/runs/{run_id}/stop",
                 "/api/runs/{run_id}/resume"):  # fmt: skip
        assert path in document["paths"]


def test_a_finished_run_gives_its_whole_run_rate(server, finished):
    run_id, status = finished
    generations = server.get(f"/api/runs/{run_id}/generations").json()
    seconds = generations[-1]["elapsed_seconds"]  # its generations' wall time, summed (the last's analysis included)
    assert seconds > 0 and status["evals_per_second"] is None  # final: no moving average
    assert status["overall_evals_per_second"] == status["evaluations"] / seconds
    assert server.get(f"/api/runs/{run_id}").json()["overall_evals_per_second"] == status["overall_evals_per_second"]
    last = generations[-1]
    assert last["evals_per_second"] != status["overall_evals_per_second"]  # not the last generations' rate
