"""A local process pool: data placed once in shared memory, tasks in batches.

Each worker process is started once per run with a small `RunSpec` and the
shared-memory descriptor of the candles; it builds its engines (and indicator
cache) once and keeps them for every generation. A task is a pickled list of
``(phase, genes)`` pairs: its size depends on the number of genes, never on the
data.

Every worker holds at most one batch at a time, so when a worker process dies
its batch is known: the batch is retried one individual at a time on a fresh
worker, and an individual that has been in a dying worker ``max_attempts``
times is recorded as failed. Results do not depend on which worker evaluated
what, so they are the same with any number of workers.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import pickle
import signal
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait

from optimizer.data import Candles
from optimizer.evaluation.shared import SharedCandles, SharedMarket
from optimizer.evaluation.worker import RunSpec, Worker
from optimizer.stats import IndividualStats
from optimizer.strategy import decode

log = logging.getLogger(__name__)

Task = tuple[str, tuple[float, ...]]
MAX_ATTEMPTS = 3
BATCHES_PER_WORKER = 4


def _worker_main(conn: Connection, spec: RunSpec, shared: SharedCandles) -> None:  # pragma: no cover - subprocess
    """A worker process: build the engines once, then evaluate batches until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    worker = Worker(spec, shared.attach())
    worker.warm_up()
    conn.send_bytes(b"ready")
    while True:
        try:
            payload = conn.recv_bytes()
        except EOFError:
            return
        if not payload:
            return
        batch = pickle.loads(payload)  # our own parent's tasks, never user input
        conn.send_bytes(pickle.dumps(worker.evaluate_batch(batch), protocol=pickle.HIGHEST_PROTOCOL))


class _Slot:
    """One worker process, its pipe, and the batch it holds."""

    def __init__(self, ctx, spec: RunSpec, shared: SharedCandles) -> None:
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, spec, shared), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.ready = False
        self.batch: list[int] | None = None

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send_bytes(b"")
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class ProcessExecutor:
    """Evaluates tasks on ``workers`` local processes (see the module docstring)."""

    def __init__(self, spec: RunSpec, candles: Candles, workers: int, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.spec = spec
        self.workers = workers
        self.max_attempts = max_attempts
        self.shared = SharedMarket(candles)
        self._ctx = mp.get_context("spawn")
        self._slots = [_Slot(self._ctx, spec, self.shared.descriptor) for _ in range(workers)]
        self.bytes_sent = 0
        self.tasks_sent = 0
        self.worker_deaths = 0
        self._config = None

    def wait_ready(self) -> None:
        """Block until every worker has started and loaded its engines."""
        for slot in self._slots:
            self._ready(slot)

    def _ready(self, slot: _Slot) -> None:
        if not slot.ready:
            if slot.conn.recv_bytes() != b"ready":  # pragma: no cover - protocol error
                raise RuntimeError("worker did not start")
            slot.ready = True

    @property
    def pids(self) -> list[int]:
        """The process ids of the current workers."""
        return [slot.process.pid for slot in self._slots]

    def map(self, tasks: Sequence[Task]) -> list[IndividualStats]:
        """Statistics of each task, in order."""
        n = len(tasks)
        results: list[IndividualStats | None] = [None] * n
        attempts = [0] * n
        size = max(1, -(-n // (self.workers * BATCHES_PER_WORKER)))
        queue: deque[list[int]] = deque(list(range(i, min(i + size, n))) for i in range(0, n, size))
        remaining = n
        while remaining:
            for k, slot in enumerate(self._slots):
                if slot.batch is None and not slot.process.is_alive():  # died while idle
                    log.warning("idle worker %s died (exit code %s); replacing it", slot.process.pid,
                                slot.process.exitcode)  # fmt: skip
                    slot.conn.close()
                    self._slots[k] = slot = _Slot(self._ctx, self.spec, self.shared.descriptor)
                if slot.batch is None and queue:
                    remaining -= self._dispatch(slot, queue, tasks, attempts, results)
            busy = {slot.conn: slot for slot in self._slots if slot.batch is not None}
            sentinels = {slot.process.sentinel: slot for slot in self._slots if slot.batch is not None}
            ready = wait([*busy, *sentinels])
            for item in ready:
                slot = busy.get(item) or sentinels.get(item)
                if slot is None or slot.batch is None:
                    continue
                batch = slot.batch
                try:
                    reply = slot.conn.recv_bytes()
                except (EOFError, OSError):
                    remaining -= self._worker_died(slot, batch, tasks, attempts, results, queue)
                    continue
                slot.batch = None
                if queue:  # keep the worker busy while its reply is unpacked here
                    self._dispatch(slot, queue, tasks, attempts, results)
                stats = pickle.loads(reply)  # our own worker's reply
                for index, value in zip(batch, stats, strict=True):
                    results[index] = value
                remaining -= len(batch)
        return results  # type: ignore[return-value]

    def _dispatch(self, slot: _Slot, queue, tasks, attempts, results) -> int:
        """Send the next batch to an idle worker; returns how many tasks ended as
        failures (a worker that died before it was ready)."""
        batch = queue.popleft()
        try:
            self._send(slot, batch, tasks)
        except (EOFError, OSError):
            slot.batch = batch
            return self._worker_died(slot, batch, tasks, attempts, results, queue)
        return 0

    def _send(self, slot: _Slot, batch: list[int], tasks: Sequence[Task]) -> None:
        payload = pickle.dumps([tasks[i] for i in batch], protocol=pickle.HIGHEST_PROTOCOL)
        self._ready(slot)
        slot.conn.send_bytes(payload)
        slot.batch = batch
        self.bytes_sent += len(payload)
        self.tasks_sent += 1

    def _worker_died(self, slot: _Slot, batch, tasks, attempts, results, queue) -> int:
        """Replace a dead worker; requeue its batch one by one, or record failures.
        Returns how many tasks ended (as failures)."""
        slot.batch = None
        slot.process.join(timeout=5)
        code = slot.process.exitcode
        self.worker_deaths += 1
        log.warning("worker %s died (exit code %s) holding %d individuals", slot.process.pid, code, len(batch))
        self._slots[self._slots.index(slot)] = _Slot(self._ctx, self.spec, self.shared.descriptor)
        slot.conn.close()
        ended = 0
        for index in batch:
            attempts[index] += 1
            if attempts[index] >= self.max_attempts:
                _phase, genes = tasks[index]
                results[index] = IndividualStats.failure(
                    self._params(genes), f"worker process died {attempts[index]} times evaluating it"
                )
                ended += 1
            else:
                queue.append([index])
        return ended

    def _params(self, genes: Sequence[float]) -> dict:
        from optimizer.config import parse_config

        if self._config is None:
            self._config = parse_config(self.spec.config)
        return decode(self._config, genes)

    def close(self) -> None:
        """Stop the workers and delete the shared data."""
        for slot in self._slots:
            slot.stop()
        self.shared.close()

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_workers() -> int:
    """Worker processes when the configuration says 0: one per CPU."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
