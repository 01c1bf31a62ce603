"""A dashboard walk-forward resumed after its ``walk_forward`` section changed (in
the stored configuration) fails with the CLI's refusal instead of reading the old
folds back: a real server, a real run process, a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from tests.server import module_server
from tests.test_walk_forward_dashboard import wf_config

pytestmark = pytest.mark.slow  # a real server process and a real run

server = module_server("walk-forward-resume", env={"OPTIMIZER_PLUGINS": "tests.plugins.faulty",
                                                   "FAULTY_SLEEP": "0.05"})  # fmt: skip


def test_a_resume_after_the_section_changed_fails_naming_the_checkpoint(server):
    doc = wf_config(generations=4, slow=True)
    run_id = server.post("/api/runs", json=doc).json()["id"]
    server.wait_for(run_id, ("running",))
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 2:  # fold 1 has a checkpoint
        time.sleep(0.01)
    assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
    server.wait_for(run_id, ("stopped",))
    with sqlite3.connect(server.data_dir / "dashboard.sqlite") as db:
        (stored,) = db.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
        changed = json.loads(stored)
        changed["walk_forward"]["train"] = 800
        db.execute("UPDATE runs SET config = ? WHERE id = ?", (json.dumps(changed), run_id))
    assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
    status = server.wait_for(run_id, ("failed", "completed"), timeout=240)
    assert status["state"] == "failed", status
    assert "walk_forward.json belongs to another configuration or dataset" in status["error"], status
