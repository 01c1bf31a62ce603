"""Evaluation on a Dask distributed cluster (``--executor dask://HOST:PORT``, or the
dashboard's ``--dask tcp://HOST:PORT``).

The candles are scattered once to every worker (``broadcast``); each task names
that data by its future, so only gene tuples travel with tasks, in batches (a few
per worker and map). A Dask worker builds its engines on its first task of a run
and keeps them in a process-global slot for the run's next tasks (the engines of
`ENGINES_PER_WORKER` runs at most).

Faults, each a `ClusterError` with a one-line message naming the scheduler (or the
worker) and the reason:

* `SchedulerUnreachable`: nothing answers at the address when the run starts;
* `WorkerCannotImport`: no worker can import this project (every worker is
  asked before the data is sent, and each worker that joins later as soon as the
  run sees it): the first one's address and the missing module. A worker that
  cannot import it beside others that can is left out (the run's data and tasks
  go only to the workers that passed, ``workers=`` with ``allow_other_workers=False``),
  with a warning naming it and its reason (`DaskExecutor.warnings`);
* `ClusterLost`: the scheduler went away mid-run, or no usable worker was left
  for `no_workers_seconds` (the data is scattered again, and a batch sent again,
  only once a worker is there); the map ends at once, nothing of it is kept, and
  the run resumes from its last checkpoint once the cluster is back.

A worker lost mid-run is none of these: Dask runs its tasks again on the others,
and the results are the same (an evaluation depends only on its genes).
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from optimizer.config import parse_config
from optimizer.data import Candles
from optimizer.evaluation.dask_faults import (
    NO_WORKERS_SECONDS,
    PROJECT_MODULE,
    WAIT_ENV,
    ClusterError,
    ClusterLost,
    SchedulerUnreachable,
    WorkerCannotImport,
    cannot_import,
    dask_address,
    import_failures,
    no_workers_seconds,
    one_line,
    scheduler_address,
    scheduler_import_failure,
)
from optimizer.evaluation.worker import OnResult, RunSpec, SeriesFilter, Task, Worker, failure
from optimizer.interrupts import raise_if_interrupted
from optimizer.stats import IndividualStats

log = logging.getLogger(__name__)
__all__ = [  # the checks and errors of dask_faults, importable from here as before
    "NO_WORKERS_SECONDS", "PROJECT_MODULE", "WAIT_ENV", "ClusterError", "ClusterLost", "DaskExecutor",
    "SchedulerUnreachable", "WorkerCannotImport", "cannot_import", "dask_address", "import_failures",
    "no_workers_seconds", "one_line", "scheduler_address", "scheduler_import_failure",
]  # fmt: skip

BATCHES_PER_WORKER = 4
CONNECT_SECONDS = 10.0
"""How long a run tries to reach its scheduler before it fails to start (seconds)."""
WORKERS_WAIT_SECONDS = 30.0
"""How long a run waits for a first worker on a cluster that has none (seconds)."""
POLL_SECONDS = 1.0
ENGINES_PER_WORKER = 2
"""Runs whose engines a Dask worker process keeps (two runs sharing a cluster, as with
``--max-running 2``, do not rebuild them at every task)."""
_engines: dict[str, Worker] = {}


BATCH_RETRIES = 3
"""Times a batch that failed for the cluster's sake is sent again before the run is interrupted."""


def _evaluate_on_worker(
    run_key: str, spec: RunSpec, arrays: dict, bar_ns: int, batch: list[Task], keep: SeriesFilter | None
) -> list:
    """A Dask task: evaluate a batch with this worker's engines for ``run_key``."""
    worker = _engines.pop(run_key, None)
    if worker is None:
        while len(_engines) >= ENGINES_PER_WORKER:  # the run used longest ago goes (dict order: oldest first)
            del _engines[next(iter(_engines))]
        worker = Worker(spec, Candles.from_arrays(arrays, bar_ns))
        gc.freeze()  # as in a pool worker: the engines stay, out of the cyclic collector's sweeps
    _engines[run_key] = worker  # the newest last
    return worker.evaluate_batch(batch, keep)


class DaskExecutor:
    """Evaluates tasks on a Dask cluster's usable workers (those that can import this
    project); the data is sent to each of them once."""

    def __init__(
        self, client: Any, spec: RunSpec, candles: Candles, *, own_client: bool = False, address: str | None = None
    ) -> None:
        self.client = client
        self.address = address or client.scheduler.address
        self.spec = spec
        self.config = parse_config(spec.config)
        self.bar_ns = candles.bar_ns
        self.run_key = uuid.uuid4().hex
        self._own_client = own_client
        self._checked: dict[str, str | None] = {}  # worker -> why it cannot import the project (None: it can)
        self.warnings: list[str] = []
        """One line for each worker left out of the run (it cannot import the project)."""
        self.data: dict[str, Any] = {}
        self._arrays: dict[str, Any] = {}
        self._allowed: dict[str, list[str]] = {}  # a batch's future key -> the workers it may run on
        self._scatters = 0
        self._without_workers: float | None = None
        try:
            reason = scheduler_import_failure(client)
            if reason is not None:
                raise WorkerCannotImport(f"the Dask scheduler at {self.address} cannot import the optimizer: {reason}; "
                                         "install the project there (pip install .) and restart the scheduler "
                                         "(docs/DEPLOY.md)")  # fmt: skip
            self._wait_for_workers()
            usable = self._usable()
            if not usable:
                raise cannot_import(self._left_out())
            self._arrays = candles.to_arrays()
            self._scatter(usable)
        except BaseException:
            self.close()
            raise
        self.workers = len(usable)

    def _scatter(self, workers: list[str]) -> None:
        """Send the candles to ``workers`` (the usable ones), under keys of this run's
        own (column names alone would be the same keys for every run on the cluster: a
        second run's scatter replaced the first's candles) and of this scatter (one
        lost with a worker is sent again under new keys)."""
        if self.data:  # the previous scatter's futures, some lost: released
            self.client.cancel(list(self.data.values()))
        self._scatters += 1
        keys = {name: f"candles-{self.run_key}-{self._scatters}-{name}" for name in self._arrays}
        try:
            scattered = self.client.scatter({keys[n]: a for n, a in self._arrays.items()}, workers=workers,
                                            broadcast=True, hash=False)  # fmt: skip
        except OSError as exc:  # the scheduler went away under it (TimeoutError: no worker, waited for by the caller)
            raise exc if isinstance(exc, TimeoutError) else self._unanswered(exc) from exc
        self.data = {name: scattered[key] for name, key in keys.items()}

    def _data_lost(self) -> bool:
        return any(future.status != "finished" for future in self.data.values())

    @classmethod
    def connect(
        cls, executor: str, spec: RunSpec, candles: Candles, timeout: float = CONNECT_SECONDS
    ) -> DaskExecutor:
        """Connect to the scheduler named by ``dask://HOST:PORT``; `SchedulerUnreachable`
        (naming the address, the reason and what to do) when nothing answers within
        ``timeout`` seconds."""
        from distributed import Client

        address = dask_address(executor)
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, concurrent.futures.TimeoutError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {one_line(exc)}; start it "
                                       f"(dask scheduler, docs/DEPLOY.md) or fix the address, then resume the run"
                                       ) from exc  # fmt: skip
        return cls(client, spec, candles, own_client=True, address=address)

    def _worker_addresses(self) -> list[str]:
        """The scheduler's workers now; `ClusterLost` when it does not answer."""
        try:
            return list(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        except (OSError, concurrent.futures.TimeoutError) as exc:  # its connection closed under the call
            raise self._unanswered(exc) from exc

    def _wait_for_workers(self) -> None:
        if self._worker_addresses():
            return
        log.info("the Dask scheduler at %s has no worker yet; waiting up to %.0f s", self.address,
                 WORKERS_WAIT_SECONDS)  # fmt: skip
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_WAIT_SECONDS)
        except (TimeoutError, concurrent.futures.TimeoutError) as exc:
            raise ClusterError(f"the Dask cluster at {self.address} has no worker (waited {WORKERS_WAIT_SECONDS:.0f} "
                               f"s): start workers (dask worker {self.address}), then resume the run") from exc  # fmt: skip

    def _usable(self) -> list[str]:
        """The workers there now that can import this project, each one not asked yet
        asked now; a warning for each one left out (`warnings`, and the log)."""
        workers = self._worker_addresses()
        new = [w for w in workers if w not in self._checked]
        if new:
            try:
                failures = import_failures(self.client, new)
            except OSError as exc:
                raise self._unanswered(exc) from exc
            for worker in new:
                self._checked[worker] = failures.get(worker)
            for worker, reason in sorted(failures.items()):
                warning = (f"Dask worker {worker} cannot import the optimizer ({reason}): it is left out of this "
                           "run; install the project there (pip install .) and restart it (docs/DEPLOY.md)")  # fmt: skip
                log.warning("%s", warning)
                self.warnings.append(warning)
        return [w for w in workers if self._checked.get(w, "gone") is None]

    def _left_out(self) -> dict[str, str]:
        return {worker: reason for worker, reason in self._checked.items() if reason is not None}

    def _await_workers(self, deadline: float) -> list[str]:
        """The usable workers, waiting for one until ``deadline`` (``time.monotonic()``);
        then `ClusterLost` (the run resumes once workers are back)."""
        logged = False
        while True:
            self._scheduler_there()
            usable = self._usable()
            if usable:
                self._without_workers = None
                return usable
            now = time.monotonic()
            self._without_workers = self._without_workers or now
            if now >= deadline:
                break
            if not logged:
                log.warning("the Dask cluster at %s has no usable worker; waiting up to %.0f s for one",
                            self.address, deadline - now)  # fmt: skip
                logged = True
            time.sleep(min(POLL_SECONDS, deadline - now))
        waited = no_workers_seconds()
        present = set(self._worker_addresses())
        bad = {w: r for w, r in self._left_out().items() if w in present}
        which = "worker"
        if bad:
            worker, reason = sorted(bad.items())[0]
            which = f"worker that can import the optimizer (Dask worker {worker} cannot: {reason})"
        raise ClusterLost(f"the Dask cluster at {self.address} has no {which} (waited {waited:.0f} s): start workers, "
                          "then resume the run (its last finished generation is checkpointed)")  # fmt: skip

    def _submit(self, batch: list[Task], keep: SeriesFilter | None, workers: list[str]) -> Any:
        """A batch's task, restricted to ``workers`` (those that passed the import check)."""
        future = self.client.submit(_evaluate_on_worker, self.run_key, self.spec, self.data, self.bar_ns, batch, keep,
                                    workers=workers, allow_other_workers=False, pure=False)  # fmt: skip
        self._allowed[future.key] = workers
        return future

    def _usable_with_data(self) -> list[str]:
        """The usable workers once there is one (waiting up to `no_workers_seconds`),
        the candles scattered to them again first if they were lost."""
        deadline = time.monotonic() + no_workers_seconds()
        while True:
            usable = self._await_workers(deadline)
            if not self._data_lost():
                return usable
            log.warning("the candles were lost with a Dask worker; scattering them again to %d worker(s)", len(usable))
            try:
                self._scatter(usable)
                return usable
            except (TimeoutError, KeyError) as exc:  # the workers left meanwhile (KeyError: one the scheduler lost)
                log.warning("could not scatter the candles (%s); waiting for workers", one_line(exc))
                time.sleep(POLL_SECONDS)

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """Statistics of each task, in order; ``on_result(index, stats)`` is called
        for each result as it is collected; see `Worker.evaluate_batch` for ``keep``.
        A batch whose task fails on the cluster (its workers died too often) comes
        back as failed evaluations; a lost scheduler, or no usable worker for
        `no_workers_seconds`, raises `ClusterLost`."""
        self._scheduler_there()
        usable = self._usable_with_data()
        self.workers = len(usable)
        n = len(tasks)
        size = max(1, -(-n // (self.workers * BATCHES_PER_WORKER)))
        batches = [list(tasks[i : i + size]) for i in range(0, n, size)]
        self._allowed.clear()
        futures = [self._submit(batch, keep, usable) for batch in batches]
        results: list[IndividualStats] = []
        try:
            for k, (batch, future) in enumerate(zip(batches, futures, strict=True)):
                for value in self._collect(future, batch, keep, futures, k):
                    if on_result is not None:
                        on_result(len(results), value)
                    results.append(value)
        except BaseException:
            if self.client.status == "running":
                self.client.cancel(futures)
            raise
        return results

    def _collect(
        self, future: Any, batch: list[Task], keep: SeriesFilter | None, futures: list[Any], k: int
    ) -> list[IndividualStats]:
        """A batch's statistics, waiting for them while the cluster is there. A batch
        whose task kept killing its workers (Dask's ``KilledWorker``) comes back as
        failed evaluations; one that failed for the cluster's sake (its data lost with
        a worker, cancelled, a worker without the project) is sent again once a usable
        worker is there, with the data scattered again if it was lost, up to
        `BATCH_RETRIES` times, then `ClusterLost`: a cluster's fault is never counted
        as failed evaluations. ``futures[k]`` follows the retries."""
        from distributed import KilledWorker

        retries = 0
        while True:
            raise_if_interrupted()  # a Ctrl-C dropped while a result was unpacked
            try:
                return future.result(timeout=POLL_SECONDS)
            except (TimeoutError, concurrent.futures.TimeoutError):
                future = futures[k] = self._watch(future, batch, keep)
                continue
            except KilledWorker as exc:
                log.warning("a Dask batch of %d individuals failed: %s", len(batch), exc)
                error = f"Dask task failed: {type(exc).__name__}: {exc}"
                return [failure(self.config, genes, error) for _, genes in batch]
            except Exception as exc:  # its data lost, cancelled, a worker without the project
                self._scheduler_there()
                if isinstance(exc, ImportError):  # ask every worker again: the one that ran it is left out
                    self._checked.update(import_failures(self.client))
                cause = exc
            retries += 1
            if retries > BATCH_RETRIES:
                raise ClusterLost(f"a batch of {len(batch)} evaluations failed {retries} times on the Dask cluster at "
                                  f"{self.address} ({type(cause).__name__}: {one_line(cause)}); the last finished "
                                  "generation is checkpointed: resume once the cluster is healthy") from cause  # fmt: skip
            log.warning("a Dask batch of %d individuals failed (%s: %s); sending it again", len(batch),
                        type(cause).__name__, one_line(cause))  # fmt: skip
            future = futures[k] = self._submit(batch, keep, self._usable_with_data())

    def _watch(self, future: Any, batch: list[Task], keep: SeriesFilter | None) -> Any:
        """While a batch runs: `ClusterLost` if the scheduler is gone or no usable worker
        was left for `no_workers_seconds`; new workers checked as they join; the batch
        sent again (the future to follow) when every worker it may run on has left."""
        self._scheduler_there()
        usable = self._usable()
        if not usable:
            now = time.monotonic()
            self._without_workers = self._without_workers or now
            if now - self._without_workers > no_workers_seconds():
                self._await_workers(now)  # raises, saying why
            return future
        self._without_workers = None
        if set(self._allowed.get(future.key, usable)).isdisjoint(usable):
            log.warning("every Dask worker a batch of %d individuals could run on has left; sending it to %d "
                        "other(s)", len(batch), len(usable))  # fmt: skip
            self.client.cancel([future])
            return self._submit(batch, keep, self._usable_with_data())
        return future

    def _scheduler_there(self) -> None:
        """`ClusterLost` if the client has lost the scheduler (no round trip)."""
        if self.client.status != "running":
            raise self._lost("it no longer answers")

    def _unanswered(self, exc: BaseException) -> ClusterLost:
        """`ClusterLost` for a call to the scheduler that failed (the details in the log)."""
        log.warning("the Dask scheduler at %s did not answer: %s", self.address, one_line(exc))
        return self._lost("it no longer answers")

    def _lost(self, reason: str) -> ClusterLost:
        return ClusterLost(f"lost the Dask scheduler at {self.address} mid-run ({reason}); the last finished "
                           "generation is checkpointed: start the scheduler and its workers again, then resume the run")  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """Where this executor evaluates: ``executor`` ``dask``, ``scheduler``,
        ``workers`` (now, those that can import the project) and ``cores`` (their
        threads); ``left_out`` (worker -> why it cannot import the project) when any is."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        usable = {a: w for a, w in workers.items() if self._checked.get(a, None) is None}
        cores = sum(int(w.get("nthreads", 0)) for w in usable.values())
        answer: dict[str, Any] = {"executor": "dask", "scheduler": self.address, "workers": len(usable), "cores": cores}
        left_out = {a: r for a, r in self._left_out().items() if a in workers}
        if left_out:
            answer["left_out"] = left_out
        return answer

    def close(self) -> None:
        """Release the scattered data (and the client, if this executor made it);
        quick when the scheduler is gone."""
        try:
            if self.data and self.client.status == "running":
                self.client.cancel(list(self.data.values()))
        except Exception as exc:  # the scheduler went away meanwhile: nothing left to release
            log.debug("could not release the scattered data: %s", exc)
        finally:
            self.data = {}
            if self._own_client:
                try:
                    self.client.close(timeout=5)
                except Exception as exc:
                    log.debug("closing the Dask client: %s", exc)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
