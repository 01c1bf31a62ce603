"""Issue 15 in the run: robustness statistics computed by the run, on real data.

The end-to-end checks use test-only plugin kinds (`tests.plugins.oracles`): a
seeded coin flip (no skill: the search is pure selection bias) and an oracle
that knows the next bar's close. The oracle looks ahead, which the look-ahead
self-check refuses in `prepare_run`; these tests build the `Optimizer`
directly (`tests.test_optimizer._run`), the same path less that check.
"""

from __future__ import annotations

import pytest

from optimizer.evaluation import SequentialExecutor
from optimizer.evaluation.dask_cluster import DaskExecutor
from optimizer.run_robustness import neighbour_genes
from tests.conftest import EURUSD, parse
from tests.test_optimizer import _config, _pool, _run, dask_client  # noqa: F401 - the real-cluster fixture

ROBUST_MEMBER_KEYS = {"dsr", "psr", "min_track_record", "plateau_ratio", "neighbours", "mc_return_pct",
                      "mc_drawdown_pct", "ruin_probability", "stress_return_pct"}  # fmt: skip
ROBUST_RUN_KEYS = {"pbo", "logits", "degradation_slope", "prob_oos_loss", "trials", "blocks"}


@pytest.fixture
def oracles(monkeypatch):
    monkeypatch.setenv("OPTIMIZER_PLUGINS", "tests.plugins.oracles")
    from optimizer.plugins import load_plugins

    load_plugins()


def _doc(entry: dict, signals: dict, *, exit_: dict | None = None, population=24, generations=3, **strategy) -> dict:
    return {
        "name": "robustness e2e",
        "data": {"path": str(EURUSD)},
        "strategy": {"direction": "long", "signals": signals, "entry": entry, "exit": exit_, **strategy},
        "execution": {"fill": "close", "commission": 0.0, "slippage": 0.0},
        "objectives": [{"metric": "sharpe_per_bar", "goal": "max"}],
        "ga": {"population": population, "generations": generations, "seed": 5, "min_trades": 5, "elite_size": 5},
        "robustness": {"neighbours": 4, "monte_carlo": 200},
    }


def test_a_coin_flip_search_is_flagged_as_overfit(oracles):
    seed = {"min": 1, "max": 100_000, "type": "int"}
    doc = _doc({"weights": {"flip": 1.0}, "threshold": 1.0},
               {"flip": {"kind": "coin_flip", "params": {"seed": seed}},
                "flap": {"kind": "coin_flip", "params": {"seed": seed}}},
               max_bars=3, entry_short={"weights": {"flap": 1.0}, "threshold": 1.0})  # fmt: skip
    doc["strategy"]["direction"] = "both"  # long and short at random: no exposure to the market's drift
    events, elite, opt, _ = _run(doc, SequentialExecutor)
    run = events[-1]["robustness"]
    assert set(run) >= ROBUST_RUN_KEYS and run["trials"] == opt.evaluations - opt.failed_evaluations
    assert run["blocks"] == 16 and len(run["logits"]) == 12_870
    assert run["pbo"] >= 0.3, run["pbo"]
    assert elite and all(ind["robustness"]["dsr"] < 0.95 for ind in elite), [i["robustness"]["dsr"] for i in elite]


def test_a_strategy_that_knows_the_next_close_is_not(oracles):
    doc = _doc({"weights": {"up": 1.0}, "threshold": 1.0},
               {"up": {"kind": "oracle_up", "params": {"period": {"min": 1, "max": 40, "type": "int"}}},
                "down": {"kind": "oracle_down", "params": {"period": 1}}},
               exit_={"weights": {"down": 1.0}, "threshold": 1.0})  # fmt: skip
    events, elite, _, _ = _run(doc, SequentialExecutor)
    run = events[-1]["robustness"]
    assert run["pbo"] <= 0.05, run["pbo"]
    assert all(ind["robustness"]["dsr"] > 0.99 for ind in elite), [i["robustness"]["dsr"] for i in elite]


def test_every_elite_member_reports_its_robustness_once_the_run_ends():
    doc = _config(generations=2)
    doc["execution"] = {"commission": 0.0005, "slippage": 0.0002}
    doc["robustness"] = {"neighbours": 5, "monte_carlo": 300}
    events, elite, opt, _ = _run(doc, SequentialExecutor)
    assert events[0]["robustness"] is None and events[-1]["robustness"] is not None
    assert all(i["robustness"] is None for i in events[0]["individuals"])
    by_id = {i["id"]: i for i in events[-1]["individuals"]}
    for member in elite:
        robustness = member["robustness"]
        assert set(robustness) >= ROBUST_MEMBER_KEYS
        assert by_id[member["id"]]["robustness"] == robustness  # the final event carries it too
        assert 1 <= robustness["neighbours"] <= 5 and len(robustness["plateau_ratio"]) == 1
        assert len(robustness["mc_return_pct"]) == 3 and robustness["mc_return_pct"] == sorted(robustness["mc_return_pct"])
        if member["total_trades"]:  # doubled costs cost something
            assert robustness["stress_return_pct"] < member["total_return_pct"]
    assert opt.evaluations == events[-1]["total_evaluations"]  # neighbours are not trials of the search


def test_robustness_off_computes_nothing():
    doc = _config(generations=2)
    doc["robustness"] = {"enabled": False}
    events, elite, _, _ = _run(doc, SequentialExecutor)
    assert events[-1]["robustness"] is None and all(ind["robustness"] is None for ind in elite)


def test_neighbours_are_seeded_within_their_ranges_and_integer_steps_are_one():
    config = parse({**_config(), "robustness": {"neighbours": 50, "jitter": 0.05}})
    genes = (0.5,) * len(config.genes)
    first = neighbour_genes(config, genes, 7)
    assert first == neighbour_genes(config, genes, 7) and first != neighbour_genes(config, genes, 8)
    own = config.decoder.values(genes)
    for vector in first:
        for gene, value, mine in zip(config.genes, config.decoder.values(vector), own, strict=True):
            assert gene.low <= value <= gene.high
            if gene.integer:
                assert abs(value - mine) <= 1
            else:
                assert abs(value - mine) <= 0.05 * (gene.high - gene.low) + 1e-12


@pytest.mark.slow
def test_same_seed_same_robustness_on_the_pool_on_dask_and_after_a_resume_past_the_end(tmp_path, dask_client):  # noqa: F811
    doc = _config(generations=3)
    doc["robustness"] = {"neighbours": 6, "monte_carlo": 200}
    reference, elite, _, _ = _run(doc, SequentialExecutor)
    assert reference[-1]["robustness"]["pbo"] is not None and all(m["robustness"]["neighbours"] for m in elite)
    pooled, pooled_elite, _, _ = _run(doc, _pool(2))
    assert pooled[-1]["robustness"] == reference[-1]["robustness"] and pooled_elite == elite
    on_dask, dask_elite, _, _ = _run(doc, lambda spec, candles: DaskExecutor(dask_client, spec, candles))
    assert on_dask[-1]["robustness"] == reference[-1]["robustness"] and dask_elite == elite
    _first, _, _, _ = _run(doc, SequentialExecutor, checkpoint=tmp_path, stop_after=2)
    rest, resumed_elite, _, _ = _run(doc, SequentialExecutor, checkpoint=tmp_path, resume=True)
    assert rest[-1] == reference[-1] and resumed_elite == elite
    replay, replay_elite, _, _ = _run(doc, SequentialExecutor, checkpoint=tmp_path, resume=True)  # the end, checkpointed
    assert replay[0]["replay"] and replay[0]["robustness"] == reference[-1]["robustness"] and replay_elite == elite
