"""Socket.IO: the handlers clients call. The rooms they join and the publisher
the run manager calls are in `visualization_apps.live_rooms`.

``subscribe`` ``{"run_id": N[, "after": G][, "batch": true]}`` joins the run's
room and first sends this client the stored generations after G (none without
``after``), then what was published meanwhile, so that it receives every
generation once, in order (see `live_rooms.Live`). With ``batch``, the
generations come as ``generations`` events (lists of summaries, in order: the
catch-up's in batches of up to 256, the live ones as the run manager forwarded
them) instead of a ``generation`` event each. No client can delay another: the
catch-up reads the database and sends outside the lock the publishers take, each
connection catches up on one run at a time and follows at most
`live_rooms.MAX_SUBSCRIPTIONS` runs (more subscribes are answered with an error
acknowledgement), and the handlers of a client that went away end quietly.
Socket.IO delivers at most once: a client that reconnects subscribes again with
the last generation it has.

Every event is validated: a bad message, or an unknown event, is answered with an
error acknowledgement ``{"error": ..., "details": [...]}``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room, leave_room

from visualization_apps import socket_log
from visualization_apps.bounded_json import MAX_ID
from visualization_apps.event_packets import GenerationPackets
from visualization_apps.live_rooms import Live, error_answer
from visualization_apps.storage import Store

log = logging.getLogger(__name__)
SUBSCRIBE_KEYS = frozenset({"run_id", "after", "batch", "runs"})
UNSUBSCRIBE_KEYS = frozenset({"run_id", "runs"})


def _count(message: dict[str, Any], key: str, required: bool) -> int | dict[str, Any] | None:
    """``message[key]`` as an id or generation count (0..2^63-1), or an error answer."""
    if key not in message:
        return error_answer(f"{key} is required", f"{key}: give an integer") if required else None
    value = message[key]
    if isinstance(value, bool) or not isinstance(value, int):
        return error_answer(f"invalid {key}", f"{key}: must be an integer, not {type(value).__name__}")
    if not 0 <= value <= MAX_ID:
        return error_answer(f"invalid {key}", f"{key}: {value} is outside 0..{MAX_ID}")
    return value


def _refused(event: str, message: Any, extra: tuple[Any, ...], keys: frozenset[str], usage: str) -> dict[str, Any] | None:
    """The error answer to a message ``event`` does not take (more than one
    argument, not an object, fields not in ``keys``, ``runs`` not true alone), or
    None: the rest is the handler's to check."""
    if extra:
        return error_answer(f"{event} takes one message", f"{len(extra)} more arguments given")
    if not isinstance(message, dict):
        return error_answer(f"{event} takes {usage}")
    unknown = sorted(str(k)[:40] for k in message if k not in keys)
    if unknown:
        return error_answer("unknown fields", *(f"{k}: not one of {', '.join(sorted(keys))}" for k in unknown))
    if "runs" in message and (message["runs"] is not True or len(message) > 1):
        return error_answer("invalid runs", "runs: must be true, alone")
    return None


def register_events(socketio: SocketIO, store: Store) -> None:
    """The handlers of ``subscribe``, ``unsubscribe``, unknown events and errors."""
    socket_log.install()  # an undecodable packet: one line in the log, not a traceback
    live: Live = getattr(socketio, "dashboard_live", None) or Live(socketio)
    live.packets = GenerationPackets(store)

    @socketio.on("subscribe")
    def subscribe(message: Any = None, *extra: Any) -> dict[str, Any]:
        """Join a run's room (``{"run_id": N[, "after": G][, "batch": true]}``) or the runs list (``{"runs": true}``)."""
        refused = _refused("subscribe", message, extra, SUBSCRIBE_KEYS, "{run_id[, after][, batch]} or {runs: true}")
        if refused is not None:
            return refused
        if "runs" in message:
            join_room("runs")
            return {"ok": True}
        run_id = _count(message, "run_id", required=True)
        after = _count(message, "after", required=False)
        for checked in (run_id, after):
            if isinstance(checked, dict):
                return checked
        batch = message.get("batch", False)
        if not isinstance(batch, bool):
            return error_answer("invalid batch", f"batch: must be true or false, not {type(batch).__name__}")
        assert isinstance(run_id, int)
        sid: str = request.sid  # type: ignore[attr-defined]
        refused = live.refusal(run_id, sid)  # before reading anything: a flood costs nothing
        if refused is not None:
            return refused
        run = store.run(run_id)
        if run is None:
            return error_answer(f"no run {run_id}")
        refused = live.subscribe(run_id, after, sid, batch)
        return refused or {"ok": True, "run": run}

    @socketio.on("unsubscribe")
    def unsubscribe(message: Any = None, *extra: Any) -> dict[str, Any]:
        """Leave a run's room (``{"run_id": N}``) or the runs list (``{"runs": true}``)."""
        refused = _refused("unsubscribe", message, extra, UNSUBSCRIBE_KEYS, "{run_id} or {runs: true}")
        if refused is not None:
            return refused
        if "runs" in message:
            leave_room("runs")
            return {"ok": True}
        run_id = _count(message, "run_id", required=True)
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
        return error_answer("unknown event", f"{str(event)[:40]}: the events are subscribe and unsubscribe")

    @socketio.on_error_default
    def failed(exc: Exception) -> dict[str, Any]:  # pragma: no cover - a bug; never a traceback
        if not live._connected(request.sid):  # type: ignore[attr-defined]
            log.debug("a handler of a client that went away ended: %r", exc)
            return error_answer("disconnected")
        log.exception("Socket.IO handler failed")
        return error_answer("internal error")
