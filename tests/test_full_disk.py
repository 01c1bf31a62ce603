"""A full disk mid-run, then space freed, on a real small tmpfs (needs root to mount
one; skipped otherwise): the supervisor survives, reads keep working, writes
answer 507 with a clear JSON message, nothing committed is lost, the database is
intact, and the queue runs the next submissions once there is space again."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import GOOG
from tests.server import Server
from tests.test_api import PLUGIN_ENV, run_config
from tests.test_faults import strip

pytestmark = pytest.mark.slow  # real servers and runs

ENV = {**PLUGIN_ENV, "FAULTY_SLEEP": "0.02"}


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A 64 MB tmpfs, unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * chunk):
                    pass
    finally:
        os.close(fd)
    with pytest.raises(OSError) as full:
        (disk / "one-more").write_bytes(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


def truncate_wal(db_path: Path) -> None:
    """Move the WAL into the database and empty it: the next write needs new space."""
    db = sqlite3.connect(db_path, timeout=30)
    try:
        for _ in range(100):
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.05)
        raise AssertionError("the WAL could not be truncated")
    finally:
        db.close()


def test_a_full_disk_mid_run_then_space_freed(small_disk, tmp_path):
    data = small_disk / "data"
    server = Server(data, env=ENV, log_dir=tmp_path).start()
    try:
        doc = run_config(generations=40, slow=True)
        doc["workers"] = 2
        run_id = server.post("/api/runs", json=doc).json()["id"]
        deadline = time.monotonic() + 300
        while server.get(f"/api/runs/{run_id}").json()["generation"] < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        waiting = server.post("/api/runs", json=run_config(generations=2)).json()["id"]  # queued behind it
        truncate_wal(data / "dashboard.sqlite")
        filler = fill(small_disk)
        committed = server.get(f"/api/runs/{run_id}/generations").json()
        assert len(committed) >= 3

        # The run cannot write its next generation: it ends, and reads say so.
        status = server.wait_for(run_id, ("interrupted", "failed"), timeout=120)
        assert status["error"], status
        refused = server.post("/api/runs", json=run_config(generations=2))
        assert refused.status_code == 507, refused.text
        assert refused.headers["Content-Type"].startswith("application/json")
        assert "disk" in refused.json()["error"] and "full" in refused.json()["error"]
        candles = "\n".join(GOOG.read_text().splitlines()[:400]).encode()  # new content: stored, not deduplicated
        upload = server.post("/api/datasets", files={"file": ("new.csv", candles)})
        assert upload.status_code == 507 and "full" in upload.json()["error"], upload.text
        assert server.get("/api/runs").status_code == 200  # reads keep working
        assert server.get(f"/api/runs/{run_id}/generations").json()[: len(committed)] == committed
        resumed = server.post(f"/api/runs/{run_id}/resume")  # refused: it could only wait in the queue, unsaid
        assert resumed.status_code == 507 and "a run needs" in resumed.json()["details"][0], resumed.text
        assert server.get(f"/api/runs/{run_id}").json()["state"] == status["state"]
        for _ in range(30):  # the queue waits while the disk is full: the queued run is not started to fail
            assert server.get(f"/api/runs/{waiting}").json()["state"] == "queued"
            time.sleep(0.1)

        filler.unlink()  # space again: the queue goes on
        settled = server.wait_for(run_id, ("interrupted", "failed", "queued", "running", "completed"), timeout=60)
        if settled["state"] in ("interrupted", "failed"):
            assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
        assert server.wait_for(run_id, ("completed",), timeout=300)["state"] == "completed"
        assert server.wait_for(waiting, ("completed", "failed"), timeout=300)["state"] == "completed"
        after = server.post("/api/runs", json=run_config(generations=2))
        assert after.status_code == 201, after.text
        assert server.wait_for(after.json()["id"], ("completed",), timeout=300)["state"] == "completed"
        generations = server.get(f"/api/runs/{run_id}/generations").json()
        assert [g["generation"] for g in generations] == list(range(1, 41))
        # Nothing committed was lost (the resume replays its checkpointed generation: the same but for timings).
        assert strip(generations[: len(committed)]) == strip(committed)
    finally:
        server.stop()
    db = sqlite3.connect(data / "dashboard.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()


def test_a_run_is_refused_while_the_disk_has_too_little_room_to_start_one(small_disk, tmp_path):
    """Room for the database's small writes but not for a run (less than
    `faults.MIN_FREE_BYTES`): a submission answers 507 naming the free space, not 201
    and a silent wait in the queue (an outside trial); a rename still works."""
    data = small_disk / "data"
    server = Server(data, env=ENV, log_dir=tmp_path).start()
    try:
        first = server.post("/api/runs", json=run_config(generations=1))
        assert first.status_code == 201, first.text
        assert server.wait_for(first.json()["id"], ("completed",))["state"] == "completed"
        filler = small_disk / "filler"
        free = shutil.disk_usage(small_disk).free
        with filler.open("wb") as handle:  # leave 4 MiB: SQLite writes, a run would not start
            handle.truncate(0)
            handle.write(b"\0" * max(0, free - 4 * 2**20))
        before = server.get("/api/runs").json()
        refused = server.post("/api/runs", json=run_config(generations=1))
        assert refused.status_code == 507, refused.text
        assert "full" in refused.json()["error"] and "a run needs 16,777,216" in refused.json()["details"][0]
        assert server.get("/api/runs").json() == before
        renamed = server.patch(f"/api/runs/{first.json()['id']}", json={"name": "kept"})
        assert renamed.status_code == 200, renamed.text
        filler.unlink()
        again = server.post("/api/runs", json=run_config(generations=1))
        assert again.status_code == 201, again.text
        assert server.wait_for(again.json()["id"], ("completed",))["state"] == "completed"
    finally:
        server.stop()
