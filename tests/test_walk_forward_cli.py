"""``python -m optimizer run`` of a walk-forward: its output, and SIGKILL in fold 2 then resume."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.conftest import EURUSD, sma_cross_config, write_json
from tests.test_run_command import _env, _finish, _start


def _config(tmp_path):
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"},
                           stop_loss={"min": 0.002, "max": 0.05})  # fmt: skip
    doc["data"] = {"path": str(EURUSD)}
    # A weight-0 signal that sleeps on each new period: generations take long enough to be killed in.
    doc["strategy"]["signals"]["pause"] = {"kind": "slow", "params": {"period": {"min": 1, "max": 100000,
                                                                                 "type": "int"}}}  # fmt: skip
    doc["strategy"]["entry"]["weights"]["pause"] = 0.0
    doc["ga"] = {"population": 10, "generations": 4, "seed": 5, "min_trades": 2}
    doc["robustness"] = {"neighbours": 2, "monte_carlo": 50}
    doc["walk_forward"] = {"folds": 3, "train": "40d", "test": 0.1}
    return write_json(tmp_path / "config.json", doc)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    code, err = _finish(_start(_config(tmp), "--workers", "2", "--json", tmp / "out.json", env=_env("0")))
    assert code == 0, err
    assert "3 folds" in err  # (the progress bar shows only on a terminal)
    out = json.loads((tmp / "out.json").read_text())
    verdict = "passed" if out["walk_forward"]["passed"] else "failed"  # not "(0 failed) ...: failed"
    assert f"; criteria: {verdict} -> " in err.splitlines()[-1]
    return json.loads((tmp / "out.json").read_text())


@pytest.mark.slow
def test_the_output_gains_walk_forward(uninterrupted):
    out = uninterrupted["walk_forward"]
    assert [f["fold"] for f in out["folds"]] == [1, 2, 3]
    assert {g["fold"] for g in uninterrupted["generations"]} == {1, 2, 3}
    assert uninterrupted["evaluations"] == out["evaluations"] == sum(f["evaluations"] for f in out["folds"])
    assert isinstance(out["passed"], bool) and len(out["criteria"]) == 5
    assert out["stitched"]["trades"] and out["stitched"]["bars"] == sum(f["test_bars"] for f in out["folds"])
    assert uninterrupted["robustness"] is not None  # the last fold's search ran its robustness analysis


@pytest.mark.slow
def test_killed_in_fold_2_then_resumed_gives_the_uninterrupted_result(tmp_path, uninterrupted):
    config = _config(tmp_path)
    folder = tmp_path / "ckpt"
    out = tmp_path / "out.json"
    process = _start(config, "--workers", "2", "--checkpoint", folder, "--json", out)
    checkpoint = folder / "fold-2" / "checkpoint.json"
    deadline = time.monotonic() + 240
    while not (checkpoint.exists() and json.loads(checkpoint.read_text())["generation"] >= 2):
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "fold 2's generation 2 never checkpointed"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert not out.exists() and not (folder / "fold-3").exists()
    code, err = _finish(_start(config, "--workers", "2", "--resume", folder, "--json", out))
    assert code == 0, err
    assert json.loads(out.read_text()) == uninterrupted


def test_a_walk_forward_that_does_not_fit_the_data_exits_2_naming_the_field(tmp_path):
    doc = sma_cross_config(10, 60)
    doc["data"] = {"path": str(EURUSD)}
    doc["walk_forward"] = {"folds": 10, "train": 1000, "test": 600}
    code, err = _finish(_start(write_json(tmp_path / "c.json", doc), "--json", tmp_path / "out.json"))
    assert code == 2 and err.startswith("error: walk_forward.test: 10 test windows of 600 need 6000 bars"), err
