"""Socket.IO: the handlers clients call and the publisher the run manager calls.

Rooms: ``run:<id>`` receives a run's ``generation`` and ``run_status`` events,
``runs`` every run's ``run_status`` (the runs list). Each event is encoded once,
whatever the number of clients it goes to, live or in a catch-up
(`visualization_apps.event_packets`); stored generations are read from the
database once for all the clients catching up on a run, not once per client.

``subscribe`` ``{"run_id": N, "after": G}`` joins the run's room and first sends
this client the stored generations after G (none without ``after``), then what
was published meanwhile, so that it receives every generation once, in order
(see `Live`). No client can delay another: the catch-up reads the database and
sends outside the lock the publishers take, each connection catches up on one
run at a time and follows at most `MAX_SUBSCRIPTIONS` runs (more subscribes are
answered with an error acknowledgement), and the handlers of a client that went
away end quietly. Socket.IO delivers at most once: a client that reconnects
subscribes again with the last generation it has.

Every event is validated: a bad message, or an unknown event, is answered with an
error acknowledgement ``{"error": ..., "details": [...]}``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from engineio.packet import Packet
from flask import request
from flask_socketio import SocketIO, join_room, leave_room

from visualization_apps import socket_log
from visualization_apps.bounded_json import MAX_ID
from visualization_apps.event_packets import GenerationPackets, encoded, send
from visualization_apps.run_status_board import Publish
from visualization_apps.storage import Store

log = logging.getLogger(__name__)
SUBSCRIBE_KEYS = frozenset({"run_id", "after", "runs"})


MAX_SUBSCRIPTIONS = 16
"""Runs one connection may follow at once; more subscribes are refused."""


@dataclass
class Follower:
    """One connection: the runs it follows, the run it is catching up on (one at
    a time) and the events published for that run meanwhile, sent after it."""

    runs: set[int] = field(default_factory=set)
    replaying: int | None = None
    pending: list[tuple[int | None, Packet]] = field(default_factory=list)  # (its generation, if one; the event)


class Live:
    """What the publisher and the handlers share. ``lock`` guards only this
    bookkeeping and the room emits (which queue and return): no database read
    and no per-client send happens under it, so a client catching up never
    delays a publisher (the run manager, the REST routes' ``run_status``). It is
    re-entrant: a room emit may disconnect a client, whose handler takes it again.

    A client catching up on run R is in R's room but skipped by its emits: what
    is published meanwhile waits in its ``pending`` list, sent once the stored
    generations are; ``caught_up`` (``run -> sid -> generation``) then skips a
    generation the catch-up already sent (stored before it was published)."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio
        self.packets: GenerationPackets | None = None  # set by register_events (it has the store)
        # Re-entrant: Engine.IO closes a client that missed its pong when an event
        # is sent to it, and runs the disconnect handler (`forget`, which takes this
        # lock) right there, in the thread sending - inside `publish`'s room emit.
        # A plain lock wedged the publisher, then every catch-up and run action.
        self.lock = threading.RLock()
        self.followers: dict[str, Follower] = {}
        self.replaying: dict[int, set[str]] = {}
        self.caught_up: dict[int, dict[str, int]] = {}

    def publish(self, event: str, payload: dict[str, Any], run_id: int) -> None:
        """To the run's room (once), and a status to the runs list too. A run
        queued again (resumed) may write its stored generations again: the packets
        kept of them are dropped."""
        if event == "run_status" and payload.get("state") == "queued" and self.packets is not None:
            self.packets.forget(run_id)
        with self.lock:
            skip = set(self.replaying.get(run_id, ()))
            if skip:
                generation = payload.get("generation", 0) if event == "generation" else None
                packet = encoded(event, payload)  # once for every client catching up
                for sid in skip:
                    self.followers[sid].pending.append((generation, packet))
            ahead = self.caught_up.get(run_id)
            if event == "generation" and ahead:
                generation = payload.get("generation", 0)
                skip.update(sid for sid, upto in ahead.items() if upto >= generation)
                for sid in [sid for sid, upto in ahead.items() if upto <= generation]:
                    del ahead[sid]
            self.socketio.emit(event, payload, to=f"run:{run_id}", skip_sid=sorted(skip) or None)
        if event == "run_status":
            self.socketio.emit(event, payload, to="runs")

    def subscribe(self, run_id: int, after: int | None, sid: str) -> dict[str, Any] | None:
        """Join ``sid`` to the run's room and, with ``after``, first send it the
        stored generations after ``after`` (then what was published meanwhile):
        every generation once, in order. An error answer if refused (a catch-up
        of this client in progress, too many runs followed); None once done, or
        when the client went away meanwhile (nothing more is sent)."""
        with self.lock:
            if not self._connected(sid):
                return None
            follower = self.followers.setdefault(sid, Follower())
            refused = self._refusal(follower, run_id)
            if refused is not None:
                return refused
            if not self._join(f"run:{run_id}", sid):
                return None
            follower.runs.add(run_id)
            if after is None:
                return None
            follower.replaying = run_id
            follower.pending = []
            self.replaying.setdefault(run_id, set()).add(sid)
        try:
            self._catch_up(run_id, after, sid, follower)
        finally:
            with self.lock:
                follower.replaying = None
                follower.pending = []
                self._discard(self.replaying, run_id, sid)
        return None

    def refusal(self, run_id: int, sid: str) -> dict[str, Any] | None:
        """The error answer a subscribe of ``sid`` to the run would get now (a
        cheap check before anything is read), or None."""
        with self.lock:
            follower = self.followers.get(sid)
            return None if follower is None else self._refusal(follower, run_id)

    @staticmethod
    def _refusal(follower: Follower, run_id: int) -> dict[str, Any] | None:
        if follower.replaying is not None:
            return _error("a catch-up is in progress", f"run_id {follower.replaying}: wait for its "
                          "acknowledgement before subscribing again")  # fmt: skip
        if run_id not in follower.runs and len(follower.runs) >= MAX_SUBSCRIPTIONS:
            return _error("too many subscriptions", f"at most {MAX_SUBSCRIPTIONS} runs per connection: "
                          "unsubscribe from one first")  # fmt: skip
        return None

    def unsubscribe(self, run_id: int, sid: str) -> None:
        """Leave the run's room (quietly if the client is gone)."""
        with self.lock:
            follower = self.followers.get(sid)
            if follower is not None:
                follower.runs.discard(run_id)
            with contextlib.suppress(KeyError, ValueError):  # the client went away meanwhile
                self.socketio.server.leave_room(sid, f"run:{run_id}", namespace="/")

    def forget(self, sid: str) -> None:
        """A client disconnected: drop what is kept for it."""
        with self.lock:
            self.followers.pop(sid, None)
            for table in (self.replaying, self.caught_up):
                for run_id in list(table):
                    self._discard(table, run_id, sid)

    def _catch_up(self, run_id: int, after: int, sid: str, follower: Follower) -> None:
        """Send the stored generations after ``after``, then the events published
        meanwhile, until none is left; then hand over to the room (under the lock).
        Every packet is encoded already: sending is queueing it for the client's writer."""
        assert self.packets is not None
        last = after
        batch: list[tuple[int | None, Packet]] = list(self.packets.after(run_id, after))
        while True:
            for generation, packet in batch:
                if generation is not None:
                    if generation <= last:
                        continue
                    last = generation
                if not send(self.socketio, sid, packet):
                    return
            with self.lock:
                batch, follower.pending = follower.pending, []
                if not batch:
                    self._discard(self.replaying, run_id, sid)
                    if last > after and sid in self.followers:
                        self.caught_up.setdefault(run_id, {})[sid] = last
                    return

    def _connected(self, sid: str) -> bool:
        return bool(self.socketio.server.manager.is_connected(sid, "/"))

    def _join(self, room: str, sid: str) -> bool:
        """Join ``room``; False if the client went away meanwhile."""
        try:
            self.socketio.server.enter_room(sid, room, namespace="/")
        except (KeyError, ValueError):  # disconnected between the check and the join
            return False
        return True

    @staticmethod
    def _discard(table: dict[int, Any], run_id: int, sid: str) -> None:
        members = table.get(run_id)
        if members is None:
            return
        if isinstance(members, set):
            members.discard(sid)
        else:
            members.pop(sid, None)
        if not members:
            del table[run_id]


def publisher(socketio: SocketIO) -> Publish:
    """``publish(event, payload, run_id)`` (see `Live.publish`); the state it
    shares with the handlers hangs on ``socketio``."""
    live = Live(socketio)
    socketio.dashboard_live = live  # type: ignore[attr-defined]
    return live.publish


def _error(error: str, *details: str) -> dict[str, Any]:
    return {"error": error, "details": list(details)}


def _count(message: dict[str, Any], key: str, required: bool) -> int | dict[str, Any] | None:
    """``message[key]`` as an id or generation count (0..2^63-1), or an error answer."""
    if key not in message:
        return _error(f"{key} is required", f"{key}: give an integer") if required else None
    value = message[key]
    if isinstance(value, bool) or not isinstance(value, int):
        return _error(f"invalid {key}", f"{key}: must be an integer, not {type(value).__name__}")
    if not 0 <= value <= MAX_ID:
        return _error(f"invalid {key}", f"{key}: {value} is outside 0..{MAX_ID}")
    return value


def register_events(socketio: SocketIO, store: Store) -> None:
    """The handlers of ``subscribe``, ``unsubscribe``, unknown events and errors."""
    socket_log.install()  # an undecodable packet: one line in the log, not a traceback
    live: Live = getattr(socketio, "dashboard_live", None) or Live(socketio)
    live.packets = GenerationPackets(store)

    @socketio.on("subscribe")
    def subscribe(message: Any = None, *extra: Any) -> dict[str, Any]:
        """Join a run's room (``{"run_id": N[, "after": G]}``) or the runs list (``{"runs": true}``)."""
        if extra:
            return _error("subscribe takes one message", f"{len(extra)} more arguments given")
        if not isinstance(message, dict):
            return _error("subscribe takes {run_id[, after]} or {runs: true}")
        unknown = sorted(str(k)[:40] for k in message if k not in SUBSCRIBE_KEYS)
        if unknown:
            return _error("unknown fields", *(f"{k}: not one of run_id, after, runs" for k in unknown))
        if "runs" in message:
            if message["runs"] is not True or len(message) > 1:
                return _error("invalid runs", "runs: must be true, alone")
            join_room("runs")
            return {"ok": True}
        run_id = _count(message, "run_id", required=True)
        after = _count(message, "after", required=False)
        for checked in (run_id, after):
            if isinstance(checked, dict):
                return checked
        assert isinstance(run_id, int)
        sid: str = request.sid  # type: ignore[attr-defined]
        refused = live.refusal(run_id, sid)  # before reading anything: a flood costs nothing
        if refused is not None:
            return refused
        run = store.run(run_id)
        if run is None:
            return _error(f"no run {run_id}")
        refused = live.subscribe(run_id, after, sid)
        return refused or {"ok": True, "run": run}

    @socketio.on("unsubscribe")
    def unsubscribe(message: Any = None, *extra: Any) -> dict[str, Any]:
        """Leave a run's room (``{"run_id": N}``) or the runs list (``{"runs": true}``)."""
        if extra:
            return _error("unsubscribe takes one message", f"{len(extra)} more arguments given")
        if isinstance(message, dict) and message.get("runs") is True:
            leave_room("runs")
            return {"ok": True}
        run_id = _count(message, "run_id", required=True) if isinstance(message, dict) else _error("invalid message")
        if isinstance(run_id, dict):
            return run_id
        assert isinstance(run_id, int)
        live.unsubscribe(run_id, request.sid)  # type: ignore[attr-defined]
        return {"ok": True}

    @socketio.on("disconnect")
    def disconnect(*_reason: Any) -> None:
        live.forget(request.sid)  # type: ignore[attr-defined]

    @socketio.on("*")
    def unknown(event: Any, *args: Any) -> dict[str, Any]:
        return _error("unknown event", f"{str(event)[:40]}: the events are subscribe and unsubscribe")

    @socketio.on_error_default
    def failed(exc: Exception) -> dict[str, Any]:  # pragma: no cover - a bug; never a traceback
        if not live._connected(request.sid):  # type: ignore[attr-defined]
            log.debug("a handler of a client that went away ended: %r", exc)
            return _error("disconnected")
        log.exception("Socket.IO handler failed")
        return _error("internal error")
