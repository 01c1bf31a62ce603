"""What the dashboard knows of its Dask cluster: a snapshot read in the background.

A `ClusterMonitor` holds a Dask ``Client`` of the scheduler in a thread of its own,
which reads the scheduler's workers (address, cores, memory) and the tasks each is
processing every `REFRESH_SECONDS` while someone looks (a read in the last
`WATCHED_SECONDS`), and not at all otherwise. A request only ever reads the last
snapshot (`ClusterMonitor.snapshot`), so a slow or dead scheduler never holds a
page or an API answer.

A snapshot that is merely old (nobody looked for a while, so nothing was read) is
the last known state, marked ``refreshing`` while the read it asked for goes on;
it says ``unreachable`` only when a read failed (its reason, and when), or when a
read has had no answer for `STALE_SECONDS`.

Each read also asks every worker it has not asked yet, and the scheduler once per
scheduler, whether it can import the project (`import_failures`,
`scheduler_import_failure`: the answers are kept per worker): a worker that cannot
is listed with its reason, and is not counted among the workers a run can use.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from optimizer.evaluation.dask_cluster import import_failures, one_line, scheduler_import_failure

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
WATCHED_SECONDS = 30.0
CONNECT_SECONDS = 3.0
STALE_SECONDS = 10.0
"""A read without an answer for this long counts as failed: the scheduler does not answer (seconds)."""


class ClusterMonitor:
    """The cluster at ``address`` as last seen (see the module docstring)."""

    def __init__(self, address: str, *, refresh: float = REFRESH_SECONDS, connect: float = CONNECT_SECONDS) -> None:
        self.address = address
        self.refresh = refresh
        self.connect = connect
        self._client: Any = None
        self._snapshot: dict[str, Any] = {"state": "connecting", "error": None, "workers": [], "checked": None}
        self._lock = threading.Lock()
        self._read = threading.Condition(self._lock)  # notified at each new reading
        self._import_errors: dict[str, str | None] = {}  # worker -> why it cannot import the project (None: it can)
        self._scheduler: tuple[Any, str | None] = (None, None)  # the scheduler's id, why it cannot import the project
        self._wake = threading.Event()
        self._watched_until = 0.0
        self._reading_since: float | None = None  # time.time() of the read under way, if one is
        self._closed = False
        self._thread: threading.Thread | None = None

    def snapshot(self) -> dict[str, Any]:
        """The last reading, at once (the first read starts the monitor): ``scheduler``,
        ``state`` (``connecting``, ``connected``, ``unreachable``), ``error``,
        ``workers`` (each ``address``, ``name``, ``cores``, ``memory_limit_bytes``,
        ``memory_bytes``, ``tasks_in_flight``, ``import_error``: why it cannot
        import the project, or None), their totals ``worker_count``, ``cores``,
        ``memory_limit_bytes``, ``tasks_in_flight``, ``usable_worker_count`` (the
        workers that can import the project), ``scheduler_import_error`` (why the
        scheduler cannot, or None), ``dashboard_url``
        (Dask's own dashboard, or None), ``checked_at`` (ISO 8601 UTC) and
        ``age_seconds`` (since that reading), ``refreshing`` (the reading is older
        than the monitor's cadence and a new one is under way: shown as the last
        known state, not as a fault) and, when ``unreachable``, ``failed_at`` (ISO
        8601 UTC: when the read failed)."""
        self._start()
        with self._lock:
            now = time.monotonic()
            idle = now >= self._watched_until
            self._watched_until = now + WATCHED_SECONDS
            shot = dict(self._snapshot)
            since = self._reading_since
        if idle:  # the monitor sleeps until someone looks: wake it (a watched one reads on its own clock)
            self._wake.set()
        wall = time.time()
        checked = shot.pop("checked")
        age = None if checked is None else wall - checked
        shot["age_seconds"] = None if age is None else round(age, 1)
        shot["checked_at"] = _iso(checked)
        shot["refreshing"] = age is not None and age > self.refresh + self.connect
        if since is not None and wall - since > STALE_SECONDS:  # a read under way for too long: it failed
            shot.update(state="unreachable", workers=[], failed_at=_iso(wall), refreshing=True,
                        error=f"the scheduler has not answered a read for {wall - since:.0f} s")  # fmt: skip
        elif shot["state"] == "unreachable":
            shot["failed_at"] = shot["checked_at"]
        return {"scheduler": self.address, **shot}

    def fresh(self, timeout: float) -> dict[str, Any]:
        """A reading taken after this call if one comes within ``timeout`` seconds
        (the monitor woken for it), else the last one (`snapshot`)."""
        asked = time.time()
        self.snapshot()
        self._wake.set()
        with self._read:
            self._read.wait_for(lambda: (self._snapshot.get("checked") or 0) >= asked or self._closed, timeout)
        return self.snapshot()

    def close(self) -> None:
        """Stop reading and close the client (in the background: never waits on it)."""
        with self._lock:
            self._closed = True
        self._wake.set()

    # ------------------------------------------------------------- internals
    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="dask-cluster-monitor", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            if time.monotonic() < self._watched_until:
                with self._lock:
                    self._reading_since = time.time()
                reading, info = self._reading()
                with self._lock:
                    self._snapshot, self._reading_since = reading, None
                    self._read.notify_all()
                if info is not None:  # then the import check of what is new (a first import takes seconds)
                    with self._lock:  # a read too: one the scheduler never answers reads as unreachable
                        self._reading_since = time.time()
                    try:
                        self._check_imports(info)
                    finally:
                        with self._lock:
                            self._reading_since = None
                self._wake.wait(self.refresh)
            else:
                self._wake.wait()  # nobody looks: read nothing until someone does
            self._wake.clear()
        self._drop_client()

    def _reading(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """One reading of the scheduler, and the scheduler's answer (None when it did not
        answer); in the monitor's thread, it may take up to ``connect`` seconds. The
        workers' import errors are those known (a worker not asked yet counts as usable
        until `_check_imports` has asked it)."""
        now = time.time()
        try:
            client = self._connected()
            # The scheduler's own answers (the client's scheduler_info() would answer
            # its last copy when the scheduler is gone): an error when it does not answer.
            info = client.sync(client.scheduler.identity, n_workers=-1, callback_timeout=self.connect)
            processing = client.sync(client.scheduler.processing, workers=None, callback_timeout=self.connect)
        except Exception as exc:  # unreachable, or no answer within ``connect`` seconds (a stopped scheduler)
            self._drop_client()
            reason = one_line(exc) if str(exc) else f"{type(exc).__name__}: no answer within {self.connect:.0f} s"
            return {"state": "unreachable", "error": reason, "workers": [], "checked": time.time()}, None
        workers = [_worker(address, w, len(processing.get(address, ()))) for address, w in info.get("workers", {}).items()]
        workers.sort(key=lambda w: w["address"])
        reading = {
            "state": "connected", "error": None, "workers": workers, "checked": now,
            "worker_count": len(workers), "cores": sum(w["cores"] for w in workers),
            "memory_limit_bytes": sum(w["memory_limit_bytes"] or 0 for w in workers),
            "tasks_in_flight": sum(w["tasks_in_flight"] for w in workers), "dashboard_url": _dashboard(self.address, info),
        }  # fmt: skip
        return self._with_imports(reading, info.get("id")), info

    def _with_imports(self, reading: dict[str, Any], scheduler_id: Any) -> dict[str, Any]:
        """The reading with the import errors known: each worker's ``import_error``,
        ``usable_worker_count``, ``scheduler_import_error``."""
        workers = [{**w, "import_error": self._import_errors.get(w["address"])} for w in reading["workers"]]
        scheduler = self._scheduler[1] if self._scheduler[0] == scheduler_id else None
        return {**reading, "workers": workers, "usable_worker_count": sum(w["import_error"] is None for w in workers),
                "scheduler_import_error": scheduler}  # fmt: skip

    def _check_imports(self, info: dict[str, Any]) -> None:
        """Ask what is new (the scheduler, workers) whether it can import the project,
        and mark the last reading with the answers; a check without an answer is tried
        again at the next reading."""
        known = (self._scheduler, dict(self._import_errors))
        try:
            self._import_check(self._client, info)
        except Exception as exc:
            log.debug("the import check of the Dask cluster at %s had no answer: %s", self.address, one_line(exc))
            return
        if known == (self._scheduler, self._import_errors):
            return
        with self._lock:
            if self._snapshot.get("state") == "connected":
                self._snapshot = self._with_imports(self._snapshot, info.get("id"))

    def _import_check(self, client: Any, info: dict[str, Any]) -> dict[str, str | None]:
        """Why each worker of ``info`` cannot import the project (None: it can), each
        asked once (the scheduler too, once per scheduler)."""
        if self._scheduler[0] != info.get("id"):  # a new scheduler: its workers are new too
            reason = scheduler_import_failure(client)
            if reason is not None and not reason.startswith(("ModuleNotFoundError", "ImportError")):
                raise ConnectionError(reason)  # no answer to the check (not kept): this read failed
            self._scheduler = (info.get("id"), reason)
            self._import_errors.clear()
        present = set(info.get("workers", {}))
        for gone in set(self._import_errors) - present:
            del self._import_errors[gone]
        new = sorted(present - set(self._import_errors))
        if new:
            failures = import_failures(client, new)
            self._import_errors.update({worker: failures.get(worker) for worker in new})
        return dict(self._import_errors)

    def _connected(self) -> Any:
        if self._client is not None and self._client.status == "running":
            return self._client
        self._drop_client()
        from distributed import Client

        self._client = Client(self.address, timeout=self.connect, set_as_default=False)
        return self._client

    def _drop_client(self) -> None:
        """Close the client without waiting for it (a client of a dead scheduler may
        take its reconnection timeout to close)."""
        client, self._client = self._client, None
        if client is not None:
            threading.Thread(target=_close_quietly, args=(client,), name="dask-client-close", daemon=True).start()


def _iso(stamp: float | None) -> str | None:
    """A ``time.time()`` as ISO 8601 UTC to the second (None stays None)."""
    return None if stamp is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _close_quietly(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=CONNECT_SECONDS)


def _worker(address: str, info: dict[str, Any], in_flight: int) -> dict[str, Any]:
    metrics = info.get("metrics", {})
    return {
        "address": address, "name": str(info.get("name", address)), "cores": int(info.get("nthreads", 0)),
        "memory_limit_bytes": info.get("memory_limit"), "memory_bytes": metrics.get("memory"),
        "tasks_in_flight": in_flight,
    }  # fmt: skip


def _dashboard(address: str, info: dict[str, Any]) -> str | None:
    """Dask's own dashboard of the scheduler (as Dask's ``distributed.dashboard.link``
    template writes it), if it serves one."""
    port = info.get("services", {}).get("dashboard")
    if port is None:
        return None
    from distributed.utils import format_dashboard_link

    try:
        return format_dashboard_link(address.split("://", 1)[-1].rsplit(":", 1)[0], port)
    except (KeyError, ValueError):  # a link template naming a variable that is not set
        return None
