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
* `WorkerCannotImport`: a worker cannot import this project (every worker is
  asked before the data is sent, and each worker that joins later before the
  next map): its address and the missing module;
* `ClusterLost`: the scheduler went away mid-run (or no worker was left for
  `NO_WORKERS_SECONDS`); the map ends at once, nothing of it is kept, and the
  run resumes from its last checkpoint once the cluster is back.

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
from optimizer.evaluation.pool import WorkerStartError
from optimizer.evaluation.worker import OnResult, RunSpec, SeriesFilter, Task, Worker, failure
from optimizer.stats import IndividualStats

log = logging.getLogger(__name__)

BATCHES_PER_WORKER = 4
CONNECT_SECONDS = 10.0
"""How long a run tries to reach its scheduler before it fails to start (seconds)."""
WORKERS_WAIT_SECONDS = 30.0
"""How long a run waits for a first worker on a cluster that has none (seconds)."""
NO_WORKERS_SECONDS = 120.0
"""How long a map waits with no worker left before the cluster counts as lost (seconds)."""
POLL_SECONDS = 1.0
PROJECT_MODULE = "optimizer.evaluation.dask_cluster"
"""What a worker must import to evaluate (it imports the whole engine)."""
ENGINES_PER_WORKER = 2
"""Runs whose engines a Dask worker process keeps (two runs sharing a cluster, as with
``--max-running 2``, do not rebuild them at every task)."""
_engines: dict[str, Worker] = {}


class ClusterError(WorkerStartError):
    """A Dask cluster that cannot evaluate the run; ``str()`` is one line naming
    the scheduler or the worker, and the reason."""


class SchedulerUnreachable(ClusterError):
    """No Dask scheduler answers at the address (the run does not start)."""


class WorkerCannotImport(ClusterError):
    """A Dask worker, or the scheduler, lacks this project (or one of its dependencies)."""


BATCH_RETRIES = 3
"""Times a batch that failed for the cluster's sake is sent again before the run is interrupted."""


class ClusterLost(ClusterError):
    """The scheduler went away mid-run, or every worker did: the run can resume from
    its last checkpoint once the cluster is back."""


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


def dask_address(executor: str) -> str:
    """``dask://HOST:PORT`` (or ``dask://tcp://HOST:PORT``) -> ``tcp://HOST:PORT``."""
    rest = executor.removeprefix("dask://")
    return rest if "://" in rest else f"tcp://{rest}"


def scheduler_address(text: str) -> str:
    """A scheduler's address as Dask writes it: ``tcp://HOST:PORT`` from that,
    ``HOST:PORT`` or ``dask://HOST:PORT``; ValueError naming what is wrong."""
    address = dask_address(text.strip())
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls") or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not a Dask scheduler address (tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786)")
    return address


def import_failures(client: Any, workers: Sequence[str] | None = None) -> dict[str, str]:
    """Worker address -> why it cannot import this project (``ModuleNotFoundError:
    No module named 'optimizer'``), for ``workers`` (None: all). The check is sent
    as the builtin ``exec`` of an import, so that it deserializes on any worker."""
    answers = client.run(exec, f"import {PROJECT_MODULE}", {}, workers=list(workers) if workers else None,
                         on_error="return")  # fmt: skip
    return {w: f"{type(e).__name__}: {e}" for w, e in answers.items() if isinstance(e, BaseException)}


def scheduler_import_failure(client: Any) -> str | None:
    """Why the scheduler cannot import this project (``ModuleNotFoundError: ...``), or
    None: Dask's scheduler unpickles the task graphs it is sent, so without the project a
    run's every batch fails with a bare "Error during deserialization of the task graph"."""
    try:
        client.run_on_scheduler(exec, f"import {PROJECT_MODULE}", {})
    except Exception as exc:  # raised on the scheduler, raised again here
        return f"{type(exc).__name__}: {exc}"
    return None


def cannot_import(failures: dict[str, str]) -> WorkerCannotImport:
    """The error for `import_failures`: the first worker, its reason, and how many more."""
    worker, reason = sorted(failures.items())[0]
    more = f" (and {len(failures) - 1} more worker(s))" if len(failures) > 1 else ""
    return WorkerCannotImport(
        f"Dask worker {worker} cannot import the optimizer: {reason}{more}; install the project there "
        "(pip install .) and restart the worker (docs/DEPLOY.md)"
    )


class DaskExecutor:
    """Evaluates tasks on a Dask cluster; the data is sent to each worker once."""

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
        self._checked: set[str] = set()
        self.data: dict[str, Any] = {}
        self._arrays: dict[str, Any] = {}
        self._scatters = 0
        self._without_workers: float | None = None
        try:
            reason = scheduler_import_failure(client)
            if reason is not None:
                raise WorkerCannotImport(f"the Dask scheduler at {self.address} cannot import the optimizer: {reason}; "
                                         "install the project there (pip install .) and restart the scheduler "
                                         "(docs/DEPLOY.md)")  # fmt: skip
            self._wait_for_workers()
            self._check_new_workers()
            self._arrays = candles.to_arrays()
            self._scatter()
        except BaseException:
            self.close()
            raise
        self.workers = max(1, len(self._worker_addresses()))

    def _scatter(self) -> None:
        """Send the candles to every worker, under keys of this run's own (column names
        alone would be the same keys for every run on the cluster: a second run's
        scatter replaced the first's candles) and of this scatter (one lost with a
        worker is sent again under new keys)."""
        if self.data:  # the previous scatter's futures, some lost: released
            self.client.cancel(list(self.data.values()))
        self._scatters += 1
        keys = {name: f"candles-{self.run_key}-{self._scatters}-{name}" for name in self._arrays}
        scattered = self.client.scatter({keys[n]: a for n, a in self._arrays.items()}, broadcast=True, hash=False)
        self.data = {name: scattered[key] for name, key in keys.items()}

    def _data_lost(self) -> bool:
        return any(future.status != "finished" for future in self.data.values())

    @classmethod
    def connect(
        cls, executor: str, spec: RunSpec, candles: Candles, timeout: float = CONNECT_SECONDS
    ) -> DaskExecutor:
        """Connect to the scheduler named by ``dask://HOST:PORT``; `SchedulerUnreachable`
        (naming the address and the reason) when nothing answers within ``timeout`` seconds."""
        from distributed import Client

        address = dask_address(executor)
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, concurrent.futures.TimeoutError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        return cls(client, spec, candles, own_client=True, address=address)

    def _worker_addresses(self) -> list[str]:
        return list(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def _wait_for_workers(self) -> None:
        if self._worker_addresses():
            return
        log.info("the Dask scheduler at %s has no worker yet; waiting up to %.0f s", self.address,
                 WORKERS_WAIT_SECONDS)  # fmt: skip
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_WAIT_SECONDS)
        except (TimeoutError, concurrent.futures.TimeoutError) as exc:
            raise ClusterError(f"the Dask scheduler at {self.address} has no worker (waited "
                               f"{WORKERS_WAIT_SECONDS:.0f} s): start one with dask worker {self.address}") from exc

    def _check_new_workers(self) -> list[str]:
        """Ask each worker not asked yet whether it can import this project; the
        workers' addresses."""
        workers = self._worker_addresses()
        new = [w for w in workers if w not in self._checked]
        if new:
            failures = import_failures(self.client, new)
            if failures:
                raise cannot_import(failures)
            self._checked.update(new)
        return workers

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """Statistics of each task, in order; ``on_result(index, stats)`` is called
        for each result as it is collected; see `Worker.evaluate_batch` for ``keep``.
        A batch whose task fails on the cluster (its workers died too often) comes
        back as failed evaluations; a lost scheduler raises `ClusterLost`."""
        self._scheduler_there()
        self.workers = max(1, len(self._check_new_workers()))
        n = len(tasks)
        size = max(1, -(-n // (self.workers * BATCHES_PER_WORKER)))
        batches = [list(tasks[i : i + size]) for i in range(0, n, size)]
        futures = [
            self.client.submit(
                _evaluate_on_worker, self.run_key, self.spec, self.data, self.bar_ns, batch, keep, pure=False
            )
            for batch in batches
        ]
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
        a worker, cancelled) is sent again, with the data scattered again if it was
        lost, up to `BATCH_RETRIES` times, then `ClusterLost`: a cluster's fault is
        never counted as failed evaluations. ``futures[k]`` follows the retries."""
        from distributed import KilledWorker

        retries = 0
        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except (TimeoutError, concurrent.futures.TimeoutError):
                self._alive()
            except ImportError as exc:  # a worker that joined without the project
                failures = import_failures(self.client) if self.client.status == "running" else {}
                raise cannot_import(failures) if failures else ClusterError(
                    f"a Dask worker of {self.address} cannot import the optimizer: {exc}") from exc  # fmt: skip
            except KilledWorker as exc:
                log.warning("a Dask batch of %d individuals failed: %s", len(batch), exc)
                error = f"Dask task failed: {type(exc).__name__}: {exc}"
                return [failure(self.config, genes, error) for _, genes in batch]
            except Exception as exc:
                self._alive()  # a cancelled future: the scheduler is gone
                retries += 1
                if retries > BATCH_RETRIES:
                    raise ClusterLost(f"a batch of {len(batch)} evaluations failed {retries} times on the Dask "
                                      f"cluster at {self.address} ({type(exc).__name__}: {exc}); the last finished "
                                      "generation is checkpointed: resume once the cluster is healthy") from exc  # fmt: skip
                lost = self._data_lost()
                log.warning("a Dask batch of %d individuals failed (%s: %s); sending it again%s", len(batch),
                            type(exc).__name__, exc, " with the candles scattered again" if lost else "")  # fmt: skip
                if lost:
                    self._scatter()
                future = futures[k] = self.client.submit(
                    _evaluate_on_worker, self.run_key, self.spec, self.data, self.bar_ns, batch, keep, pure=False
                )

    def _scheduler_there(self) -> None:
        """`ClusterLost` if the client has lost the scheduler (no round trip)."""
        status = self.client.status
        if status != "running":
            raise ClusterLost(f"lost the Dask scheduler at {self.address} mid-run (client {status}); the last "
                              "finished generation is checkpointed: resume once the scheduler is back")  # fmt: skip

    def _alive(self) -> None:
        """`ClusterLost` if the scheduler is gone, or no worker was left for
        `NO_WORKERS_SECONDS`."""
        self._scheduler_there()
        if self.client.scheduler_info(n_workers=-1).get("workers"):
            self._without_workers = None
            return
        now = time.monotonic()
        self._without_workers = self._without_workers or now
        if now - self._without_workers > NO_WORKERS_SECONDS:
            raise ClusterLost(f"the Dask scheduler at {self.address} has had no worker for "
                              f"{NO_WORKERS_SECONDS:.0f} s; resume once workers are back")  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """Where this executor evaluates: ``executor`` ``dask``, ``scheduler``,
        ``workers`` (now) and ``cores`` (their threads)."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        cores = sum(int(w.get("nthreads", 0)) for w in workers.values())
        return {"executor": "dask", "scheduler": self.address, "workers": len(workers), "cores": cores}

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
