"""The cluster monitor (`ClusterMonitor`) against a real ``dask scheduler`` and
``dask worker`` (tests.dask_processes): after a quiet spell (nobody looked, so
nothing was read) its old reading is the last known state, marked refreshing,
never a fault; a read that fails says ``unreachable`` with the reason and when."""

from __future__ import annotations

import time

import pytest

from tests.dask_processes import DaskCluster
from visualization_apps import cluster_monitor
from visualization_apps.cluster_monitor import ClusterMonitor

pytestmark = pytest.mark.slow  # a real Dask cluster

QUIET_WATCH_SECONDS = 1.0  # the monitor stops reading 1 s after the last look (30 s in the app)


def until(monitor: ClusterMonitor, test, timeout: float = 60) -> dict:
    """Snapshots every 0.2 s until ``test(snapshot)`` holds (each one is a look)."""
    deadline = time.monotonic() + timeout
    while not test(shot := monitor.snapshot()):
        assert time.monotonic() < deadline, shot
        time.sleep(0.2)
    return shot


@pytest.fixture
def watched(tmp_path, monkeypatch):
    """A one-worker cluster and a monitor of it that stops reading 1 s after a look."""
    monkeypatch.setattr(cluster_monitor, "WATCHED_SECONDS", QUIET_WATCH_SECONDS)
    cluster = DaskCluster(tmp_path).start(workers=1)
    monitor = ClusterMonitor(cluster.address)
    yield cluster, monitor
    monitor.close()
    cluster.stop()


def test_after_a_quiet_spell_the_last_known_state_shows_refreshing(watched):
    _, monitor = watched
    fresh = until(monitor, lambda s: s["state"] == "connected")
    assert (fresh["worker_count"], fresh["refreshing"]) == (1, False), fresh
    time.sleep(QUIET_WATCH_SECONDS + cluster_monitor.STALE_SECONDS + 2)  # nobody looks: nothing is read
    old = monitor.snapshot()  # the first look after the spell: answered at once, from the last reading
    assert old["state"] == "connected", old  # not a fault: the scheduler was never asked
    assert old["error"] is None and old["refreshing"] is True, old
    assert old["age_seconds"] > cluster_monitor.STALE_SECONDS, old
    assert (old["worker_count"], [w["address"] for w in old["workers"]]) == (1, [w["address"] for w in fresh["workers"]])
    again = until(monitor, lambda s: not s["refreshing"], timeout=30)  # the read that look asked for
    assert again["state"] == "connected" and again["age_seconds"] < old["age_seconds"], again


def test_a_failed_read_is_unreachable_with_the_reason_and_when(watched):
    cluster, monitor = watched
    until(monitor, lambda s: s["state"] == "connected")
    cluster.kill_scheduler()
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    shot = until(monitor, lambda s: s["state"] == "unreachable")
    assert shot["error"] and shot["workers"] == [], shot
    assert shot["failed_at"] >= before and shot["failed_at"] == shot["checked_at"], shot
