"""Socket.IO events through a real server: every message validated with an error
acknowledgement, and ``subscribe`` with ``after`` sending what was missed."""

from __future__ import annotations

import threading
import time

import pytest
import socketio

from tests.server import Server, module_server
from tests.test_api import PLUGIN_ENV, run_config

pytestmark = pytest.mark.slow  # a real server process, a real run and Socket.IO clients


server = module_server("events", env=PLUGIN_ENV)


@pytest.fixture(scope="module")
def finished(server):
    run_id = server.post("/api/runs", json=run_config(generations=4)).json()["id"]
    server.wait_for(run_id, ("completed",))
    return run_id


class Client:
    """A Socket.IO client that records the generations it receives."""

    def __init__(self, server: Server) -> None:
        self.generations: list[int] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("generation", self._generation)
        self.sio.connect(server.url, transports=["websocket"], wait_timeout=10)

    def _generation(self, summary: dict) -> None:
        with self.lock:
            self.generations.append(summary["generation"])

    def call(self, event: str, data=None) -> dict:
        return self.sio.call(event, data, timeout=10)

    def close(self) -> None:
        self.sio.disconnect()


BAD = [
    ("not an object", "subscribe", "nonsense", "subscribe takes"),
    ("nothing", "subscribe", None, "subscribe takes"),
    ("no run_id", "subscribe", {}, "run_id is required"),
    ("run_id true", "subscribe", {"run_id": True}, "invalid run_id"),
    ("run_id a string", "subscribe", {"run_id": "1"}, "invalid run_id"),
    ("run_id a float", "subscribe", {"run_id": 1.0}, "invalid run_id"),
    ("run_id huge", "subscribe", {"run_id": 2**64}, "invalid run_id"),
    ("run_id negative", "subscribe", {"run_id": -1}, "invalid run_id"),
    ("unknown run", "subscribe", {"run_id": 424242}, "no run 424242"),
    ("after negative", "subscribe", {"run_id": 1, "after": -1}, "invalid after"),
    ("after true", "subscribe", {"run_id": 1, "after": True}, "invalid after"),
    ("unknown field", "subscribe", {"run_id": 1, "room": "x"}, "unknown fields"),
    ("runs not true", "subscribe", {"runs": 1}, "invalid runs"),
    ("unsubscribe nonsense", "unsubscribe", [1], "invalid message"),
    ("unsubscribe run_id true", "unsubscribe", {"run_id": True}, "invalid run_id"),
    ("unknown event", "join", {"room": "run:1"}, "unknown event"),
    ("extra arguments", "subscribe", ({"run_id": 1}, 1, 2, 3), "subscribe takes one message"),  # a tuple: 4 args
    ("unsubscribe extra arguments", "unsubscribe", ({"run_id": 1}, 2), "unsubscribe takes one message"),
]


def test_every_bad_message_gets_an_error_acknowledgement(server, finished):
    client = Client(server)
    try:
        for name, event, data, message in BAD:
            answer = client.call(event, data)
            assert set(answer) == {"error", "details"}, (name, answer)
            assert message in answer["error"], (name, answer)
        assert client.call("subscribe", {"run_id": finished})["ok"]  # the connection survived them all
    finally:
        client.close()
    assert "Socket.IO handler failed" not in server.log.read_text()  # each one answered, none a traceback


def test_subscribe_after_sends_the_missed_generations_once_in_order(server, finished):
    client = Client(server)
    try:
        answer = client.call("subscribe", {"run_id": finished, "after": 1})
        assert answer["ok"] and answer["run"]["state"] == "completed"
        deadline = time.monotonic() + 10
        while len(client.generations) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.generations == [2, 3, 4]
    finally:
        client.close()
    client = Client(server)
    try:
        assert client.call("subscribe", {"run_id": finished})["ok"]  # without after: nothing replayed
        assert client.call("subscribe", {"run_id": finished, "after": 4})["ok"]
        time.sleep(0.5)
        assert client.generations == []
    finally:
        client.close()


def test_subscribing_after_during_a_run_gets_every_generation_once(server):
    run_id = server.post("/api/runs", json=run_config(generations=8, slow=True)).json()["id"]
    server.wait_for(run_id, ("running",))
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 2:
        time.sleep(0.02)
    client = Client(server)
    try:
        assert client.call("subscribe", {"run_id": run_id, "after": 0})["ok"]
        server.wait_for(run_id, ("completed",))
        deadline = time.monotonic() + 10
        while len(client.generations) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.generations == list(range(1, 9))
    finally:
        client.close()


def test_caught_up_and_live_generations_carry_the_json_of_the_rest_read(server):
    """The catch-up sends the stored text as it is, the live events go through
    python-socketio: both decode to what GET /generations answers (DESIGN's contract)."""
    run_id = server.post("/api/runs", json=run_config(generations=6, slow=True)).json()["id"]
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 2:
        time.sleep(0.02)
    summaries: list[dict] = []
    client = socketio.Client(reconnection=False)
    client.on("generation", summaries.append)
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    try:
        assert client.call("subscribe", {"run_id": run_id, "after": 0}, timeout=10)["ok"]
        server.wait_for(run_id, ("completed",))
        deadline = time.monotonic() + 10
        while len(summaries) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
    stored = server.get(f"/api/runs/{run_id}/generations?after=0").json()
    assert sorted(summaries, key=lambda s: s["generation"]) == stored
