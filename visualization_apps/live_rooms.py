"""Who follows which run, and the emits to the runs' rooms: the state the
Socket.IO handlers (`visualization_apps.events`) and the run manager's publisher
share.

Rooms: ``run:<id>`` receives a run's ``generation`` and ``run_status`` events;
``run:<id>:batch`` the same, with the generations published together (the run
manager forwards a run's pipe at most every `run_manager.FORWARD_INTERVAL`) as
one ``generations`` event, a list of summaries in order: a client that asks for
it wakes once per batch rather than per generation, and so does the server's
writer thread for it. A connection
is in one of the two for a run, never both. ``runs`` receives every run's
``run_status`` (the runs list). Each event is encoded once, whatever the number of
clients it goes to, live or in a catch-up (`visualization_apps.event_packets`)."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from engineio.packet import Packet
from flask_socketio import SocketIO

from visualization_apps.event_packets import GenerationPackets, encoded, send
from visualization_apps.run_status_board import Publish

MAX_SUBSCRIPTIONS = 16
"""Runs one connection may follow at once; more subscribes are refused."""


@dataclass
class Follower:
    """One connection: the runs it follows, the run it is catching up on (one at
    a time) and the events published for that run meanwhile, sent after it."""

    runs: set[int] = field(default_factory=set)
    batched: set[int] = field(default_factory=set)  # the runs it follows in batches (``generations``)
    replaying: int | None = None
    pending: list[Pending] = field(default_factory=list)


@dataclass(frozen=True)
class Pending:
    """An event to send: the generations it carries, in order (none: a status),
    its packet, and for a batch its summaries (to send only the part a client
    has not had yet)."""

    generations: tuple[int, ...]
    packet: Packet
    summaries: tuple[dict[str, Any], ...] = ()

    def after(self, last: int) -> Packet | None:
        """The packet for a client that has every generation up to ``last``: this
        one, the batch's newer part, or None (nothing new)."""
        if not self.generations or self.generations[0] > last:
            return self.packet
        if self.generations[-1] <= last:
            return None
        newer = [s for g, s in zip(self.generations, self.summaries, strict=True) if g > last]
        return encoded("generations", newer) if newer else None


class Live:
    """What the publisher and the handlers share. ``lock`` guards only this
    bookkeeping and the room emits (which queue and return): no database read
    and no per-client send happens under it, so a client catching up never
    delays a publisher (the run manager, the REST routes' ``run_status``). It is
    re-entrant: a room emit may disconnect a client, whose handler takes it again.

    A client catching up on run R is in R's room but skipped by its emits: what
    is published meanwhile waits in its ``pending`` list, sent once the stored
    generations are; ``caught_up`` (``run -> sid -> generation``) then skips a
    generation the catch-up already sent (stored before it was published), or
    one up to the subscribe's ``after`` (the client has it)."""

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
        """To the run's rooms (each once), and a status to the runs list too.
        ``generations`` (``{"generations": [summary, ...]}``, in order) goes to the
        batch room as one event and to the other as a ``generation`` each. A run
        queued again (resumed) may write its stored generations again: the packets
        kept of them are dropped."""
        if event == "run_status" and payload.get("state") == "queued" and self.packets is not None:
            self.packets.forget(run_id)
        with self.lock:
            if event == "generations":
                summaries = payload["generations"]
                for summary in summaries:
                    self._emit_generation(summary, run_id)
                self._emit_batch(summaries, run_id)
            else:
                self._emit_other(event, payload, run_id)
        if event == "run_status":
            self.socketio.emit(event, payload, to="runs")

    def _emit_generation(self, summary: dict[str, Any], run_id: int) -> None:
        """One generation to the run's room (under the lock); held back for its
        clients catching up, skipped for those whose catch-up sent it."""
        generation = summary.get("generation", 0)
        skip = {sid for sid in self.replaying.get(run_id, ()) if run_id not in self.followers[sid].batched}
        if skip:
            item = Pending((generation,), encoded("generation", summary))  # once for every client catching up
            for sid in skip:
                self.followers[sid].pending.append(item)
        skip |= self._ahead(run_id, [generation], batched=False)
        self._emit_to("generation", summary, f"run:{run_id}", skip)

    def _emit_batch(self, summaries: list[dict[str, Any]], run_id: int) -> None:
        """Generations to the run's batch room as one ``generations`` event (under
        the lock): held back for its clients catching up; a client whose catch-up
        sent some of them gets the rest alone."""
        room = f"run:{run_id}:batch"
        if not self._members(room):
            return
        generations = tuple(s.get("generation", 0) for s in summaries)
        skip = {sid for sid in self.replaying.get(run_id, ()) if run_id in self.followers[sid].batched}
        ahead = dict(self.caught_up.get(run_id, {}))  # before _ahead forgets any
        overlapping = self._ahead(run_id, list(generations), batched=True)
        if skip or overlapping:  # encoded here only for them: the room's emit encodes its own
            item = Pending(generations, encoded("generations", summaries), tuple(summaries))
            for sid in skip:
                self.followers[sid].pending.append(item)
            for sid in overlapping:
                packet = item.after(ahead[sid])
                if packet is not None:
                    send(self.socketio, sid, packet)
        skip |= overlapping
        self._emit_to("generations", summaries, room, skip)

    def _ahead(self, run_id: int, generations: list[int], *, batched: bool) -> set[str]:
        """The clients (plain, or ``batched``) whose catch-up sent the first of
        ``generations`` already; those it sent no further than the last of them
        are forgotten (from then on the room's events are theirs)."""
        ahead = self.caught_up.get(run_id)
        if not ahead or not generations:
            return set()
        found = set()
        for sid, upto in list(ahead.items()):
            follower = self.followers.get(sid)
            if follower is None or (run_id in follower.batched) != batched:
                continue
            if upto >= generations[0]:
                found.add(sid)
            if upto <= generations[-1]:
                del ahead[sid]
        if not ahead:
            self.caught_up.pop(run_id, None)
        return found

    def _emit_other(self, event: str, payload: dict[str, Any], run_id: int) -> None:
        """A status to both of the run's rooms (under the lock), after what was
        held back for the clients catching up."""
        skip = set(self.replaying.get(run_id, ()))
        if skip:
            item = Pending((), encoded(event, payload))
            for sid in skip:
                self.followers[sid].pending.append(item)
        for room in (f"run:{run_id}", f"run:{run_id}:batch"):
            self._emit_to(event, payload, room, skip)

    def _members(self, room: str) -> bool:
        """Whether ``room`` has anyone in it (python-socketio encodes an event
        before it looks for the room's members)."""
        return bool(self.socketio.server.manager.rooms.get("/", {}).get(room))

    def _emit_to(self, event: str, payload: Any, room: str, skip: set[str]) -> None:
        """``event`` to ``room`` but the clients in ``skip``, if anyone is in it."""
        if self._members(room):
            self.socketio.emit(event, payload, to=room, skip_sid=sorted(skip) or None)

    def subscribe(self, run_id: int, after: int | None, sid: str, batch: bool = False) -> dict[str, Any] | None:
        """Join ``sid`` to the run's room and, with ``after``, first send it the
        stored generations after ``after`` (then what was published meanwhile):
        every generation once, in order. An error answer if refused (a catch-up
        of this client in progress, too many runs followed); None once done, or
        when the client went away meanwhile (nothing more is sent). ``batch``: in
        the run's batch room (``generations`` events, the catch-up too) instead."""
        with self.lock:
            if not self._connected(sid):
                return None
            follower = self.followers.setdefault(sid, Follower())
            refused = self._refusal(follower, run_id)
            if refused is not None:
                return refused
            rooms = [f"run:{run_id}", f"run:{run_id}:batch"]
            if not self._join(rooms[batch], sid):
                return None
            with contextlib.suppress(KeyError, ValueError):  # never in both: each generation once
                self.socketio.server.leave_room(sid, rooms[not batch], namespace="/")
            follower.runs.add(run_id)
            (follower.batched.add if batch else follower.batched.discard)(run_id)
            self._discard(self.caught_up, run_id, sid)  # what an earlier subscribe had sent counts no more
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
            return error_answer("a catch-up is in progress", f"run_id {follower.replaying}: wait for its "
                          "acknowledgement before subscribing again")  # fmt: skip
        if run_id not in follower.runs and len(follower.runs) >= MAX_SUBSCRIPTIONS:
            return error_answer("too many subscriptions", f"at most {MAX_SUBSCRIPTIONS} runs per connection: "
                          "unsubscribe from one first")  # fmt: skip
        return None

    def unsubscribe(self, run_id: int, sid: str) -> None:
        """Leave the run's room (quietly if the client is gone)."""
        with self.lock:
            follower = self.followers.get(sid)
            if follower is not None:
                follower.runs.discard(run_id)
                follower.batched.discard(run_id)
            self._discard(self.caught_up, run_id, sid)
            for room in (f"run:{run_id}", f"run:{run_id}:batch"):
                with contextlib.suppress(KeyError, ValueError):  # the client went away meanwhile
                    self.socketio.server.leave_room(sid, room, namespace="/")

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
        Every packet is encoded already: sending is queueing it for the client's
        writer. A batched follower gets the stored ones in `GenerationPackets.batches`."""
        assert self.packets is not None
        last = after
        if run_id in follower.batched:  # the batches every client catching up shares
            batch = [Pending(g, p) for g, p in self.packets.batches(run_id, after)]
        else:
            batch = [Pending((g,), p) for g, p in self.packets.after(run_id, after)]
        while True:
            for item in batch:
                packet = item.after(last)
                if item.generations:
                    last = max(last, item.generations[-1])
                if packet is not None and not send(self.socketio, sid, packet):
                    return
            with self.lock:
                batch, follower.pending = follower.pending, []
                if not batch:
                    self._discard(self.replaying, run_id, sid)
                    if last and sid in self.followers:  # what it has: sent now, or its after
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


def error_answer(error: str, *details: str) -> dict[str, Any]:
    """An error acknowledgement: ``{"error": ..., "details": [...]}``."""
    return {"error": error, "details": list(details)}
