"""The walk-forward loop: one full genetic search per fold, judged on the fold's test window.

Fold k (from 1) is a run of `optimizer.ga.Optimizer` with the run's ``ga``
settings and the seed `fold_seed` (fold 1: the run's own), on the fold's
training window; its test window is the optimizer's test period. All folds
evaluate on one executor, whose workers hold an engine per fold and phase
(`RunSpec.folds`): indicators are computed on all bars up to each bar, so the
bars before a training window warm it up and no bar after a window reaches a
decision in it. From the fold's elite the member best on ``walk_forward.select``
(default: the first objective) is carried forward: its parameters and its
training and test statistics are the fold's result, and its test backtest joins
the stitched out-of-sample curve (`optimizer.walk_forward.results`).

Each fold checkpoints in its own folder (``fold-K`` under the run's checkpoint
folder) after every generation; resumed, finished folds are read back from
theirs (replayed, not re-run) and the interrupted one goes on from its last
generation, so the result is that of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimizer.cache import DEFAULT_CACHE_BYTES, ArrayCache
from optimizer.checkpoint import has_checkpoint, run_fingerprint
from optimizer.config import RunConfig, parse_config
from optimizer.data import MarketData
from optimizer.engine import Engine
from optimizer.errors import ConfigError
from optimizer.evaluation import Executor, OnResult, SeriesFilter, Task
from optimizer.evaluation.worker import fold_phase
from optimizer.events import GenerationEvent
from optimizer.ga import Optimizer
from optimizer.periods import trading_days_for
from optimizer.stats import IndividualStats
from optimizer.walk_forward import results as wf
from optimizer.walk_forward.windows import FoldWindow

SEED_STEP = 7919  # fold k's seed: the run's + (k - 1) * SEED_STEP, modulo 2**32
STAMP = "walk_forward.json"  # the checkpoint folder's identity: which configuration, data and folds it is of


def walk_fingerprint(config: RunConfig, data_fingerprint: str, windows: Sequence[FoldWindow]) -> str:
    """SHA-256 of the whole configuration (its ``walk_forward`` section included),
    the data and the fold windows' bars: a walk-forward checkpoint's identity. Each
    fold's own checkpoint is fingerprinted without the section (`fold_config`), so
    this one is what tells a changed ``walk_forward`` (folds, train, test, mode,
    select ...) from the one the folds were checkpointed for."""
    digest = hashlib.sha256(run_fingerprint(config, data_fingerprint).encode())
    digest.update(json.dumps([[w.fold, w.train_start, w.test_start, w.test_stop] for w in windows]).encode())
    return digest.hexdigest()


def fold_seed(seed: int, fold: int) -> int:
    """The GA seed of fold ``fold`` (from 1) of a run seeded ``seed``; fold 1 keeps the run's."""
    return (seed + (fold - 1) * SEED_STEP) % 2**32


def has_fold_checkpoint(folder: str | Path) -> bool:
    """Whether a walk-forward's checkpoint folder holds a fold's checkpoint."""
    return any(has_checkpoint(path) for path in Path(folder).glob("fold-*"))


def fold_config(config: RunConfig, fold: int) -> RunConfig:
    """The configuration of one fold's search: the run's, without its
    ``walk_forward`` section, with the fold's seed."""
    raw = config.to_json()
    raw.pop("walk_forward", None)
    raw["ga"]["seed"] = fold_seed(config.ga.seed, fold)
    return parse_config(raw)


class FoldExecutor:
    """The run's executor as one fold's optimizer sees it: its ``train``, ``test``
    and ``stress`` tasks go to the fold's engines. Closing it leaves the run's open."""

    def __init__(self, executor: Executor, fold: int) -> None:
        self.executor = executor
        self.fold = fold
        self.workers = executor.workers

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        """`Executor.map` of the tasks in the fold's phases."""
        return self.executor.map([(fold_phase(phase, self.fold), genes) for phase, genes in tasks],
                                 on_result=on_result, keep=keep)  # fmt: skip

    def close(self) -> None:
        """Nothing: the run's executor belongs to the walk-forward."""


@dataclass(frozen=True)
class FoldEvent:
    """A generation of fold ``fold`` of ``folds``; ``done`` of ``total`` generations
    over all folds (a fold that stalls early shortens the total), ``eta_seconds``
    over all of them (None before a rate is known)."""

    fold: int
    folds: int
    event: GenerationEvent
    done: int
    total: int
    eta_seconds: float | None


class WalkForward:
    """The walk-forward of ``config`` (which has a ``walk_forward`` section) on
    ``market``, over the fold ``windows``, evaluating on ``executor`` (built with
    `RunSpec.folds` of those windows). ``checkpoint_dir``: where each fold's
    folder goes; ``resume``: go on from what is there."""

    def __init__(
        self,
        config: RunConfig,
        market: MarketData,
        executor: Executor,
        windows: Sequence[FoldWindow],
        *,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
    ) -> None:
        section = config.settings.walk_forward
        if section is None:
            raise ValueError("the configuration has no walk_forward section")
        self.config = config
        self.section = section
        self.market = market
        self.executor = executor
        self.windows = list(windows)
        self.folder = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.resume = resume
        self.results: list[wf.FoldResult] = []
        self.generations: list[dict[str, Any]] = []  # every fold's generation summaries, tagged with the fold
        self.optimizer: Optimizer | None = None  # the current (at the end: the last) fold's
        self.trading_days = trading_days_for(config.execution.trading_days, market.candles.time)
        self._cache = ArrayCache(DEFAULT_CACHE_BYTES)  # the coordinator's own test backtests
        self._select, self._goal = _selection(config)
        self.fingerprint = walk_fingerprint(config, market.fingerprint(), self.windows)
        if self.folder is not None:
            if resume:
                self._check_stamp()
            else:
                for old in self.folder.glob("fold-*"):  # a fresh run: no fold of an earlier one is taken for its
                    shutil.rmtree(old, ignore_errors=True)
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / STAMP).write_text(json.dumps({"fingerprint": self.fingerprint}), encoding="utf-8")

    def _check_stamp(self) -> None:
        """Refuse to resume from a folder without a fold's checkpoint, or whose folds
        belong to another configuration (``walk_forward`` section included), data or folds."""
        assert self.folder is not None
        if not has_fold_checkpoint(self.folder):
            raise ConfigError(f"resume: no checkpoint in {self.folder}")
        path = self.folder / STAMP
        try:
            stamp = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = None
        if not isinstance(stamp, dict) or stamp.get("fingerprint") != self.fingerprint:
            raise ConfigError(f"resume: {path} belongs to another configuration or dataset")

    @property
    def finished(self) -> bool:
        """Whether every fold is done."""
        return len(self.results) == len(self.windows)

    def run(
        self,
        should_stop: Callable[[], bool] | None = None,
        on_fold: Callable[[wf.FoldResult], None] | None = None,
    ) -> Iterator[FoldEvent]:
        """Run the remaining folds, yielding a `FoldEvent` per generation. ``should_stop``
        is asked after each generation; True ends the loop, resumable. ``on_fold`` is
        called with each fold's result as the fold ends (finished folds read back
        on a resume included), before the next fold starts."""
        while not self.finished:
            window = self.windows[len(self.results)]
            optimizer = self.optimizer = self._optimizer(window)
            for event in optimizer.generations(should_stop):
                yield self._fold_event(window, event)
            if not optimizer.finished:
                return
            self.generations.extend({"fold": window.fold, **optimizer.summary(row)} for row in optimizer.logbook)
            self.results.append(self._fold_result(window, optimizer))
            if on_fold is not None:
                on_fold(self.results[-1])

    def _fold_folder(self, fold: int) -> Path:
        assert self.folder is not None
        return self.folder / f"fold-{fold}"

    def _optimizer(self, window: FoldWindow) -> Optimizer:
        config = fold_config(self.config, window.fold)
        folder = None if self.folder is None else self._fold_folder(window.fold)
        resume = folder is not None and self.resume and has_checkpoint(folder)
        return Optimizer(config, self.market, FoldExecutor(self.executor, window.fold),  # type: ignore[arg-type]
                         split=window.test_start, checkpoint_dir=folder, resume=resume)  # fmt: skip

    def _fold_event(self, window: FoldWindow, event: GenerationEvent) -> FoldEvent:
        per_fold = event.generations_total
        done_before = sum(r.generations for r in self.results)
        left = len(self.windows) - window.fold
        eta = event.eta_seconds
        if eta is not None and left:
            remaining = 0 if event.finished else per_fold - event.generation
            per_generation = eta / remaining if remaining else event.elapsed_seconds / max(event.generation, 1)
            eta += per_generation * per_fold * left
        return FoldEvent(window.fold, len(self.windows), event, done_before + event.generation,
                         done_before + (per_fold if not event.finished else event.generation) + per_fold * left,
                         eta)  # fmt: skip

    def _fold_result(self, window: FoldWindow, optimizer: Optimizer) -> wf.FoldResult:
        ledger = optimizer.ledger
        valid = [ind.id for ind in optimizer.elite.members() if ind.id is not None and ledger.is_valid(ind.id)]
        scored = [(i, ledger.stats[i].metric(self._select)) for i in valid]
        scored = [(i, v) for i, v in scored if v is not None]
        params = train = test = backtest = chosen = None
        if scored:
            sign = -1.0 if self._goal == "min" else 1.0
            chosen = max(scored, key=lambda item: (sign * item[1], -valid.index(item[0])))[0]  # ties: elite order
            train = ledger.stats[chosen]
            params = dict(train.params)
            engine = Engine(optimizer.config, self.market, start=window.test_start, stop=window.test_stop,
                            cache=self._cache)  # fmt: skip
            test = ledger.test.get(chosen) or engine.evaluate(params)
            backtest = engine.backtest(params)
        note = None if scored else wf.empty_fold_note(window.fold, list(ledger.stats.values()),
                                                       sum(1 for i in ledger.stats if ledger.is_valid(i)),
                                                       optimizer.config.ga.min_trades, self._select)  # fmt: skip
        return wf.FoldResult(window, optimizer.config.ga.seed, params, train, test, backtest, optimizer.evaluations,
                             optimizer.failed_evaluations, optimizer.generation,
                             optimizer.generation < optimizer.generations_total,
                             optimizer.test_evaluations, note, chosen)  # fmt: skip

    # --------------------------------------------------------------- results
    def summary(self) -> dict[str, Any]:
        """The ``walk_forward`` object of the run's JSON output (docs/OPTIMIZER.md):
        ``folds``, ``stitched``, ``efficiency``, ``t_stat``, ``profitable_folds_pct``,
        ``max_fold_profit_share``, ``drift``, ``passed``, ``criteria``. Call when finished."""
        if not self.finished:
            raise RuntimeError("the walk-forward has not finished")
        time = self.market.candles.time
        costs = self._costs()
        stitched, profits, backtest = wf.stitched_stats(self.results, self.market, self.trading_days, costs)
        eff = wf.efficiency(stitched, self.results)
        profitable = sum(1 for f in self.results if f.test is not None and (f.test.total_return_pct or 0.0) > 0)
        profitable_pct = 100.0 * profitable / len(self.results)
        share = wf.profit_share(profits)
        criteria = wf.criteria(self.section.criteria, stitched, eff, profitable_pct, share)
        return {
            "mode": self.section.mode,
            "select": {"metric": self._select, "goal": self._goal},
            "folds": [fold.to_dict(time) for fold in self.results],
            "stitched": wf.end_of_fold(stitched.to_dict(), self.results[-1].window.to_dict(time)["test_end"]),
            "fold_profits_pct": [p * 100.0 for p in profits],
            "efficiency": eff,
            "t_stat": wf.t_stat(backtest.equity),
            "profitable_folds_pct": profitable_pct,
            "max_fold_profit_share": share,
            "drift": wf.drift(self.results, self.config.genes),
            "evaluations": sum(f.evaluations for f in self.results),
            "failed_evaluations": sum(f.failed_evaluations for f in self.results),
            "test_evaluations": sum(f.test_evaluations for f in self.results),
            "passed": all(c["passed"] for c in criteria),
            "criteria": criteria,
        }

    def _costs(self) -> tuple[float, float]:
        """Commission and slippage of buy and hold on the stitched bars: those of the
        first fold's selected member (costs may be genes)."""
        for fold in self.results:
            if fold.params is not None:
                strategy = Engine(self.config, self.market, cache=self._cache).strategy(fold.params)
                return strategy.commission, strategy.slippage
        return 0.0, 0.0


def _selection(config: RunConfig) -> tuple[str, str]:
    """The metric that picks a fold's member, and its goal."""
    section = config.settings.walk_forward
    assert section is not None
    metric = section.select or config.objectives[0].metric
    goals = {o.metric: o.goal for o in config.objectives}
    return metric, section.select_goal or goals.get(metric, "max")
