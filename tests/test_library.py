"""The compute core as a library: the entry points the README names, importable
from ``optimizer``, working together on real data."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import optimizer
from tests.conftest import EURUSD, ROOT, sma_cross_config


def test_every_entry_point_the_readme_names_is_exported():
    section = (ROOT / "README.md").read_text().split("## As a library", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Za-z_]+)`", section)) - {"optimizer"}
    assert named and named <= set(optimizer.__all__), named - set(optimizer.__all__)
    for name in optimizer.__all__:
        assert getattr(optimizer, name) is not None
    with pytest.raises(AttributeError):
        optimizer.no_such_thing  # noqa: B018


WORKER_CODE = """
import json, sys
import numpy as np
from optimizer.data import Candles
from optimizer.evaluation.worker import RunSpec, Worker
n = 3000
walk = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.002, n)))
time = np.datetime64("2024-01-01", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * 3_600_000_000_000
candles = Candles(time, walk, walk * 1.001, walk * 0.999, walk, np.zeros(n), bar_ns=3_600_000_000_000)
worker = Worker(RunSpec(json.loads(sys.argv[1]), None), candles)
worker.warm_up()
stats = worker.evaluate("train", (0.3, 0.6, 0.3, 0.6))
assert not stats.failed and stats.bars == n, stats.error
print(json.dumps(sorted(m for m in ("pandas", "scipy.stats", "flask") if m in sys.modules)))
"""


def test_a_worker_evaluates_without_pandas_or_scipy_stats():
    """A worker's start is most of a run's first generation: it loads neither the
    file loader's pandas nor SciPy's statistics (the coordinator's robustness)."""
    doc = sma_cross_config({"min": 5, "max": 20, "type": "int"}, {"min": 30, "max": 60, "type": "int"})
    out = subprocess.run([sys.executable, "-c", WORKER_CODE, json.dumps(doc)], cwd=ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert json.loads(out.stdout) == []


def test_import_optimizer_loads_no_web_code():
    code = "import sys, optimizer; optimizer.prepare_run; print(sorted(m for m in sys.modules if m.startswith(('flask', 'visualization_apps'))))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_library_runs_a_backtest_and_an_optimization(tmp_path):
    doc = sma_cross_config({"min": 5, "max": 20, "type": "int"}, 40)
    doc["ga"] = {"population": 8, "generations": 2, "seed": 1}
    doc["workers"] = 1
    config = optimizer.parse_config(doc)
    market = optimizer.MarketData(optimizer.load_candles(EURUSD))
    stats = optimizer.Engine(config, market).evaluate({"strategy.signals.up.params.fast": 10, "strategy.signals.down.params.fast": 10})
    assert stats.total_trades > 0 and stats.bars == len(market)
    with optimizer.prepare_run(config, EURUSD, checkpoint_dir=tmp_path) as run:
        events = [event.generation for event in run.optimizer.generations()]
        assert events == [1, 2] and run.optimizer.elite_stats()
