"""Socket.IO events encoded once (`visualization_apps.event_packets`), on a real
SQLite store: a catch-up's packets are the stored summaries as python-socketio
would send them, read once for every catch-up of a run, bounded in memory."""

from __future__ import annotations

import json
import threading

import pytest
from socketio.packet import Packet as SocketIOPacket

from tests.test_api import run_config
from visualization_apps.event_packets import GenerationPackets, encoded
from visualization_apps.storage import Store


def _event(generation: int) -> dict:
    """A generation as a run process sends it (two individuals)."""
    individuals = [{"id": 2 * generation + k, "params": {"fast": 5 + k, "slow": 30}, "trades": []} for k in range(2)]
    return {"generation": generation, "completed_at": 1000.0 + generation, "individuals": individuals,
            "population": [i["id"] for i in individuals], "elite": [individuals[0]["id"]],
            "objectives": [{"name": "sharpe", "best": 0.1 * generation}], "generations_total": 100,
            "total_evaluations": 2 * generation, "total_failed_evaluations": 0, "evals_per_second": 10.0,
            "eta_seconds": 5.0, "note": "é ✓ \u2028"}  # fmt: skip


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "dashboard.sqlite")


def _run_with(store: Store, generations: int) -> int:
    run_id = store.create_run(run_config(), "EURUSD-1h", {})
    for g in range(1, generations + 1):
        store.add_generation(run_id, _event(g), "fingerprint")
    return run_id


def _decoded(packet) -> list:
    """What a Socket.IO client decodes from the Engine.IO message: [event, payload]."""
    text = packet.encode()
    assert text.startswith("42")  # an Engine.IO message holding a Socket.IO event
    return SocketIOPacket(encoded_packet=text[1:]).data


def test_a_catch_up_sends_the_stored_summaries_as_python_socketio_would(store):
    run_id = _run_with(store, 5)
    packets = GenerationPackets(store)
    found = packets.after(run_id, 2)
    assert [g for g, _ in found] == [3, 4, 5]
    assert [_decoded(p) for _, p in found] == [["generation", s] for s in store.generations_after(run_id, 2)]
    live = store.generations_after(run_id, 4)[0]
    reference = SocketIOPacket(data=["generation", live]).encode()  # what emit() sends
    assert json.loads(encoded("generation", live).encode()[2:]) == json.loads(reference[1:])


def test_stored_generations_are_read_and_encoded_once_for_every_catch_up(store):
    run_id = _run_with(store, 4)
    packets = GenerationPackets(store)
    first = packets.after(run_id, 0)
    kept = packets.kept_bytes()
    assert kept > 0
    again = packets.after(run_id, 1)
    assert [id(p) for _, p in again] == [id(p) for _, p in first[1:]]  # the same packets, not encoded again
    assert packets.kept_bytes() == kept
    store.add_generation(run_id, _event(5), "fingerprint")
    later = packets.after(run_id, 3)
    assert [g for g, _ in later] == [4, 5] and later[0][1] is first[3][1]  # only generation 5 was read
    assert packets.kept_bytes() > kept


def test_simultaneous_catch_ups_all_get_every_generation_in_order(store):
    run_id = _run_with(store, 30)
    packets = GenerationPackets(store)
    results: list[list[int]] = []
    threads = [threading.Thread(target=lambda a=a: results.append([g for g, _ in packets.after(run_id, a)]))
               for a in [0] * 10 + [15] * 5]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted([list(range(1, 31))] * 10 + [list(range(16, 31))] * 5)


def test_what_is_kept_is_bounded_and_a_forgotten_run_is_read_again(store):
    one, two = _run_with(store, 3), _run_with(store, 3)
    packets = GenerationPackets(store)
    packets.after(one, 0)
    per_run = packets.kept_bytes()
    packets.max_bytes = per_run + per_run // 2  # room for one run only
    packets.after(two, 0)
    assert packets.kept_bytes() == per_run  # the least recent run went
    assert [g for g, _ in packets.after(one, 0)] == [1, 2, 3]  # read again
    packets.forget(one)
    assert packets.kept_bytes() == 0
    packets.max_bytes = 1  # smaller than any run: nothing kept, every catch-up still complete
    assert [g for g, _ in packets.after(two, 1)] == [2, 3]
    assert packets.kept_bytes() == 0


def test_batched_catch_ups_share_their_batches_and_carry_every_generation_once(store):
    run_id = _run_with(store, 10)
    packets = GenerationPackets(store, batch=4)
    first = packets.batches(run_id, 0)
    assert [g for g, _ in first] == [(1, 2, 3, 4), (5, 6, 7, 8), (9, 10)]
    stored = store.generations_after(run_id, 0)
    assert [_decoded(p) for _, p in first] == [["generations", stored[0:4]], ["generations", stored[4:8]],
                                               ["generations", stored[8:10]]]  # fmt: skip
    again = packets.batches(run_id, 0)
    assert [g for g, _ in again] == [g for g, _ in first]
    assert all(a is b for (_, a), (_, b) in zip(again, first, strict=True))  # the same packets
    inside = packets.batches(run_id, 6)  # after inside a batch: its newer part, then the shared ones
    assert [g for g, _ in inside] == [(7, 8), (9, 10)] and inside[1][1] is first[2][1]
    assert _decoded(inside[0][1]) == ["generations", stored[6:8]]
    kept = packets.kept_bytes()
    for g in (11, 12, 13):
        store.add_generation(run_id, _event(g), "fingerprint")
    later = packets.batches(run_id, 0)
    assert [g for g, _ in later] == [(1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13,)]
    assert later[1][1] is first[1][1] and later[2][1] is not first[2][1]  # the tail was completed: joined anew
    assert _decoded(later[3][1]) == ["generations", store.generations_after(run_id, 12)]
    assert packets.kept_bytes() > kept
    assert packets.batches(run_id, 13) == [] and packets.batches(run_id, 99) == []
    assert [g for g, _ in packets.after(run_id, 11)] == [12, 13]  # the per-generation packets are there too
