"""What a run may ask of this server, checked when it is submitted, and how long it
will take.

`check_submission` applies the server's limits (worker processes, evaluations per
run) and the checks that need the dataset (signal timeframes against its bar
size, the split against its dates and bars) to a parsed configuration, so that a
run that cannot work is refused with 400 at submission instead of failing when
it starts; it answers the run's `estimate`. The dataset checks are the very
functions the run process starts with (`check_compatible`, `holdout_start`).

On a Dask cluster (`Limits.cluster`) a run ignores its configuration's ``workers``:
it is neither refused against ``--max-workers`` nor counted against this machine's
cores, and the estimate uses the cluster's worker count as last read (or says that
it is unknown).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.config import RunConfig
from optimizer.data import MarketData, load_candles
from optimizer.engine import check_compatible
from optimizer.errors import ConfigError, InputError
from optimizer.split import holdout_start

# The estimate's model of one evaluation on one core, backtest and statistics
# (fitted to two measurements on a 2-core machine: ~0.55 ms for 2 signals on 5,000
# EURUSD hours, bench/optimizer.py; ~2.1 ms for 3 signals on 13,680 BTC minutes, a
# 300 x 40 run), plus what a generation costs the coordinator (selection,
# checkpoint, storage), and a process's start: its workers and their compiled
# kernels (about 10 s; the first run after an install compiles them, ~30 s more).
SECONDS_PER_EVALUATION = 5e-5
SECONDS_PER_BAR = 5e-8  # per signal
SECONDS_PER_GENERATION = 0.1
SECONDS_TO_START = 10.0


@dataclass(frozen=True)
class OnCluster:
    """Runs evaluate on the Dask cluster at ``scheduler``; ``workers`` is its count of
    workers that can import the project as last read, None when unknown
    (``unknown_because`` says why); ``read_at`` (ISO 8601 UTC) when that reading is old."""

    scheduler: str
    workers: int | None
    unknown_because: str | None = None
    read_at: str | None = None


@dataclass(frozen=True)
class Limits:
    """A server's limits per run: worker processes and evaluations (population x
    generations); ``cluster`` when runs evaluate on a Dask cluster (None: local pools)."""

    max_workers: int
    max_evaluations: int
    cores: int = os.cpu_count() or 1
    cluster: OnCluster | None = None


def planned_evaluations(config: RunConfig) -> int:
    """Evaluations the run asks for at most: population x generations (1 without genes:
    a single backtest). Cached repeats make the real count lower."""
    folds = _folds(config)
    if not config.genes:
        return folds
    return config.ga.population * config.ga.generations * folds


def _folds(config: RunConfig) -> int:
    """A walk-forward's folds (each a whole search); 1 for a plain run."""
    section = config.settings.walk_forward
    return 1 if section is None else section.folds


def workers_error(workers: int, limits: Limits) -> str | None:
    """Why this server refuses ``workers`` processes, or None (a cluster run does not
    use them)."""
    if limits.cluster is None and workers > limits.max_workers:
        return (f"workers: {workers} is more than this server allows ({limits.max_workers}; "
                "its administrator sets --max-workers); 0 uses one per core")  # fmt: skip
    return None


def limit_errors_of_invalid(body: Any, details: list[str], limits: Limits) -> list[str]:
    """The server's limits that a submission the schema refused (``details``) breaks
    as well, read from its raw document where the field itself is valid, so that
    one answer names them all."""
    workers = body.get("workers") if isinstance(body, dict) else None
    if type(workers) is not int or any(d.startswith("workers:") for d in details):
        return []
    found = workers_error(workers, limits)
    return [found] if found else []


def check_submission(config: RunConfig, dataset: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The run's `estimate`, or `ConfigError` with one line per limit or dataset
    check it fails (``workers: ...``, ``ga: ...``, ``split.test_from: ...``)."""
    errors = [found] if (found := workers_error(config.workers, limits)) else []
    evaluations = planned_evaluations(config)
    if evaluations > limits.max_evaluations:
        folds = f" x walk_forward.folds {_folds(config)}" if config.settings.walk_forward is not None else ""
        errors.append(f"ga: population {config.ga.population} x generations {config.ga.generations}{folds} = "
                      f"{evaluations:,} evaluations is more than this server allows per run "
                      f"({limits.max_evaluations:,}; its administrator sets --max-evaluations)")  # fmt: skip
    market = None
    try:
        market = dataset_market(dataset["path"], config.data.timestamps)
    except (InputError, OSError) as exc:  # the file changed or went since it was validated
        errors.append(f"data.dataset: {dataset['id']!r} cannot be read: {exc}")
    if market is not None:
        errors += _dataset_errors(config, market)
    if errors:
        raise ConfigError(errors)
    assert market is not None
    return estimate(config, len(market), limits)


def _dataset_errors(config: RunConfig, market: MarketData) -> list[str]:
    """The checks a run process makes on its data, made now."""
    errors: list[str] = []
    try:
        check_compatible(config, market)
    except ConfigError as exc:
        errors += exc.details
    split = config.split
    if split is not None and split.test_from is not None:
        try:
            stamp = pd.Timestamp(split.test_from)
        except (ValueError, TypeError):
            return [*errors, f"split.test_from: {split.test_from!r} is not an ISO 8601 date"]
        if pd.isna(stamp):
            return [*errors, f"split.test_from: {split.test_from!r} is not a date"]
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        first, last = (pd.Timestamp(int(t), tz="UTC") for t in market.candles.time[[0, -1]])
        if not first < stamp <= last:
            return [*errors, f"split.test_from: {split.test_from} lies outside the dataset, whose bars open "
                             f"from {first.isoformat()} to {last.isoformat()}"]  # fmt: skip
    try:
        holdout_start(config, market)
        if config.settings.walk_forward is not None:
            from optimizer.walk_forward import windows_of

            windows_of(config, market)
    except ConfigError as exc:
        errors += exc.details
    return errors


def estimate(config: RunConfig, bars: int, limits: Limits) -> dict[str, Any]:
    """A rough upper bound of the run's wall time where it will evaluate: ``evaluations``
    (planned), ``workers`` (processes that will evaluate), ``seconds``, ``mode``
    (``local`` or ``dask``); on a cluster also ``scheduler`` and, when the cluster's
    worker count is unknown, ``note`` (the time is then for 1 worker)."""
    evaluations = planned_evaluations(config)
    where, note = _parallelism(config, limits)
    workers = where["workers"] if config.genes else 1
    per_evaluation = SECONDS_PER_EVALUATION + bars * SECONDS_PER_BAR * max(1, len(config.strategy.signals))
    generations = (config.ga.generations if config.genes else 1) * _folds(config)
    seconds = SECONDS_TO_START + evaluations * per_evaluation / workers + generations * SECONDS_PER_GENERATION
    answer = {"evaluations": evaluations, **where, "workers": workers, "seconds": round(seconds, 1)}
    if note is not None and config.genes:
        answer["note"] = note
    return answer


def _parallelism(config: RunConfig, limits: Limits) -> tuple[dict[str, Any], str | None]:
    """Where the run evaluates (``mode``, ``workers``, ``scheduler``) and a note when
    the worker count is a guess: the config's ``workers`` (0: one per core) up to this
    machine's cores locally, the cluster's worker count on a cluster."""
    cluster = limits.cluster
    if cluster is None:
        return {"mode": "local", "workers": min(config.workers or limits.cores, limits.cores)}, None
    where = {"mode": "dask", "scheduler": cluster.scheduler, "workers": max(1, cluster.workers or 0)}
    if cluster.workers is None:
        return where, (f"the worker count of the Dask cluster at {cluster.scheduler} is unknown "
                       f"({cluster.unknown_because}): the time is for 1 worker")  # fmt: skip
    when = f"at {cluster.read_at}" if cluster.read_at else "now"
    if cluster.workers == 0:
        return where, (f"the Dask cluster at {cluster.scheduler} has no worker that can import the optimizer "
                       f"{when}: the time is for 1 worker")  # fmt: skip
    if cluster.read_at:
        return where, f"the worker count of the Dask cluster at {cluster.scheduler} as read at {cluster.read_at}"
    return where, None


def dataset_market(path: str, timestamps: str) -> MarketData:
    """The candles of a dataset's file (read once per file version and timestamps)."""
    file = Path(path)
    return _market(str(file), file.stat().st_mtime_ns, timestamps)


@functools.lru_cache(maxsize=4)
def _market(path: str, mtime_ns: int, timestamps: str) -> MarketData:
    return MarketData(load_candles(path, timestamps=timestamps))
