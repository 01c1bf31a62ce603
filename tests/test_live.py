"""Live streaming over Socket.IO, a server killed mid-run, and reads that never recompute."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import socketio

from tests.server import SERVERS, Server
from tests.test_api import PLUGIN_ENV, run_config

pytestmark = pytest.mark.slow  # real server processes, Socket.IO clients and runs


class Watcher:
    """A Socket.IO client that keeps the generations it has seen, reconnecting as a
    browser does: subscribe again, then read the run's state and what it missed
    over REST."""

    def __init__(self, server: Server, run_id: int) -> None:
        self.server = server
        self.run_id = run_id
        self.seen: list[int] = []
        self.statuses: list[str] = []
        self.lock = threading.Lock()
        self.client: socketio.Client | None = None

    def _on_generation(self, summary: dict) -> None:
        with self.lock:
            if summary["generation"] > (self.seen[-1] if self.seen else 0):  # never show one twice
                self.seen.append(summary["generation"])

    def connect(self) -> None:
        """A new session, as a browser gets when it reconnects."""
        self.client = socketio.Client(reconnection=False)
        self.client.on("generation", self._on_generation)
        self.client.on("run_status", lambda status: self.statuses.append(status["state"]))
        self.client.connect(self.server.url, transports=["websocket"])
        answer = self.client.call("subscribe", {"run_id": self.run_id}, timeout=10)
        assert answer["ok"], answer
        self.statuses.append(self.server.get(f"/api/runs/{self.run_id}").json()["state"])
        missed = self.server.get(f"/api/runs/{self.run_id}/generations?after={self.seen[-1] if self.seen else 0}")
        for summary in missed.json():
            self._on_generation(summary)

    def disconnect(self) -> None:
        self.client.disconnect()


@pytest.fixture(scope="module", params=SERVERS)
def server(request, tmp_path_factory):
    env = {**PLUGIN_ENV, "FAULTY_SLEEP": "0.03"}
    server = Server(tmp_path_factory.mktemp(f"live-{request.param}"), env=env, kind=request.param).start()
    yield server
    server.stop()


def test_every_generation_arrives_once_in_order_across_a_disconnect(server):
    run_id = server.post("/api/runs", json=run_config(generations=30, slow=True)).json()["id"]
    watcher = Watcher(server, run_id)
    watcher.connect()
    while len(watcher.seen) < 2:
        time.sleep(0.01)
    watcher.disconnect()  # forced: generations go on without us
    while server.get(f"/api/runs/{run_id}").json()["generation"] < len(watcher.seen) + 2:
        time.sleep(0.01)
    watcher.connect()
    server.wait_for(run_id, ("completed",))
    deadline = time.monotonic() + 30  # the event may trail the REST read on a busy machine
    while watcher.statuses[-1] != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    watcher.disconnect()
    assert watcher.seen == list(range(1, 31))
    assert watcher.statuses[-1] == "completed", watcher.statuses


def test_subscribe_to_an_unknown_run_is_refused(server):
    client = socketio.Client(reconnection=False)
    client.connect(server.url, transports=["websocket"])
    try:
        assert "no run" in client.call("subscribe", {"run_id": 424242}, timeout=10)["error"]
        assert "error" in client.call("subscribe", "nonsense", timeout=10)
    finally:
        client.disconnect()


def test_socketio_refuses_other_origins(server):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, transports=["websocket"], headers={"Origin": "http://evil.example"})


@pytest.mark.parametrize("kind", SERVERS)
def test_killed_server_restarts_and_the_run_resumes_to_the_same_result(tmp_path, kind):
    env = {**PLUGIN_ENV, "FAULTY_SLEEP": "0.02"}
    doc = run_config(generations=10, slow=True)
    reference_server = Server(tmp_path / "reference", env=env, kind=kind).start()
    try:
        ref_id = reference_server.post("/api/runs", json=doc).json()["id"]
        reference_server.wait_for(ref_id, ("completed",))
        reference = reference_server.get(f"/api/runs/{ref_id}/elite").json()
        reference_generations = reference_server.get(f"/api/runs/{ref_id}/generations").json()
    finally:
        reference_server.stop()

    server = Server(tmp_path / "killed", env=env, kind=kind).start()
    run_id = server.post("/api/runs", json=doc).json()["id"]
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 2:
        time.sleep(0.01)
    server.kill()  # the server, its run process and the workers, all at once
    server = Server(tmp_path / "killed", port=server.port, env=env, kind=kind).start()
    try:
        status = server.get(f"/api/runs/{run_id}").json()
        assert status["state"] == "interrupted" and status["generation"] >= 2
        assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
        server.wait_for(run_id, ("completed",))
        generations = server.get(f"/api/runs/{run_id}/generations").json()
        assert [g["generation"] for g in generations] == list(range(1, 11))
        strip = lambda g: {k: v for k, v in g.items() if k not in ("seconds", "elapsed_seconds", "evals_per_second",  # noqa: E731
                                                                    "eta_seconds", "replay", "completed_at")}  # fmt: skip
        assert [strip(g) for g in generations] == [strip(g) for g in reference_generations]
        assert server.get(f"/api/runs/{run_id}/elite").json() == reference
    finally:
        server.stop()


@contextlib.contextmanager
def calls_to(*functions: Callable) -> Iterator[list[str]]:
    """The names of the calls made to ``functions`` while inside, in this thread and
    those started meanwhile: a profile hook sees every frame of their code, however
    the caller reached them (a patched module attribute misses a name imported
    before, as ``engine.py`` imports ``simulate`` and ``compute_stats``)."""
    codes = {function.__code__: function.__qualname__ for function in functions}
    seen: list[str] = []

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            seen.append(codes[frame.f_code])

    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        yield seen
    finally:
        sys.setprofile(previous)
        threading.setprofile(previous_threads)


def test_reads_never_call_the_engine(tmp_path):
    """The real app in this process (runs in their own processes): once the results
    are stored, every page and read answers without a single call into the
    engine's signals, simulation or statistics."""
    from optimizer.backtest import simulate
    from optimizer.engine import Engine, warm_up_kernels
    from optimizer.signals import compute_signal
    from optimizer.stats import compute_stats
    from visualization_apps import create_app

    engine = (Engine.__init__, Engine.backtest, Engine.evaluate, compute_signal, simulate, compute_stats)
    with calls_to(*engine) as seen:  # the guard sees calls made through the engine's own imports
        warm_up_kernels()
    assert seen == ["simulate", "compute_stats"]
    from optimizer import robustness  # issue 15: computed by the run, never by a read

    engine += (robustness.pbo_from_blocks, robustness.deflated_sharpe_ratio, robustness.probabilistic_sharpe_ratio,
               robustness.monte_carlo, robustness.min_track_record_length)
    app = create_app({"DATA_DIR": str(tmp_path)})
    app.extensions["dashboard"].manager.start()
    client = app.test_client()
    try:
        run_id = client.post("/api/runs", json=run_config(generations=2)).get_json()["id"]
        deadline = time.monotonic() + 120
        while client.get(f"/api/runs/{run_id}").get_json()["state"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        with calls_to(*engine) as seen:
            elite = client.get(f"/api/runs/{run_id}/elite").get_json()
            iid = elite[0]["id"]
            paths = ["/api/runs", f"/api/runs/{run_id}", f"/api/runs/{run_id}/generations?after=0",
                     f"/api/runs/{run_id}/elite", f"/api/runs/{run_id}/individuals/{iid}", "/api/datasets",
                     f"/api/runs/{run_id}/robustness", f"/api/runs/{run_id}?fields=summary",
                     "/api/openapi.json", "/api/health", "/api/schema/config", f"/api/runs/{run_id}/config",
                     f"/api/runs/{run_id}/export.json", f"/api/runs/{run_id}/export.csv",
                     f"/api/runs/{run_id}/individuals/{iid}/config", "/api/datasets/EURUSD-1h/candles",
                     "/", "/runs/new", f"/runs/{run_id}", f"/runs/{run_id}/individuals/{iid}"]  # fmt: skip
            for path in paths:
                response = client.get(path)
                assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert seen == [], f"reads called the engine: {seen}"
        assert elite[0]["trades"]
    finally:
        app.extensions["dashboard"].manager.close()
