"""The robustness statistics of a run (issue 15), computed in the run process.

Once, after the run's last generation (not after each: the neighbourhood and the
cost stress cost evaluations, and only the final elite is reported), from what
the run already keeps plus a few evaluations through the run's own executor:

* for the run (`RunRobustness.analyse`'s first value): the PBO by CSCV over the
  per-block return sums of every evaluation that did not fail, with its logits,
  the IS and OOS Sharpe ratios of each split's selection and the degradation
  line; ``trials`` (distinct parameter sets evaluated without failure) and
  ``trials_variance`` (the variance of their per-bar Sharpe ratios);
* for each elite member: the DSR against those trials, the PSR against 0 and the
  minimum track record length (bars) from its own per-bar Sharpe ratio, bars,
  skewness and kurtosis; its neighbourhood (K seeded neighbours: each integer
  gene moved by -1, 0 or +1, each float gene by up to ``jitter`` of its range,
  clipped to the range) as the neighbours' median and minimum of each objective
  and the plateau ratio median / own; Monte Carlo of its trade returns; and the
  cost stress (the training period again with commission and slippage doubled).

Everything is seeded from ``ga.seed`` and the member's id (the neighbours) or its
trades (the Monte Carlo, so that a re-run of the member reproduces it), so a run's
statistics are the same on every executor and after a resume. Neighbours already evaluated
(by the search or for another member) are not evaluated again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from optimizer.config import RunConfig
from optimizer.evaluation import STRESS, TRAIN, NoSeries, default_workers
from optimizer.ledger import Ledger, ParamsKey
from optimizer.robustness import (
    deflated_sharpe_ratio,
    min_track_record_length,
    monte_carlo,
    pbo_from_blocks,
    probabilistic_sharpe_ratio,
)
from optimizer.stats import IndividualStats
from optimizer.stats_codec import block_columns
from optimizer.strategy import decode_keys

log = logging.getLogger(__name__)

NEIGHBOUR_STREAM = 1  # the seed streams of a member's neighbours and Monte Carlo
MONTE_CARLO_STREAM = 2


def monte_carlo_seed(seed: int, returns: np.ndarray) -> int:
    """The Monte Carlo's seed of a member: from ``ga.seed`` and its trades' returns
    themselves, so that the same trades resample the same way in any run (a re-run of
    the member as a single backtest reproduces its figures; a member's id differs)."""
    digest = int.from_bytes(hashlib.blake2b(np.ascontiguousarray(returns, np.float64).tobytes(), digest_size=8).digest())
    return int(np.random.SeedSequence([seed, digest, MONTE_CARLO_STREAM]).generate_state(1)[0])


def neighbour_genes(config: RunConfig, genes: Sequence[float], member_id: int) -> list[tuple[float, ...]]:
    """The ``robustness.neighbours`` neighbours of a gene vector (positions in [0, 1]),
    seeded by ``ga.seed`` and ``member_id``: integer genes move by -1, 0 or +1 (in
    their own unit), float genes by a uniform draw in +-``jitter`` of their range;
    both stay within the range."""
    settings = config.robustness
    rng = np.random.default_rng([config.ga.seed, member_id, NEIGHBOUR_STREAM])
    values = config.decoder.values(genes)
    out = []
    for _ in range(settings.neighbours):
        vector = []
        for gene, value in zip(config.genes, values, strict=True):
            if gene.integer:
                moved = min(max(value + int(rng.integers(-1, 2)), gene.low), gene.high)
            else:
                step = float(rng.uniform(-settings.jitter, settings.jitter)) * (gene.high - gene.low)
                moved = min(max(value + step, gene.low), gene.high)
            vector.append(gene.to_unit(moved))
        out.append(tuple(vector))
    return out


def trade_returns(stats: IndividualStats) -> np.ndarray:
    """Each closed trade's return on the equity before it (fractions, compounded
    trade after trade), from the cumulative P&L history (percent of the start)."""
    equity = 1.0 + np.asarray(stats.pnl_history, dtype=np.float64) / 100.0
    before = np.concatenate(([1.0], equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, equity / before - 1.0, 0.0)


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


class RunRobustness:
    """The robustness analysis of one run (see the module docstring)."""

    def __init__(self, config: RunConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger
        self.metrics = [o.metric for o in config.objectives]
        self._neighbours: dict[ParamsKey, IndividualStats] = {}  # neighbours evaluated here, by parameters
        self._stress: dict[ParamsKey, IndividualStats] = {}
        self.seconds = 0.0  # wall time of the last `analyse`

    def analyse(self, members: Sequence[Any]) -> dict[str, Any]:
        """``{"run": {...}, "members": {id: {...}}}`` for the elite ``members``
        (individuals with ids, best first). The members' Monte Carlo runs on threads
        (one per CPU; numpy and its compiled walk release the GIL) beside the PBO and
        the neighbours' evaluations: it needs neither, and each member's figures
        depend on its trades alone."""
        started = time.perf_counter()
        threads = ThreadPoolExecutor(max_workers=max(1, min(len(members), default_workers())))
        try:
            # The trades are read here: a thread touches no statistics object (their arrays unpack lazily).
            carlo = {ind.id: threads.submit(self._monte_carlo, trade_returns(self.ledger.stats[ind.id]))
                     for ind in members}  # fmt: skip
            run = self.run_statistics()
            neighbours, stress = self._evaluate(members)
            out = {}
            for ind in members:
                stats = self.ledger.stats[ind.id]
                member = {
                    "dsr": _number(deflated_sharpe_ratio(stats.sharpe_per_bar, stats.bars, stats.returns_skewness,
                                                         stats.returns_kurtosis, run["trials"], run["trials_variance"]))
                           if run["trials"] else None,  # no evaluation succeeded: nothing to deflate against
                    "psr": _number(probabilistic_sharpe_ratio(stats.sharpe_per_bar, stats.bars, stats.returns_skewness,
                                                              stats.returns_kurtosis)),
                    "min_track_record": _number(min_track_record_length(stats.sharpe_per_bar, stats.returns_skewness,
                                                                        stats.returns_kurtosis)),
                }  # fmt: skip
                member.update(self._neighbourhood(stats, neighbours[ind.id]))
                mc = carlo[ind.id].result()
                member["mc_return_pct"] = mc.get("mc_return_pct")
                member["mc_drawdown_pct"] = mc.get("mc_drawdown_pct")
                member["ruin_probability"] = mc.get("ruin_probability")
                member["mc_fan"] = mc.get("fan")
                stressed = stress.get(ind.id)
                member["stress_return_pct"] = None if stressed is None or stressed.failed else stressed.total_return_pct
                out[str(ind.id)] = member
        finally:
            threads.shutdown(cancel_futures=True)  # an interrupted analysis does not wait for the others
        self.seconds = time.perf_counter() - started
        log.info("robustness of %d elite members in %.2f s", len(members), self.seconds)
        return {"run": run, "members": out}

    def _monte_carlo(self, returns: np.ndarray) -> dict[str, Any]:
        """The Monte Carlo of one member's trade returns (empty without trades or with it off)."""
        settings = self.config.robustness
        if not settings.monte_carlo or not len(returns):
            return {}
        return monte_carlo(returns, settings.monte_carlo, monte_carlo_seed(self.config.ga.seed, returns),
                           settings.ruin_drawdown)  # fmt: skip

    # ------------------------------------------------------------------ run
    def run_statistics(self) -> dict[str, Any]:
        """The run's PBO (None with fewer than 2 candidates) and the trials the DSR deflates by."""
        blocks = self.config.robustness.blocks
        candidates = [s for _, s in sorted(self.ledger.stats.items())
                      if not s.failed and s.array_length("block_counts") == blocks]  # fmt: skip
        sharpes = [s.sharpe_per_bar for s in candidates if s.sharpe_per_bar is not None]
        out: dict[str, Any] = {
            "pbo": None, "logits": [], "degradation_slope": None, "degradation_intercept": None,
            "prob_oos_loss": None, "is_sharpe": [], "oos_sharpe": [], "splits": 0, "candidates": len(candidates),
            "trials": len(candidates), "trials_variance": statistics.variance(sharpes) if len(sharpes) > 1 else 0.0,
            "blocks": blocks,
        }  # fmt: skip
        if len(candidates) >= 2:
            sums, squares, counts = block_columns(candidates, blocks)
            found = pbo_from_blocks(sums, squares, counts)
            found.pop("selected", None)  # columns of this call's matrix: meaningless outside it
            out.update(found)
            out["candidates"] = len(candidates)
        return out

    # ---------------------------------------------------------- neighbours
    def _evaluate(self, members: Sequence[Any]) -> tuple[dict[int, list[IndividualStats]], dict[int, IndividualStats]]:
        """Each member's neighbours' statistics (those the search made, or made here)
        and its training statistics with doubled costs (none when the doubled costs
        are not a valid configuration: `stressed_config`). What is not known yet is
        evaluated in one batch through the run's executor: one map, so that its
        workers share out the neighbours and the stress alike."""
        from optimizer.evaluation.worker import stressed_config

        vectors = {ind.id: neighbour_genes(self.config, ind, ind.id) if self.config.genes else [] for ind in members}
        keys = {i: decode_keys(self.config, v) if v else [] for i, v in vectors.items()}
        todo: dict[ParamsKey, tuple[float, ...]] = {}
        for member_id, member_keys in keys.items():
            for key, genes in zip(member_keys, vectors[member_id], strict=True):
                if key not in self.ledger.ids and key not in self._neighbours:
                    todo.setdefault(key, genes)
        stressed = stressed_config(self.config) is not None
        own_keys = decode_keys(self.config, list(members)) if self.config.genes else [() for _ in members]
        stress_todo = {}
        if stressed:
            stress_todo = {k: tuple(ind) for k, ind in zip(own_keys, members, strict=True) if k not in self._stress}
        tasks = [(TRAIN, g) for g in todo.values()] + [(STRESS, g) for g in stress_todo.values()]
        if tasks:
            results = self.ledger.executor.map(tasks, keep=NoSeries())
            self._neighbours.update(zip(todo, results[: len(todo)], strict=True))
            self._stress.update(zip(stress_todo, results[len(todo) :], strict=True))
        found = {}
        for member_id, member_keys in keys.items():
            found[member_id] = [self.ledger.stats[self.ledger.ids[k]] if k in self.ledger.ids else self._neighbours[k]
                                for k in member_keys]  # fmt: skip
        stress = {ind.id: self._stress[k] for k, ind in zip(own_keys, members, strict=True)} if stressed else {}
        return found, stress

    def _neighbourhood(self, own: IndividualStats, neighbours: list[IndividualStats]) -> dict[str, Any]:
        evaluated = [s for s in neighbours if not s.failed]
        medians, minima, ratios = [], [], []
        for metric in self.metrics:
            values = [v for v in (s.metric(metric) for s in evaluated) if v is not None]
            median = statistics.median(values) if values else None
            mine = own.metric(metric)
            medians.append(median)
            minima.append(min(values) if values else None)
            ratios.append(median / mine if median is not None and mine else None)
        return {
            "neighbours": len(evaluated),
            "neighbour_median": medians,
            "neighbour_min": minima,
            "plateau_ratio": ratios,
            "neighbour_values": [[s.metric(m) for m in self.metrics] for s in evaluated],
        }
