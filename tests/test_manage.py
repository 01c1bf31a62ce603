"""Managing and comparing runs and datasets through a real server: rename, the best
member in the runs list, compare, dataset dedup and deletion, upload warnings and
the body limit however the body is sent."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import GOOG
from tests.server import module_server
from tests.test_api import PLUGIN_ENV, run_config

pytestmark = pytest.mark.slow  # a real server process and real runs


server = module_server("manage", env=PLUGIN_ENV)


@pytest.fixture(scope="module")
def two_runs(server):
    """Two completed runs differing in their seed and population."""
    ids = [server.post("/api/runs", json=run_config(generations=3, seed=seed, population=pop)).json()["id"]
           for seed, pop in ((3, 16), (4, 12))]  # fmt: skip
    for run_id in ids:
        assert server.wait_for(run_id, ("completed", "failed"))["state"] == "completed"
    return ids


def _upload(server, name: str, content: bytes) -> requests.Response:
    return server.post("/api/datasets", files={"file": (name, content)})


def _goog_without_last_rows(k: int) -> bytes:
    """The GOOG file without its last k rows: new content, valid."""
    lines = GOOG.read_bytes().splitlines(keepends=True)
    return b"".join(lines[:-k])


def test_rename_a_run(server, two_runs):
    run_id = two_runs[0]
    response = server.patch(f"/api/runs/{run_id}", json={"name": "  trend, renamed  "})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "trend, renamed"
    assert server.get(f"/api/runs/{run_id}").json()["name"] == "trend, renamed"
    assert next(r for r in server.get("/api/runs").json() if r["id"] == run_id)["name"] == "trend, renamed"
    assert server.get(f"/api/runs/{run_id}/config").json()["name"] == "sma cross"  # as it was started


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"name": ""}, 400, "name: must be a non-blank string"),
    ({"name": 7}, 400, "name: must be a non-blank string"),
    ({"name": "x" * 201}, 400, "name: 201 characters; at most 200"),
    ({"name": "a\x00b"}, 400, "name: holds the control character U+0000 at 1"),
    ({"title": "x"}, 400, 'body: must be {"name": "..."}'),
    (["x"], 400, 'body: must be {"name": "..."}'),
])  # fmt: skip
def test_rename_refuses_bad_names(server, two_runs, body, status, message):
    before = server.get(f"/api/runs/{two_runs[1]}").json()["name"]
    response = server.patch(f"/api/runs/{two_runs[1]}", json=body)
    assert response.status_code == status and message in " ".join(response.json()["details"]), response.text
    assert server.get(f"/api/runs/{two_runs[1]}").json()["name"] == before


def test_rename_of_an_unknown_run_or_without_json(server, two_runs):
    assert server.patch("/api/runs/987654", json={"name": "x"}).status_code == 404
    response = server.patch(f"/api/runs/{two_runs[1]}", data="name=x")
    assert response.status_code == 415


def test_the_runs_list_names_one_best_member(server, two_runs):
    listed = {r["id"]: r for r in server.get("/api/runs").json()}
    for run_id in two_runs:
        best = listed[run_id]["best_member"]
        first = server.get(f"/api/runs/{run_id}/elite").json()[0]  # best first by the first objective
        assert best["id"] == first["id"]
        assert best["objectives"] == [{"metric": "total_return_pct", "goal": "max"}]  # the default
        assert best["train"]["total_return_pct"] == first["total_return_pct"]
        assert best["train"]["sharpe"] == first["sharpe"]
        assert best["test"]["total_return_pct"] == first["test"]["total_return_pct"]


def test_compare_two_runs(server, two_runs):
    answer = server.get(f"/api/compare?runs={two_runs[0]},{two_runs[1]}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["run"]["id"] for r in body["runs"]] == two_runs
    for compared, run_id in zip(body["runs"], two_runs, strict=True):
        elite = server.get(f"/api/runs/{run_id}/elite").json()
        assert [e["id"] for e in compared["elite"]] == [e["id"] for e in elite]
        assert "trades" not in compared["elite"][0] and "equity" not in compared["elite"][0]["test"]
        assert compared["elite"][0]["test"]["sharpe"] == elite[0]["test"]["sharpe"]
        generations = server.get(f"/api/runs/{run_id}/generations").json()
        assert compared["history"] == [{"generation": g["generation"], "objectives": g["objectives"]}
                                       for g in generations]  # fmt: skip
    assert body["config_diff"] == {"ga.seed": [3, 4], "ga.population": [16, 12]}


@pytest.mark.parametrize(("query", "status", "message"), [
    ("runs=1", 400, "give 2 to 4 different run ids"),
    ("runs=1,1", 400, "give 2 to 4 different run ids"),
    ("runs=1,2,3,4,5", 400, "give 2 to 4 different run ids"),
    ("runs=1,abc", 400, "not a comma-separated list"),
    ("", 400, "not a comma-separated list"),
    ("runs=1,99999999999999999999", 400, "is not a run id"),
])  # fmt: skip
def test_compare_refuses_bad_queries(server, query, status, message):
    response = server.get(f"/api/compare?{query}")
    assert response.status_code == status and message in " ".join(response.json()["details"]), response.text


def test_compare_of_an_unknown_run(server, two_runs):
    assert server.get(f"/api/compare?runs={two_runs[0]},987654").status_code == 404


def test_the_same_content_uploaded_twice_is_one_dataset(server):
    bundled = _upload(server, "my-goog.csv", GOOG.read_bytes())
    assert bundled.status_code == 200, bundled.text
    assert bundled.json()["id"] == "GOOG-1d" and bundled.json()["existing"] is True
    first = _upload(server, "goog-short.csv", _goog_without_last_rows(5))
    assert first.status_code == 201 and first.json()["existing"] is False, first.text
    again = _upload(server, "renamed.csv", _goog_without_last_rows(5))
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
    listed = [d for d in server.get("/api/datasets").json() if d["fingerprint"] == first.json()["dataset"]["fingerprint"]]
    assert [d["id"] for d in listed] == [first.json()["id"]] and listed[0]["rows"] == 2148 - 5
    assert not [p for p in (server.data_dir / "uploads").iterdir() if p.name.startswith(".upload-")]


def test_a_dataset_in_use_or_bundled_is_not_deleted_an_unused_one_is(server):
    used = _upload(server, "goog-used.csv", _goog_without_last_rows(7)).json()["id"]
    doc = run_config(generations=1)
    doc["data"] = {"dataset": used}
    run_id = server.post("/api/runs", json=doc).json()["id"]
    refused = server.delete(f"/api/datasets/{used}")
    assert refused.status_code == 409 and refused.json()["details"] == [f"runs: {run_id}"], refused.text
    assert f"used by run {run_id}" in refused.json()["error"]
    bundled = server.delete("/api/datasets/EURUSD-1h")
    assert bundled.status_code == 409 and "bundled" in bundled.json()["error"]
    assert server.delete("/api/datasets/nothing-here").status_code == 404
    server.wait_for(run_id, ("completed", "failed"))
    assert server.delete(f"/api/runs/{run_id}").status_code == 204
    assert server.delete(f"/api/datasets/{used}").status_code == 204
    assert used not in {d["id"] for d in server.get("/api/datasets").json()}
    assert not [p for p in (server.data_dir / "uploads").iterdir() if p.name.startswith(used)]


def test_upload_answers_carry_the_warnings(server):
    rows = b"2024-01-02,1,2,0.5,1.5,9,x\n2024-01-01,1,2,0.5,1.5,9,y\n2024-01-03,1,2,0.5,1.5,9,z\n"
    response = _upload(server, "unsorted.csv", b"Date,Open,High,Low,Close,Volume,Note\n" + rows)
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert warnings == ["unsorted.csv: rows are not in time order (first at unsorted.csv line 3 (row 2)); sorted by time",
                        "unsorted.csv: column 'Note' ignored (only time, open, high, low, close and volume are read)"]
    assert not any(".upload-" in w for w in warnings)  # the real name, never the temporary file's


def test_a_huge_line_is_reported_as_such(server):
    content = b"Date,Open,High,Low,Close\n2024-01-01," + b"1" * 5_000_000 + b",2,0.5,1.5\n"
    response = _upload(server, "oneline.csv", content)
    assert response.status_code == 400
    assert response.json()["details"] == [
        "oneline.csv line 2: 5,000,021 characters long; a row of candles is a few dozen (at most 100,000 are read): "
        "is it a CSV file with one row per line?"]  # fmt: skip


def _chunks(head: bytes, size: int, tail: bytes):
    yield head
    for _ in range(size // 2**20):
        yield b"x" * 2**20
    yield tail


def test_an_oversize_body_gets_413_however_it_is_sent(server):
    limit = 50 * 2**20
    before = server.get("/api/runs").json()
    json_headers = {"Content-Type": "application/json"}
    chunked_json = server.post("/api/runs", data=_chunks(b'{"name": "', limit + 2**20, b'"}'), headers=json_headers)
    multipart = {"Content-Type": "multipart/form-data; boundary=b"}
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n'
    chunked_upload = server.post("/api/datasets", data=_chunks(head, limit + 2**20, b"\r\n--b--\r\n"), headers=multipart)
    sized = server.post("/api/runs", data=b"x" * (limit + 1), headers=json_headers)
    octets = {"Content-Type": "application/octet-stream"}  # an upload not sent as a form (an outside trial: 400)
    chunked_octets = server.post("/api/datasets", data=_chunks(b"", limit + 2**20, b""), headers=octets)
    sized_octets = server.post("/api/datasets", data=b"x" * (limit + 1), headers=octets)
    json_limit = 2**20  # a run's body: too large before it is not JSON (an outside trial: 415)
    not_json = [server.post("/api/runs", data=b"x" * (json_limit + 1), headers={"Content-Type": kind})
                for kind in ("text/plain", "application/x-www-form-urlencoded")]
    not_json.append(server.post("/api/runs", data=_chunks(b"", 2 * json_limit, b""), headers=octets))
    for response in not_json:
        assert response.status_code == 413, response.text
    assert server.post("/api/runs", data=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    for response, limit in ((chunked_json, "1,048,576 bytes (1 MiB)"), (chunked_upload, "52,428,800 bytes (50 MiB)"),
                            (sized, "1,048,576 bytes (1 MiB)"), (chunked_octets, "52,428,800 bytes (50 MiB)"),
                            (sized_octets, "52,428,800 bytes (50 MiB)")):  # a JSON body's limit, an upload's
        assert response.status_code == 413, response.text
        assert response.json() == {"error": "request body too large", "details": [f"body: over the limit of {limit}"]}
    small = server.post("/api/runs", data=_chunks(b"", 0, b'{"oops'), headers=json_headers)  # chunked, small
    assert small.status_code == 400 and small.json()["error"] == "the body is not valid JSON"
    small_octets = server.post("/api/datasets", data=_chunks(b"", 0, b"Date,Open"), headers=octets)
    assert small_octets.status_code == 400 and small_octets.json()["error"] == "no file"
    assert server.get("/api/runs").json() == before
