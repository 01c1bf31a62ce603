"""What a run on a Dask cluster checks, and the errors it ends with: the scheduler's
address, whether the workers (and the scheduler) can import this project, how
long a run waits for a worker, and the `ClusterError` family, each ``str()`` one
line naming the scheduler or the worker, the reason and what to do. See
`optimizer.evaluation.dask_cluster`."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from optimizer.evaluation.pool import WorkerStartError

log = logging.getLogger(__name__)

NO_WORKERS_SECONDS = 120.0
"""How long a map waits with no (usable) worker left before the cluster counts as lost
(seconds); ``OPTIMIZER_DASK_WAIT_SECONDS`` in the environment sets another."""
WAIT_ENV = "OPTIMIZER_DASK_WAIT_SECONDS"
PROJECT_MODULE = "optimizer.evaluation.dask_cluster"
"""What a worker must import to evaluate (it imports the whole engine)."""


class ClusterError(WorkerStartError):
    """A Dask cluster that cannot evaluate the run; ``str()`` is one line naming
    the scheduler or the worker, and the reason."""


class SchedulerUnreachable(ClusterError):
    """No Dask scheduler answers at the address (the run does not start)."""


class WorkerCannotImport(ClusterError):
    """A Dask worker, or the scheduler, lacks this project (or one of its dependencies)."""


class ClusterLost(ClusterError):
    """The scheduler went away mid-run, or every worker did: the run can resume from
    its last checkpoint once the cluster is back."""


def no_workers_seconds() -> float:
    """How long a run waits mid-run for a usable worker (seconds): `NO_WORKERS_SECONDS`,
    or ``OPTIMIZER_DASK_WAIT_SECONDS`` from the environment."""
    text = os.environ.get(WAIT_ENV, "")
    try:
        return max(0.0, float(text)) if text else NO_WORKERS_SECONDS
    except ValueError:
        log.warning("%s=%r is not a number of seconds; waiting %.0f s", WAIT_ENV, text, NO_WORKERS_SECONDS)
        return NO_WORKERS_SECONDS


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, without a final full stop (a sentence goes on after it)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text.rstrip(".")


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
