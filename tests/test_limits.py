"""What a run may ask of a real server, refused at submission with one clear
error each (nothing stored), the estimate it answers, and a run none of whose
evaluations succeeded ending failed."""

from __future__ import annotations

import copy
import os

import pytest

from tests.server import Server
from tests.test_api import PLUGIN_ENV, run_config
from tests.test_security import ServerWith

pytestmark = pytest.mark.slow  # a real server process and a real run

CURSED = 7  # the faulty plugin's ``raises`` kind raises on this period


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {**PLUGIN_ENV, "FAULTY_PERIOD": str(CURSED)}
    server = ServerWith(tmp_path_factory.mktemp("limits"), "--max-workers", "1", "--max-evaluations", "5000",
                        env=env).start()  # fmt: skip
    yield server
    server.stop()


def _with(change) -> dict:
    doc = run_config()
    change(doc)
    return doc


def _signals(doc: dict, count: int) -> None:
    up = doc["strategy"]["signals"]["up"]
    doc["strategy"]["signals"].update({f"extra{i}": copy.deepcopy(up) for i in range(count)})


REFUSED = [
    ("workers above the server's", lambda d: d.update(workers=2), "workers: 2 is more than this server allows (1"),
    ("workers like a big machine's", lambda d: d.update(workers=1024), "workers: 1024 is more than"),
    ("evaluation budget", lambda d: d["ga"].update(population=100, generations=51),
     "ga: population 100 x generations 51 = 5,100 evaluations is more than this server allows per run (5,000"),
    ("huge budget", lambda d: d["ga"].update(population=100_000, generations=100_000), "10,000,000,000 evaluations"),
    ("too many signals", lambda d: _signals(d, 1_000), "strategy.signals: 1002 signals; a strategy has at most 64"),
    ("timeframe beyond a year", lambda d: d["strategy"]["signals"]["up"].update(timeframe="99999999999999999999d"),
     "strategy.signals.up.timeframe: 99999999999999999999d is longer than 366 days"),
    ("timeframe below the bars", lambda d: d["strategy"]["signals"]["up"].update(timeframe="15m"),
     "strategy.signals.up.timeframe: 15m is shorter than the data's bars (1h)"),
    ("timeframe not a multiple", lambda d: d["strategy"]["signals"]["up"].update(timeframe="90m"),
     "not a multiple of the data's bars"),
    ("test_from not a date", lambda d: d.update(split={"test_from": "not-a-date"}),
     "split.test_from: 'not-a-date' is not an ISO 8601 date"),
    ("test_from before the data", lambda d: d.update(split={"test_from": "2001-01-01"}),
     "split.test_from: 2001-01-01 lies outside the dataset, whose bars open from 2017-04-19T09:00:00+00:00"),
    ("test_from after the data", lambda d: d.update(split={"test_from": "2030-01-01"}), "lies outside the dataset"),
    ("test_fraction leaving no training", lambda d: d.update(split={"test_fraction": 0.99999}),
     "split.test_fraction: leaves 0 training and 5000 test bars of 5000"),
    ("long name", lambda d: d.update(name="n" * 10_000_000), "name: 10000000 characters; at most 200"),
    ("NUL in the name", lambda d: d.update(name="a\x00b"), "name: holds the control character U+0000 at 1"),
    ("a right-to-left override in the name", lambda d: d.update(name="run\u202egpj.exe"),
     "name: holds the control character U+202E at 3"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_a_submission_beyond_a_limit_is_refused_with_one_clear_error(server, change, message):
    before = server.get("/api/runs").json()
    doc = _with(change)
    for route in ("/api/runs", "/api/runs/estimate"):
        response = server.post(route, json=doc)
        if message.startswith("name: 10000000"):
            assert response.status_code == 413, response.text  # the body itself is over 1 MB
            continue
        assert response.status_code == 400, response.text
        details = response.json()["details"]
        assert len(details) == 1 and message in details[0], details
    assert server.get("/api/runs").json() == before


def test_a_long_name_within_the_body_limit_is_refused(server):
    response = server.post("/api/runs", json=_with(lambda d: d.update(name="n" * 100_000)))
    assert response.status_code == 400 and response.json()["details"] == ["name: 100000 characters; at most 200"]


def test_every_limit_broken_at_once_is_listed(server):
    doc = _with(lambda d: (d.update(workers=8, split={"test_from": "soon"}), d["ga"].update(generations=10_000)))
    details = server.post("/api/runs", json=doc).json()["details"]
    assert [d.split(":")[0] for d in details] == ["workers", "ga", "split.test_from"]


def test_a_schema_error_and_a_server_limit_are_listed_together(server):
    """A name the schema refuses and workers this server refuses, in one answer (an
    outside trial: the workers' limit only once the name was fixed)."""
    doc = _with(lambda d: d.update(name="n" * 300, workers=8))
    details = server.post("/api/runs", json=doc).json()["details"]
    assert details == ["name: 300 characters; at most 200",
                       "workers: 8 is more than this server allows (1; its administrator sets --max-workers); "
                       "0 uses one per core"]  # fmt: skip
    doc = _with(lambda d: d.update(name="n" * 300, workers=5000))  # beyond the schema: named once, by it
    assert [d.split(":")[0] for d in server.post("/api/runs", json=doc).json()["details"]] == ["name", "workers"]


def test_the_estimate_is_answered_before_and_at_submission(server):
    doc = run_config(generations=2, population=8)
    before = server.get("/api/runs").json()
    dry = server.post("/api/runs/estimate", json=doc)
    assert dry.status_code == 200, dry.text
    estimate = dry.json()
    assert estimate["evaluations"] == 16 and estimate["workers"] == 1 and estimate["seconds"] > 0
    assert estimate["mode"] == "local" and "scheduler" not in estimate and "note" not in estimate, estimate
    assert server.get("/api/runs").json() == before  # a dry run stores nothing
    created = server.post("/api/runs", json=doc)
    assert created.status_code == 201 and created.json()["estimate"] == estimate
    server.wait_for(created.json()["id"], ("completed",))


def test_a_run_whose_every_evaluation_failed_ends_failed_with_the_most_common_error(server):
    doc = run_config(generations=2, population=6)
    doc["strategy"]["signals"]["cursed"] = {"kind": "raises", "params": {"period": CURSED}}
    doc["strategy"]["entry"]["weights"]["cursed"] = 0.0
    run_id = server.post("/api/runs", json=doc).json()["id"]
    status = server.wait_for(run_id, ("completed", "failed"))
    assert status["state"] == "failed", status
    assert status["failed_evaluations"] == status["evaluations"] > 0
    assert status["error"].startswith(f"all {status['evaluations']} evaluations failed; the most common error")
    assert f"period {CURSED} is cursed" in status["error"]


def test_the_server_limits_default_to_the_cores(tmp_path):
    server = Server(tmp_path).start()
    try:
        response = server.post("/api/runs/estimate", json=_with(lambda d: d.update(workers=(os.cpu_count() or 1) + 1)))
        assert response.status_code == 400 and "its administrator sets --max-workers" in response.json()["details"][0]
        ok = server.post("/api/runs/estimate", json=_with(lambda d: d.update(workers=os.cpu_count() or 1)))
        assert ok.status_code == 200, ok.text
    finally:
        server.stop()
