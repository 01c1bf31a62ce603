"""Socket.IO: the handlers clients call and the publisher the run manager calls.

Rooms: ``run:<id>`` receives a run's ``generation`` and ``run_status`` events,
``runs`` every run's ``run_status`` (the runs list). Socket.IO delivers at most
once: clients read what they missed over REST after (re)subscribing.
"""

from __future__ import annotations

from typing import Any

from flask_socketio import SocketIO, join_room, leave_room

from visualization_apps.run_manager import Publish
from visualization_apps.storage import Store


def publisher(socketio: SocketIO) -> Publish:
    """``publish(event, payload, run_id)``: to the run's room, and a status to the runs list too."""

    def publish(event: str, payload: dict[str, Any], run_id: int) -> None:
        socketio.emit(event, payload, to=f"run:{run_id}")
        if event == "run_status":
            socketio.emit(event, payload, to="runs")

    return publish


def register_events(socketio: SocketIO, store: Store) -> None:
    """The handlers of ``subscribe`` and ``unsubscribe``."""

    @socketio.on("subscribe")
    def subscribe(message: Any) -> dict[str, Any]:
        """Join a run's room (``{"run_id": N}``) or the runs list (``{"runs": true}``)."""
        if not isinstance(message, dict):
            return {"error": "subscribe takes {run_id} or {runs: true}"}
        if message.get("runs"):
            join_room("runs")
            return {"ok": True}
        run_id = message.get("run_id")
        run = store.run(run_id) if isinstance(run_id, int) else None
        if run is None:
            return {"error": f"no run {run_id!r}"}
        join_room(f"run:{run_id}")
        return {"ok": True, "run": run}

    @socketio.on("unsubscribe")
    def unsubscribe(message: Any) -> dict[str, Any]:
        """Leave a run's room (``{"run_id": N}``)."""
        if isinstance(message, dict) and isinstance(message.get("run_id"), int):
            leave_room(f"run:{message['run_id']}")
        return {"ok": True}
