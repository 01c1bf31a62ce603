"""The walk-forward loop on real data: stitching, no look-ahead across folds, the
equivalence with a plain split, determinism across backends, stop and resume,
and the summary's verdict on a strategy without skill and one that peeks."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest

from optimizer.data import Candles, MarketData
from optimizer.evaluation import ProcessExecutor, RunSpec, SequentialExecutor
from optimizer.ga import Optimizer
from optimizer.split import holdout_start
from optimizer.walk_forward import WalkForward, fold_spec, fold_windows
from optimizer.walk_forward.command import walk_forward_output
from tests.conftest import EURUSD, candles_of, market_of, parse, sma_cross_config

CONTRACT_FOLD = {"fold", "train_start", "train_end", "test_start", "test_end", "params", "train", "test"}
CONTRACT = {"folds", "stitched", "efficiency", "t_stat", "profitable_folds_pct", "max_fold_profit_share", "passed",
            "criteria"}  # fmt: skip


def _doc(folds=3, *, train=900, test=400, mode="rolling", population=10, generations=3, seed=3, **walk) -> dict:
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"},
                           stop_loss={"min": 0.002, "max": 0.05})  # fmt: skip
    doc["ga"] = {"population": population, "generations": generations, "seed": seed, "min_trades": 2}
    doc["robustness"] = {"enabled": False}
    doc["walk_forward"] = {"folds": folds, "train": train, "test": test, "mode": mode, **walk}
    return doc


def _walk(doc, make_executor=SequentialExecutor, *, market=None, checkpoint=None, resume=False, stop_after=None):
    """A walk-forward run in this process; returns it (finished unless stopped) and its events."""
    config = parse(doc)
    market = market or market_of(EURUSD)
    windows = fold_windows(config.settings.walk_forward, market.candles.time, market.bar_ns)
    executor = make_executor(fold_spec(config, windows), market.candles)
    events = []
    try:
        walk = WalkForward(config, market, executor, windows, checkpoint_dir=checkpoint, resume=resume)
        stop = (lambda: len(events) >= stop_after) if stop_after is not None else None
        for step in walk.run(stop):
            events.append((step.fold, step.event.generation, step.event.replay, step.done, step.total))
        return walk, events
    finally:
        executor.close()


@pytest.fixture(scope="module")
def reference():
    walk, events = _walk(_doc())
    return walk, events, walk.summary()


def test_the_output_has_the_contract_and_every_fold_in_time_order(reference):
    walk, events, summary = reference
    assert set(summary) >= CONTRACT
    folds = summary["folds"]
    assert [f["fold"] for f in folds] == [1, 2, 3]
    for fold in folds:
        assert set(fold) >= CONTRACT_FOLD
        assert fold["train_start"] < fold["train_end"] < fold["test_start"] < fold["test_end"]
        assert fold["train"]["params"] == fold["test"]["params"] == fold["params"]
        assert fold["test"]["bars"] == 400 and fold["train"]["bars"] == 900
    assert [a["test_end"] < b["test_start"] for a, b in itertools.pairwise(folds)] == [True, True]
    assert {c["name"] for c in summary["criteria"]} == {"profitable", "efficiency", "profitable_folds",
                                                        "fold_profit_share", "max_drawdown"}  # fmt: skip
    assert all(set(c) >= {"threshold", "value", "verdict"} for c in summary["criteria"])
    assert summary["passed"] == all(c["passed"] for c in summary["criteria"])
    # events: every generation of every fold, in order, progress over all folds
    assert [(f, g) for f, g, *_ in events] == [(f, g) for f in (1, 2, 3) for g in (1, 2, 3)]
    assert [done for *_, done, _ in events] == list(range(1, 10)) and {t for *_, t in events} == {9}
    assert [g["fold"] for g in walk.generations] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [f["seed"] for f in folds] == [3, 3 + 7919, 3 + 2 * 7919]
    output = walk_forward_output(walk, walk.config)
    assert output["walk_forward"] == summary and output["evaluations"] == summary["evaluations"] > 30


def test_the_stitched_curve_compounds_the_folds_test_returns(reference):
    _, _, summary = reference
    folds, stitched = summary["folds"], summary["stitched"]
    product = math.prod(1.0 + f["test"]["total_return_pct"] / 100.0 for f in folds)
    assert stitched["total_return_pct"] == pytest.approx((product - 1.0) * 100.0, rel=1e-12, abs=1e-12)
    assert stitched["bars"] == sum(f["test"]["bars"] for f in folds)
    assert stitched["trades"] == [t for f in folds for t in f["test"]["trades"]]  # trades as they were, in order
    assert stitched["total_trades"] == sum(f["test"]["total_trades"] for f in folds)
    assert summary["fold_profits_pct"][0] == pytest.approx(folds[0]["test"]["total_return_pct"], rel=1e-12)
    assert sum(summary["fold_profits_pct"]) == pytest.approx(stitched["total_return_pct"], rel=1e-9)
    assert stitched["equity"]["time"][0] == folds[0]["test_start"]
    assert stitched["equity"]["time"][-1] == folds[-1]["test_end"]
    profitable = sum(f["test"]["total_return_pct"] > 0 for f in folds)
    assert summary["profitable_folds_pct"] == pytest.approx(100.0 * profitable / 3)


def test_parameter_drift_is_each_genes_selection_fold_by_fold(reference):
    walk, _, summary = reference
    drift = summary["drift"]
    assert set(drift) == set(walk.config.gene_names)
    for name, row in drift.items():
        values = [f["params"][name] for f in summary["folds"]]
        assert row["values"] == values
        assert row["std"] == pytest.approx(float(np.std(values)))


def test_data_after_a_folds_test_window_changes_nothing_in_it_or_before(reference):
    _, _, summary = reference
    market = market_of(EURUSD)
    stop = summary["folds"][1]["bars"][2]  # the end of fold 2's test window
    candles = candles_of(EURUSD)
    rng = np.random.default_rng(1)
    factor = np.ones(len(candles))
    factor[stop:] = rng.uniform(0.9, 1.1, len(candles) - stop)  # a different future
    arrays = {name: getattr(candles, name) * (factor if name in ("open", "high", "low", "close") else 1)
              for name in ("open", "high", "low", "close", "volume")}  # fmt: skip
    altered = MarketData(Candles(candles.time, arrays["open"], np.maximum(arrays["high"], arrays["open"]),
                                 np.minimum(arrays["low"], arrays["open"]), arrays["close"], arrays["volume"],
                                 bar_ns=candles.bar_ns))  # fmt: skip
    assert not np.array_equal(altered.candles.close, market.candles.close)
    walk, _ = _walk(_doc(), market=altered)
    changed = walk.summary()
    assert changed["folds"][:2] == summary["folds"][:2]
    assert changed["folds"][2] != summary["folds"][2]


def test_one_fold_is_a_normal_run_with_that_split():
    n = len(market_of(EURUSD))
    test = round(n * 0.25)
    doc = _doc(1, train=n - test, test=test, generations=4)
    walk, _ = _walk(doc)
    (fold,) = walk.summary()["folds"]
    plain = copy.deepcopy(doc)
    del plain["walk_forward"]
    plain["split"] = {"test_fraction": 0.25}
    config, market = parse(plain), market_of(EURUSD)
    split = holdout_start(config, market)
    assert fold["bars"][1] == split
    executor = SequentialExecutor(RunSpec(config.raw, split), market.candles)
    try:
        opt = Optimizer(config, market, executor, split=split)
        for _ in opt.generations():
            pass
        elite = opt.elite_stats()
    finally:
        executor.close()
    assert walk.generations == [{"fold": 1, **opt.summary(row)} for row in opt.logbook]
    best = elite[0]
    assert fold["params"] == best["params"]
    assert fold["train"]["total_return_pct"] == best["total_return_pct"]
    assert fold["test"] == {k: v for k, v in best["test"].items()}
    assert {k: fold["train"][k] for k in ("trades", "equity", "sharpe", "bars")} == \
        {k: best[k] for k in ("trades", "equity", "sharpe", "bars")}  # fmt: skip


def test_stopped_and_resumed_in_fold_2_ends_with_the_uninterrupted_result(tmp_path, reference):
    _, _, summary = reference
    walk, events = _walk(_doc(), checkpoint=tmp_path, stop_after=5)
    assert not walk.finished and events[-1][:2] == (2, 2)
    walk, events = _walk(_doc(), checkpoint=tmp_path, resume=True)
    assert events[0][:3] == (1, 3, True)  # fold 1 read back from its checkpoint, not run again
    assert events[1][:3] == (2, 2, True) and events[2][:2] == (2, 3)
    assert walk.summary() == summary
    walk, events = _walk(_doc(), checkpoint=tmp_path, resume=True)  # finished: everything replayed
    assert all(replay for _, _, replay, *_ in events) and walk.summary() == summary


@pytest.mark.slow
def test_same_seed_same_walk_forward_sequential_pool_and_dask(reference):
    from distributed import Client, LocalCluster

    from optimizer.evaluation.dask_cluster import DaskExecutor

    _, _, summary = reference
    pooled, _ = _walk(_doc(), lambda spec, candles: ProcessExecutor(spec, candles, 2))
    assert pooled.summary() == summary
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        dask, _ = _walk(_doc(), lambda spec, candles: DaskExecutor(client, spec, candles))
    assert dask.summary() == summary
    other, _ = _walk(_doc(seed=4))
    assert other.summary() != summary


def test_select_picks_the_elite_member_best_on_its_metric():
    walk, _ = _walk(_doc(2, select="sharpe_per_bar"))
    summary = walk.summary()
    assert summary["select"] == {"metric": "sharpe_per_bar", "goal": "max"}
    ledger = walk.optimizer.ledger  # the last fold's search
    valid = [ledger.stats[ind.id] for ind in walk.optimizer.elite.members() if ledger.is_valid(ind.id)]
    best = max(valid, key=lambda stats: stats.sharpe_per_bar)
    assert summary["folds"][-1]["params"] == best.params
    assert summary["folds"][-1]["train"]["sharpe_per_bar"] == best.sharpe_per_bar
    lowest, _ = _walk(_doc(2, select="max_drawdown_pct", select_goal="min"))
    ledger = lowest.optimizer.ledger
    drawdowns = [ledger.stats[ind.id].max_drawdown_pct for ind in lowest.optimizer.elite.members()
                 if ledger.is_valid(ind.id)]  # fmt: skip
    assert lowest.summary()["folds"][-1]["train"]["max_drawdown_pct"] == min(drawdowns)


def test_a_fold_without_a_valid_member_is_flat_and_fails():
    doc = _doc(2)
    doc["ga"]["min_trades"] = 10**6  # no individual trades that often: every one ranks worst
    walk, _ = _walk(doc)
    summary = walk.summary()
    assert [f["params"] for f in summary["folds"]] == [None, None]
    assert summary["stitched"]["total_return_pct"] == 0.0 and summary["stitched"]["total_trades"] == 0
    assert summary["stitched"]["bars"] == 800
    assert summary["efficiency"] is None and summary["max_fold_profit_share"] is None and not summary["passed"]


def test_failed_evaluations_are_counted_per_fold(monkeypatch):
    monkeypatch.setenv("OPTIMIZER_PLUGINS", "tests.plugins.faulty")
    monkeypatch.setenv("FAULTY_PERIOD", "2")
    from optimizer.plugins import load_plugins

    load_plugins()
    doc = _doc(population=16)
    doc["strategy"]["signals"]["trap"] = {"kind": "raises", "params": {"period": {"min": 1, "max": 3, "type": "int"}}}
    doc["strategy"]["entry"]["weights"]["trap"] = 0.0
    walk, _ = _walk(doc)
    summary = walk.summary()
    failed = [f["failed_evaluations"] for f in summary["folds"]]
    assert all(n > 0 for n in failed) and summary["failed_evaluations"] == sum(failed)
    assert all(f["evaluations"] > n for f, n in zip(summary["folds"], failed, strict=True))
    assert all(f["params"]["strategy.signals.trap.params.period"] != 2 for f in summary["folds"])  # never selected
    for fold in summary["folds"]:  # each generation's failures add up to its fold's
        assert sum(g["failed_evaluations"] for g in walk.generations if g["fold"] == fold["fold"]) == \
            fold["failed_evaluations"]  # fmt: skip
