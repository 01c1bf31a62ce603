"""Socket.IO events through a real server: every message validated with an error
acknowledgement, and ``subscribe`` with ``after`` sending what was missed."""

from __future__ import annotations

import json
import threading
import time

import pytest
import socketio

from tests.raw_socketio import RawSocketIO
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
    """A Socket.IO client that records the generations it receives (one by one, or
    in ``generations`` batches: ``batches`` holds each batch's size) in the order the
    server sent them: one thread reads the connection (`tests.raw_socketio`;
    python-socketio's client runs each event's handler in a thread of its own)."""

    def __init__(self, server: Server) -> None:
        self.generations: list[int] = []
        self.summaries: list[dict] = []
        self.batches: list[int] = []
        self.lock = threading.Lock()
        self.raw = RawSocketIO(server.port)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                packet = self.raw.read()
            except Exception:  # closed
                return
            if packet is None:
                continue
            event, data = json.loads(packet[2:])[:2]
            with self.lock:
                if event == "generation":
                    self.generations.append(data["generation"])
                    self.summaries.append(data)
                elif event == "generations":
                    self.batches.append(len(data))
                    self.generations += [s["generation"] for s in data]
                    self.summaries += data

    def call(self, event: str, data=None) -> dict:
        """Emit ``event`` (a tuple: several arguments; None: none) and wait for its acknowledgement."""
        args = data if isinstance(data, tuple) else () if data is None else (data,)
        number = self.raw.emit(event, *args)
        deadline = time.monotonic() + 10
        while number not in self.raw.acks:
            assert time.monotonic() < deadline and self.reader.is_alive(), f"{event} not acknowledged"
            time.sleep(0.005)
        return self.raw.acks[number]

    def close(self) -> None:
        self.raw.close()
        self.reader.join(timeout=10)


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
    ("batch not a boolean", "subscribe", {"run_id": 1, "batch": 1}, "invalid batch"),
    ("unsubscribe nonsense", "unsubscribe", [1], "unsubscribe takes"),
    ("unsubscribe run_id true", "unsubscribe", {"run_id": True}, "invalid run_id"),
    ("unsubscribe unknown field", "unsubscribe", {"run_id": 1, "after": 3}, "unknown fields"),
    ("unsubscribe runs not true", "unsubscribe", {"runs": 1}, "invalid runs"),
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


def _until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_batched_and_plain_clients_get_every_generation_once_in_order(server):
    """A fast run, watched from its second generation by a client taking batches and
    one taking a generation event each (both catching up with ``after: 0``): the same
    generations, once each, in order, decoding to what GET /generations answers; the
    batched one got fewer events than generations (a run faster than the forwarding
    interval has its generations published together)."""
    generations = 60
    run_id = server.post("/api/runs", json=run_config(generations=generations)).json()["id"]
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 2:
        time.sleep(0.01)
    batched, plain = Client(server), Client(server)
    try:
        assert batched.call("subscribe", {"run_id": run_id, "after": 0, "batch": True})["ok"]
        assert plain.call("subscribe", {"run_id": run_id, "after": 0})["ok"]
        server.wait_for(run_id, ("completed",))
        _until(lambda: len(batched.generations) >= generations and len(plain.generations) >= generations)
        time.sleep(0.3)  # nothing more may come
    finally:
        batched.close()
        plain.close()
    assert batched.generations == plain.generations == list(range(1, generations + 1))
    assert plain.batches == [] and 1 <= len(batched.batches) < generations, batched.batches
    stored = server.get(f"/api/runs/{run_id}/generations?after=0").json()
    assert batched.summaries == plain.summaries == stored


def test_subscribing_again_with_batch_moves_the_client_to_batches(server):
    """One connection is in one of a run's two rooms: subscribing again with the
    other ``batch`` moves it (no generation twice), and unsubscribe leaves both."""
    run_id = server.post("/api/runs", json=run_config(generations=8, slow=True)).json()["id"]
    server.wait_for(run_id, ("running",))
    client = Client(server)
    try:
        assert client.call("subscribe", {"run_id": run_id})["ok"]
        assert client.call("subscribe", {"run_id": run_id, "batch": True})["ok"]
        with client.lock:  # those published before the move arrived before its acknowledgement
            one_by_one = len(client.generations)
        _until(lambda: len(client.generations) >= 2, 60)
        assert client.call("unsubscribe", {"run_id": run_id})["ok"]
        with client.lock:
            seen = list(client.generations)
        server.wait_for(run_id, ("completed",))
        time.sleep(0.5)
        assert client.generations == seen  # nothing after leaving
    finally:
        client.close()
    assert seen == sorted(set(seen)) and len(seen) >= 2, seen
    assert len(client.batches) >= 1 and sum(client.batches) == len(seen) - one_by_one  # then in batches


def test_a_stopped_and_resumed_run_tells_each_generation_once(server):
    """A resume starts from the checkpoint's last generation, told again by the run
    (a replay): stored once, and its watchers, batched or not, get it once too."""
    generations = 8
    run_id = server.post("/api/runs", json=run_config(generations=generations, slow=True)).json()["id"]
    batched, plain = Client(server), Client(server)
    try:
        assert batched.call("subscribe", {"run_id": run_id, "after": 0, "batch": True})["ok"]
        assert plain.call("subscribe", {"run_id": run_id, "after": 0})["ok"]
        while server.get(f"/api/runs/{run_id}").json()["generation"] < 2:
            time.sleep(0.02)
        assert server.post(f"/api/runs/{run_id}/stop").status_code == 202
        server.wait_for(run_id, ("stopped",))
        stopped_at = server.get(f"/api/runs/{run_id}").json()["generation"]
        _until(lambda: len(batched.generations) >= stopped_at and len(plain.generations) >= stopped_at)
        assert server.post(f"/api/runs/{run_id}/resume").status_code == 202
        server.wait_for(run_id, ("completed",), timeout=120)
        _until(lambda: len(batched.generations) >= generations and len(plain.generations) >= generations)
        time.sleep(0.5)  # a repeated one would come now
    finally:
        batched.close()
        plain.close()
    assert stopped_at < generations, "the run ended before it was stopped"
    assert batched.generations == plain.generations == list(range(1, generations + 1))
    assert batched.summaries == plain.summaries == server.get(f"/api/runs/{run_id}/generations?after=0").json()


def test_subscribe_after_a_generation_still_to_come_skips_the_live_ones_up_to_it(server):
    """``after`` says what the client has, also ahead of what is stored: the live
    generations up to it are not sent (batched or not), those after it are."""
    generations = 8
    run_id = server.post("/api/runs", json=run_config(generations=generations, slow=True)).json()["id"]
    while server.get(f"/api/runs/{run_id}").json()["generation"] < 1:
        time.sleep(0.02)
    after = server.get(f"/api/runs/{run_id}").json()["generation"] + 2
    batched, plain = Client(server), Client(server)
    try:
        assert batched.call("subscribe", {"run_id": run_id, "after": after, "batch": True})["ok"]
        assert plain.call("subscribe", {"run_id": run_id, "after": after})["ok"]
        server.wait_for(run_id, ("completed",))
        _until(lambda: len(batched.generations) >= generations - after and len(plain.generations) >= generations - after)
        time.sleep(0.3)
    finally:
        batched.close()
        plain.close()
    assert after < generations
    assert batched.generations == plain.generations == list(range(after + 1, generations + 1))
