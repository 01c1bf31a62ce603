"""The look-ahead self-check and ``data.timestamps`` through the dashboard: a real
server process, real runs."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import EURUSD, candles_of, sma_cross_config
from tests.server import module_server

pytestmark = pytest.mark.slow  # a real server process and real runs


def _run_config(cheat: bool) -> dict:
    doc = sma_cross_config({"min": 3, "max": 20, "type": "int"}, 40)
    doc["data"] = {"dataset": "EURUSD-1h"}
    doc["ga"] = {"population": 8, "generations": 2, "seed": 3}
    doc["workers"] = 1
    if cheat:
        doc["strategy"]["signals"]["cheat"] = {"kind": "peek_ahead", "timeframe": "1d",
                                               "params": {"period": {"min": 1, "max": 9, "type": "int"}}}  # fmt: skip
        doc["strategy"]["entry"]["weights"]["cheat"] = 1.0
    return doc


server = module_server("lookahead", env={"OPTIMIZER_PLUGINS": "tests.plugins.peeking"})


def test_a_run_that_fails_the_check_is_failed_with_the_message_and_loses_nothing(server):
    good = server.post("/api/runs", json=_run_config(False)).json()["id"]
    assert server.wait_for(good, ("completed", "failed"))["state"] == "completed"
    elite = server.get(f"/api/runs/{good}/elite").json()
    bad = server.post("/api/runs", json=_run_config(True))
    assert bad.status_code == 201, bad.text  # a valid configuration: the check runs when the run starts
    status = server.wait_for(bad.json()["id"], ("completed", "failed"))
    assert status["state"] == "failed" and status["generation"] == 0
    assert status["error"].startswith("strategy.signals.cheat: kind peek_ahead on 1d looks ahead: its value at bar")
    assert server.get(f"/api/runs/{bad.json()['id']}/generations").json() == []
    assert server.get(f"/api/runs/{good}/elite").json() == elite  # what was stored before is all there


def test_chart_candles_follow_the_runs_timestamps_setting(server):
    c = candles_of(EURUSD)
    first = pd.Timestamp(int(c.time[0]), tz="UTC")
    as_open = server.get("/api/datasets/EURUSD-1h/candles").json()
    as_close = server.get("/api/datasets/EURUSD-1h/candles?timestamps=close").json()
    assert pd.Timestamp(as_open["time"][0]) == first
    assert pd.Timestamp(as_close["time"][0]) == first - pd.Timedelta(hours=1)
    assert as_close["close"] == as_open["close"]
    wrong = server.get("/api/datasets/EURUSD-1h/candles?timestamps=end")
    assert wrong.status_code == 400 and wrong.json()["details"] == ["timestamps: 'end' is not one of open, close"]
    doc = _run_config(False)
    doc["data"]["timestamps"] = "close"
    run = server.post("/api/runs", json=doc).json()["id"]
    assert server.get(f"/api/runs/{run}/config").json()["data"] == {"dataset": "EURUSD-1h", "timestamps": "close"}
    assert server.wait_for(run, ("completed", "failed"))["state"] == "completed"
