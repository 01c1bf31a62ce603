"""What runs in a worker: the engines of one run, built once, and safe evaluation.

A worker receives gene tuples and returns `IndividualStats` (numbers, numpy arrays
and small dicts). An individual whose evaluation raises comes back as a failure
carrying its error; the worker and the run go on. Given a `SeriesFilter`, it
drops the trades and equity of the evaluations the filter does not keep.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from optimizer.cache import ArrayCache
from optimizer.config import RunConfig, parse_config
from optimizer.data import Candles, MarketData
from optimizer.engine import Engine, warm_up_kernels
from optimizer.errors import ConfigError
from optimizer.plugins import load_plugins
from optimizer.stats import IndividualStats
from optimizer.strategy import decode

log = logging.getLogger(__name__)

TRAIN = "train"
TEST = "test"
STRESS = "stress"  # the training period with commission and slippage doubled (the robustness cost stress)
WORKER_CACHE_BYTES = 128 * 1024 * 1024
Task = tuple[str, tuple[float, ...]]  # (phase, genes in [0, 1])
OnResult = Callable[[int, IndividualStats], None]  # (task index, its statistics)


class SeriesFilter(Protocol):
    """Which evaluations keep their trades and equity (picklable: it travels with
    every batch); `optimizer.objectives.EliteBar` is the optimizer's."""

    def keeps(self, stats: IndividualStats) -> bool: ...


@dataclass(frozen=True)
class RunSpec:
    """What a worker needs to build its engines, besides the data: small, picklable.

    ``config`` is the run configuration (JSON object); ``split`` the first test bar
    (None: no test period). ``folds``: a walk-forward's windows, each
    ``(train_start, test_start, test_stop)`` bar indices; fold k (from 1) is
    evaluated with the phases ``fold_phase(TRAIN, k)``, ``fold_phase(TEST, k)``
    and ``fold_phase(STRESS, k)``.
    """

    config: dict[str, Any]
    split: int | None
    folds: tuple[tuple[int, int, int], ...] = ()


def fold_phase(phase: str, fold: int) -> str:
    """The phase of walk-forward fold ``fold`` (from 1) that ``phase`` stands for: ``train@2``."""
    return f"{phase}@{fold}"


def failure(config: RunConfig, genes: Sequence[float], error: str) -> IndividualStats:
    """The statistics of an individual that could not be evaluated (with its
    parameters, when the genes decode)."""
    try:
        params = decode(config, genes)
    except ValueError:
        params = {}
    return IndividualStats.failure(params, error)


class Worker:
    """The engines of one run on one dataset, sharing one indicator cache."""

    def __init__(self, spec: RunSpec, candles: Candles, *, cache_bytes: int = WORKER_CACHE_BYTES) -> None:
        load_plugins()
        self.config = parse_config(spec.config)
        market = MarketData(candles)
        cache = ArrayCache(cache_bytes)
        stop = spec.split if spec.split is not None else len(market)
        self.engines = {TRAIN: Engine(self.config, market, stop=stop, cache=cache)}
        if spec.split is not None:
            self.engines[TEST] = Engine(self.config, market, start=spec.split, cache=cache)
        stressed = stressed_config(self.config)
        if stressed is not None:
            self.engines[STRESS] = Engine(stressed, market, stop=stop, cache=cache)
        for fold, (train_start, test_start, test_stop) in enumerate(spec.folds, start=1):
            self.engines[fold_phase(TRAIN, fold)] = Engine(self.config, market, start=train_start, stop=test_start,
                                                           cache=cache)  # fmt: skip
            self.engines[fold_phase(TEST, fold)] = Engine(self.config, market, start=test_start, stop=test_stop,
                                                          cache=cache)  # fmt: skip
            if stressed is not None:
                self.engines[fold_phase(STRESS, fold)] = Engine(stressed, market, start=train_start,
                                                                stop=test_start, cache=cache)  # fmt: skip

    def warm_up(self) -> None:
        """Load the compiled kernels (numba's cache) on a few synthetic bars, so that
        a fresh worker's first individual is not slower than the rest. No user
        signal runs here: a faulty plugin cannot break a worker's start."""
        warm_up_kernels()

    def evaluate(self, phase: str, genes: Sequence[float]) -> IndividualStats:
        """Full statistics of ``genes`` on the ``phase`` period; a failure if it raises."""
        params: dict[str, Any] = {}
        try:
            params = decode(self.config, genes)
            return self.engines[phase].evaluate(params)
        except Exception as exc:  # one individual's error must not end the run
            if interrupt_behind(exc):  # but Ctrl-C must: it is the user's, not the individual's
                raise KeyboardInterrupt from exc
            log.warning("individual %s failed: %s: %s", params, type(exc).__name__, exc)
            return IndividualStats.failure(params, f"{type(exc).__name__}: {exc}")

    def evaluate_batch(
        self, batch: Sequence[tuple[str, Sequence[float]]], keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """Evaluate ``(phase, genes)`` pairs in order; with ``keep``, those that it
        does not keep come without their trades and equity."""
        results = [self.evaluate(phase, genes) for phase, genes in batch]
        if keep is not None:
            for stats in results:
                if not keep.keeps(stats):
                    stats.drop_series()
        return results


class NoSeries:
    """A `SeriesFilter` that keeps no trades and equity (neighbours, cost stress)."""

    def keeps(self, stats: IndividualStats) -> bool:
        return False


def stressed_config(config: RunConfig) -> RunConfig | None:
    """``config`` with commission and slippage doubled (fixed values, or both ends
    of a range: a gene decodes to twice its value at the same position), for the
    cost stress of the robustness statistics; None when robustness is off or
    doubled costs are not a valid configuration (a cost of 50 % or more)."""
    if not config.robustness.enabled:
        return None
    raw = copy.deepcopy(config.raw)
    execution = raw.setdefault("execution", {})
    for name in ("commission", "slippage"):
        value = execution.get(name, 0.0)
        if isinstance(value, dict):
            execution[name] = {**value, "min": value["min"] * 2, "max": value["max"] * 2}
        else:
            execution[name] = value * 2
    try:
        return parse_config(raw)
    except ConfigError:
        return None


def interrupt_behind(exc: BaseException) -> bool:
    """Whether a Ctrl-C (`KeyboardInterrupt`) caused ``exc``. When it arrives while
    numba's dispatcher runs, the dispatcher returns with it set and Python raises
    ``SystemError: ... returned a result with an exception set`` caused by it: an
    `Exception` that would otherwise record the individual as failed and go on."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False
