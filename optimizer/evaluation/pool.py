"""A local process pool: data placed once in shared memory, tasks in batches.

Each worker process is started once per run with a small `RunSpec` and the
shared-memory descriptor of the candles; it builds its engines (and indicator
cache) once and keeps them for every generation. A task is a pickled list of
``(phase, genes)`` pairs with the map's `SeriesFilter`: its size depends on the
number of genes and the filter's (the elite's) size, never on the data. A reply (the batch's
statistics) comes back through one of the worker's two shared-memory files, the
pipe carrying only its length (`ReplyFile`).

Every worker holds two batches: the one it evaluates and the next, already in
its pipe, so it never waits for the coordinating process to read a reply and
send more (on a machine with as many cores as workers, the coordinator gets a
core back only when the scheduler gives it one). A worker evaluates its batches
in order and answers each in order, so when a worker process dies the batch it
was evaluating is known: the first one not answered. That batch is retried one
individual at a time on a fresh worker (the next one, not started, goes back as
it is), and an individual that has been in a dying worker ``max_attempts`` times
is recorded as failed. Results do not depend on which worker evaluated what, so
they are the same with any number of workers.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing as mp
import os
import pickle
import selectors
import signal
import sys
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection

from optimizer.config import RunConfig, parse_config
from optimizer.data import Candles
from optimizer.evaluation.lifetime import watch_parent
from optimizer.evaluation.shared import InheritedFd, ReplyFile, SharedCandles, SharedMarket, send_reply
from optimizer.evaluation.worker import OnResult, RunSpec, SeriesFilter, Task, Worker, failure
from optimizer.interrupts import raise_if_interrupted
from optimizer.stats import IndividualStats

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_STARTUP_FAILURES = 3
BATCHES_PER_WORKER = 2  # a batch is at most 1/(2 * workers) of what is left
MIN_BATCH = 1  # the last batches are single individuals: workers finish a map together
DEPTH = 2  # batches a worker holds: the one it evaluates and the next


def _worker_main(
    conn: Connection, spec: RunSpec, shared: SharedCandles, replies: tuple[InheritedFd, ...], parent_pid: int
) -> None:  # pragma: no cover
    """A worker process: build the engines once, then evaluate batches until told to
    stop, the n-th reply written to the file ``replies[n % DEPTH]`` (see `ReplyFile`).
    It exits by itself within a second of its coordinating process ``parent_pid``
    going away, even in the middle of a batch or of its start (`watch_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    watch_parent(parent_pid)
    try:
        worker = Worker(spec, shared.attach())
        worker.warm_up()
    except Exception as exc:  # one line for the user; the parent reports the failed start
        sys.stderr.write(f"worker {os.getpid()} cannot start: {exc}\n")
        sys.exit(1)
    gc.freeze()  # the engines live as long as the worker: keep them out of the cyclic collector's sweeps
    conn.send_bytes(b"ready")
    answered = 0
    while True:
        try:
            payload = conn.recv_bytes()
            if not payload:
                return
            keep, batch = pickle.loads(payload)  # our own parent's tasks, never user input
            stats = worker.evaluate_batch(batch, keep)
            send_reply(conn, replies[answered % DEPTH].fd, pickle.dumps(stats, protocol=pickle.HIGHEST_PROTOCOL))
            answered += 1
        except (EOFError, OSError):  # the coordinating process is gone (killed): so are we
            return


class WorkerStartError(RuntimeError):
    """Worker processes die before they are ready (a broken plugin, no memory...)."""



class _MapRun:
    """The state of one `ProcessExecutor.map`: which tasks are left, in batches
    that shrink as the work runs out (guided scheduling: no worker waits long for
    the last one), and the results."""

    def __init__(
        self, tasks: Sequence[Task], workers: int, on_result: OnResult | None, keep: SeriesFilter | None
    ) -> None:
        self.tasks = tasks
        self.keep = keep
        self.workers = workers
        self.on_result = on_result
        self.results: list[IndividualStats | None] = [None] * len(tasks)
        self.attempts = [0] * len(tasks)
        self.remaining = len(tasks)
        self.next_index = 0
        self.retry: deque[list[int]] = deque()

    def has_work(self) -> bool:
        return bool(self.retry) or self.next_index < len(self.tasks)

    def next_batch(self) -> list[int]:
        if self.retry:
            return self.retry.popleft()
        left = len(self.tasks) - self.next_index
        size = max(MIN_BATCH, -(-left // (self.workers * BATCHES_PER_WORKER)))
        batch = list(range(self.next_index, min(self.next_index + size, len(self.tasks))))
        self.next_index = batch[-1] + 1
        return batch

    def deliver(self, batch: list[int], stats: Sequence[IndividualStats]) -> None:
        for index, value in zip(batch, stats, strict=True):
            self.results[index] = value
            if self.on_result is not None:
                self.on_result(index, value)
        self.remaining -= len(batch)


class _Slot:
    """One worker process, its pipe, its reply files, and the batches it holds
    (oldest first: the first is the one it evaluates)."""

    def __init__(self, ctx, spec: RunSpec, shared: SharedCandles) -> None:
        parent, child = ctx.Pipe()
        self.replies = tuple(ReplyFile() for _ in range(DEPTH))
        files = tuple(reply.file for reply in self.replies)
        self.process = ctx.Process(target=_worker_main, args=(child, spec, shared, files, os.getpid()), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.ready = False
        self.batches: deque[list[int]] = deque()
        self.answered = 0

    def read_reply(self) -> bytes:
        """The reply to the oldest batch (`EOFError` or `OSError`: the worker died)."""
        reply = self.replies[self.answered % DEPTH].read(self.conn.recv_bytes())
        self.answered += 1
        return reply

    def stop(self) -> None:
        """Tell the worker to exit and wait for it (killed if it does not within 5 s)."""
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send_bytes(b"")
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    @property
    def fds(self) -> tuple[int, int]:
        """What tells the coordinator about this worker: its pipe (a reply) and its
        process sentinel (its death)."""
        return self.conn.fileno(), self.process.sentinel

    def close(self) -> None:
        """Close the pipe and the reply files (the process is stopped or dead)."""
        self.conn.close()
        for reply in self.replies:
            reply.close()


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
        # Every worker's pipe and process sentinel, registered once (not once per reply).
        self._selector = selectors.DefaultSelector()
        self._slots = [self._start_slot() for _ in range(workers)]
        self.bytes_sent = 0
        self.tasks_sent = 0
        self.worker_deaths = 0
        self._startup_failures = 0
        self._config: RunConfig | None = None

    def wait_ready(self) -> None:
        """Block until every worker has started and loaded its engines."""
        for k in range(len(self._slots)):
            while True:
                slot = self._slots[k]
                try:
                    self._ready(slot)
                    break
                except (EOFError, OSError):
                    slot.process.join(timeout=5)
                    self._replace(k, slot)

    def _ready(self, slot: _Slot) -> None:
        if not slot.ready:
            if slot.conn.recv_bytes() != b"ready":  # pragma: no cover - protocol error
                raise WorkerStartError("a worker process answered out of turn")
            slot.ready = True

    @property
    def pids(self) -> list[int]:
        """The process ids of the current workers."""
        return [slot.process.pid for slot in self._slots]

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """Statistics of each task, in order.

        ``on_result(index, stats)`` is called for each result as soon as its batch
        arrives (while the workers go on), in no particular order. See
        `Worker.evaluate_batch` for ``keep``.
        """
        run = _MapRun(tasks, self.workers, on_result, keep)
        while run.remaining:
            raise_if_interrupted()  # a Ctrl-C dropped while the last replies were unpacked
            for k, slot in enumerate(self._slots):
                if not slot.batches and not slot.process.is_alive():  # died while idle
                    log.warning("idle worker %s died (exit code %s); replacing it", slot.process.pid,
                                slot.process.exitcode)  # fmt: skip
                    self._replace(k, slot)
                    slot = self._slots[k]
                while len(slot.batches) < DEPTH and run.has_work() and self._dispatch(slot, run.next_batch(), run):
                    pass
            if not any(slot.batches for slot in self._slots):
                continue  # every batch went to a worker that died before it was ready: send again
            # A slot once per round: a reply is read, or the death of its worker seen.
            ready = dict.fromkeys(key.data for key, _ in self._selector.select())
            for slot in ready:
                if slot not in self._slots:  # replaced in this round
                    continue
                if not slot.batches:  # an idle worker just started (or died: replaced on the next round)
                    if not slot.ready:
                        with contextlib.suppress(EOFError, OSError):
                            self._ready(slot)  # its "ready" read, its pipe is quiet again: no busy loop
                    continue
                try:
                    reply = slot.read_reply()  # before a next batch may overwrite its file
                except (EOFError, OSError):
                    self._worker_died(slot, run)
                    continue
                batch = slot.batches.popleft()
                if run.has_work():  # keep the worker's next batch waiting while this reply is unpacked
                    self._dispatch(slot, run.next_batch(), run)
                run.deliver(batch, pickle.loads(reply))  # our own worker's reply
        return run.results  # type: ignore[return-value]

    def _dispatch(self, slot: _Slot, batch: list[int], run: _MapRun) -> bool:
        """Send a batch to a worker; False if the worker is dead (a worker that died
        before it was ready counts as a death holding its first batch)."""
        try:
            self._send(slot, batch, run)
            return True
        except (EOFError, OSError):
            slot.batches.append(batch)
            self._worker_died(slot, run)
            return False

    def _send(self, slot: _Slot, batch: list[int], run: _MapRun) -> None:
        payload = pickle.dumps((run.keep, [run.tasks[i] for i in batch]), protocol=pickle.HIGHEST_PROTOCOL)
        self._ready(slot)
        slot.conn.send_bytes(payload)
        slot.batches.append(batch)
        self.bytes_sent += len(payload)
        self.tasks_sent += 1

    def _replace(self, k: int, slot: _Slot) -> None:
        if not slot.ready:
            self._startup_failures += 1
            if self._startup_failures >= MAX_STARTUP_FAILURES:
                raise WorkerStartError(
                    f"worker processes exit before they are ready (last exit code {slot.process.exitcode}); "
                    "see the log above"
                )
        self._close_slot(slot)
        self._slots[k] = self._start_slot()

    def _start_slot(self) -> _Slot:
        slot = _Slot(self._ctx, self.spec, self.shared.descriptor)
        for fd in slot.fds:
            self._selector.register(fd, selectors.EVENT_READ, slot)
        return slot

    def _close_slot(self, slot: _Slot) -> None:
        """Forget a stopped or dead worker: its descriptors leave the selector before
        they are closed (a new worker's may reuse their numbers)."""
        for fd in slot.fds:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        slot.close()

    def _worker_died(self, slot: _Slot, run: _MapRun) -> None:
        """Replace a dead worker; retry the batch it was evaluating one individual at
        a time, or record the individuals that were in dying workers too often as
        failed; its next batch, not started, goes back as it is."""
        batch = slot.batches.popleft() if slot.batches else []
        run.retry.extend(slot.batches)
        slot.batches.clear()
        slot.process.join(timeout=5)
        self.worker_deaths += 1
        log.warning("worker %s died (exit code %s) evaluating %d individuals", slot.process.pid,
                    slot.process.exitcode, len(batch))  # fmt: skip
        self._replace(self._slots.index(slot), slot)
        for index in batch:
            run.attempts[index] += 1
            if run.attempts[index] >= self.max_attempts:
                _, genes = run.tasks[index]
                error = f"worker process died {run.attempts[index]} times evaluating it"
                run.deliver([index], [failure(self._parsed_config(), genes, error)])
            else:
                run.retry.append([index])

    def _parsed_config(self) -> RunConfig:
        if self._config is None:
            self._config = parse_config(self.spec.config)
        return self._config

    def close(self) -> None:
        """Stop the workers and delete the shared data."""
        for slot in self._slots:
            slot.stop()
            self._close_slot(slot)
        self._selector.close()
        self.shared.close()

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_workers() -> int:
    """Worker processes when the configuration says 0: one per CPU."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
