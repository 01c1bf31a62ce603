"""Socket.IO: the handlers clients call and the publisher the run manager calls.

Rooms: ``run:<id>`` receives a run's ``generation`` and ``run_status`` events,
``runs`` every run's ``run_status`` (the runs list). Each event is emitted once to
its room (encoded once, whatever the number of clients); nothing is read from the
database per client.

``subscribe`` ``{"run_id": N, "after": G}`` joins the run's room and first sends
this client the generations after G that were already published (none without
``after``), so that it receives every generation once, in order: the catch-up and
the room's events are sent under one lock, and a generation the catch-up sent is
skipped for this client when it is published. Socket.IO delivers at most once:
a client that reconnects subscribes again with the last generation it has.

Every event is validated: a bad message, or an unknown event, is answered with an
error acknowledgement ``{"error": ..., "details": [...]}``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room, leave_room

from visualization_apps.run_manager import Publish
from visualization_apps.storage import Store

log = logging.getLogger(__name__)
MAX_ID = 2**63 - 1  # SQLite's integers
SUBSCRIBE_KEYS = frozenset({"run_id", "after", "runs"})


class Live:
    """What the publisher and the handlers share: the lock that orders catch-ups
    and publications, the last generation published per run, and the clients
    whose catch-up already sent a generation (``run -> sid -> generation``)."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio
        self.lock = threading.Lock()
        self.published: dict[int, int] = {}
        self.caught_up: dict[int, dict[str, int]] = {}

    def publish(self, event: str, payload: dict[str, Any], run_id: int) -> None:
        """To the run's room (once), and a status to the runs list too."""
        with self.lock:
            skip = None
            if event == "generation":
                generation = payload.get("generation", 0)
                self.published[run_id] = max(generation, self.published.get(run_id, 0))
                ahead = self.caught_up.get(run_id)
                if ahead:
                    skip = [sid for sid, upto in ahead.items() if upto >= generation] or None
                    for sid in [sid for sid, upto in ahead.items() if upto <= generation]:
                        del ahead[sid]
            self.socketio.emit(event, payload, to=f"run:{run_id}", skip_sid=skip)
        if event == "run_status":
            self.socketio.emit(event, payload, to="runs")

    def subscribe(self, store: Store, run_id: int, after: int | None, sid: str) -> None:
        """Send ``sid`` the published generations after ``after``, then join the room."""
        with self.lock:
            if after is not None:
                upto = self.published.get(run_id)
                missed = store.generations_after(run_id, after)
                if upto is not None:
                    missed = [g for g in missed if g["generation"] <= upto]
                for summary in missed:
                    self.socketio.emit("generation", summary, to=sid)
                if missed:
                    self.caught_up.setdefault(run_id, {})[sid] = missed[-1]["generation"]
            join_room(f"run:{run_id}", sid=sid)


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
    live: Live = getattr(socketio, "dashboard_live", None) or Live(socketio)

    @socketio.on("subscribe")
    def subscribe(message: Any = None) -> dict[str, Any]:
        """Join a run's room (``{"run_id": N[, "after": G]}``) or the runs list (``{"runs": true}``)."""
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
        run = store.run(run_id)
        if run is None:
            return _error(f"no run {run_id}")
        live.subscribe(store, run_id, after, request.sid)  # type: ignore[attr-defined]
        return {"ok": True, "run": run}

    @socketio.on("unsubscribe")
    def unsubscribe(message: Any = None) -> dict[str, Any]:
        """Leave a run's room (``{"run_id": N}``) or the runs list (``{"runs": true}``)."""
        if isinstance(message, dict) and message.get("runs") is True:
            leave_room("runs")
            return {"ok": True}
        run_id = _count(message, "run_id", required=True) if isinstance(message, dict) else _error("invalid message")
        if isinstance(run_id, dict):
            return run_id
        leave_room(f"run:{run_id}")
        return {"ok": True}

    @socketio.on("*")
    def unknown(event: Any, *args: Any) -> dict[str, Any]:
        return _error("unknown event", f"{str(event)[:40]}: the events are subscribe and unsubscribe")

    @socketio.on_error_default
    def failed(exc: Exception) -> dict[str, Any]:  # pragma: no cover - a bug; never a traceback
        log.exception("Socket.IO handler failed")
        return _error("internal error")
