"""A walk-forward's checkpoint folder and its start checks, on real BTC-1m folds
through ``python -m optimizer run`` (real processes): a resume after the
``walk_forward`` section changed is refused, ``--resume`` of nothing is an error,
Ctrl-C before the first generation says nothing was checkpointed, and
``walk_forward.select`` is checked as the objectives are."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.conftest import BTC, sma_cross_config, write_json
from tests.test_run_command import _env, _finish, _start


def _doc(**walk) -> dict:
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"})
    doc["data"] = {"path": str(BTC)}
    doc["ga"] = {"population": 6, "generations": 2, "seed": 11, "min_trades": 1}
    doc["robustness"] = {"enabled": False}
    doc["walk_forward"] = {"folds": 5, "train": 1500, "test": 500, **walk}
    return doc


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory):
    """A finished 5-fold walk-forward (train 1500, test 500) and its checkpoint folder."""
    tmp = tmp_path_factory.mktemp("checkpointed")
    folder, out = tmp / "ckpt", tmp / "out.json"
    code, err = _finish(_start(write_json(tmp / "config.json", _doc()), "--workers", "2", "--checkpoint", folder,
                               "--json", out, env=_env("0")))  # fmt: skip
    assert code == 0, err
    return folder, json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("change", [{"train": 1200}, {"folds": 4}, {"mode": "anchored"}, {"select": "win_rate_pct"}])
def test_a_resume_after_the_walk_forward_section_changed_is_refused(tmp_path, checkpointed, change):
    folder, _ = checkpointed
    out = tmp_path / "out.json"
    code, err = _finish(_start(write_json(tmp_path / "changed.json", _doc(**change)), "--workers", "2", "--resume",
                               folder, "--json", out, env=_env("0")))  # fmt: skip
    assert code == 2, err
    assert err.startswith(f"error: resume: {folder / 'walk_forward.json'} belongs to another configuration or "
                          "dataset"), err  # fmt: skip
    assert not out.exists()


@pytest.mark.slow
def test_a_resume_of_the_same_walk_forward_reads_its_folds_back(tmp_path, checkpointed):
    folder, reference = checkpointed
    out = tmp_path / "out.json"
    code, err = _finish(_start(write_json(tmp_path / "same.json", _doc()), "--workers", "2", "--resume", folder,
                               "--json", out, env=_env("0")))  # fmt: skip
    assert code == 0, err
    resumed = json.loads(out.read_text())
    assert resumed["walk_forward"] == reference["walk_forward"]


def test_resume_of_a_folder_without_a_checkpoint_is_the_plain_runs_error(tmp_path):
    missing = tmp_path / "nowhere"
    code, err = _finish(_start(write_json(tmp_path / "c.json", _doc()), "--workers", "1", "--resume", missing,
                               "--json", tmp_path / "out.json", env=_env("0")))  # fmt: skip
    assert code == 2 and err.startswith(f"error: resume: no checkpoint in {missing}"), err
    assert not missing.exists() and not (tmp_path / "out.json").exists()


@pytest.mark.slow  # the interrupted evaluations end before the run does
def test_ctrl_c_before_the_first_generation_says_nothing_was_checkpointed(tmp_path):
    doc = _doc()
    # A weight-0 signal that sleeps 1 s on each evaluation: the first generation takes a while.
    doc["strategy"]["signals"]["pause"] = {"kind": "slow", "params": {"period": {"min": 1, "max": 10**6,
                                                                                 "type": "int"}}}  # fmt: skip
    doc["strategy"]["entry"]["weights"]["pause"] = 0.0
    folder = tmp_path / "ckpt"
    process = _start(write_json(tmp_path / "c.json", doc), "--workers", "1", "--checkpoint", folder, "--json",
                     tmp_path / "out.json", env=_env("1"))  # fmt: skip
    deadline = time.monotonic() + 120
    while not (folder / "walk_forward.json").exists():  # the walk-forward is set up; fold 1 is evaluating
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the walk-forward never started"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    code, err = _finish(process, timeout=120)
    assert code == 130, err
    assert "nothing was checkpointed" in err and "Resume with" not in err, err
    assert not list(folder.glob("fold-*/checkpoint.json"))


@pytest.mark.parametrize("metric", ["sharpe", "sortino"])
def test_a_select_metric_undefined_in_the_training_windows_is_refused_at_start(tmp_path, metric):
    code, err = _finish(_start(write_json(tmp_path / "c.json", _doc(select=metric)), "--workers", "1", "--json",
                               tmp_path / "out.json", env=_env("0")))  # fmt: skip
    assert code == 2, err
    assert err.startswith(f"error: walk_forward.select: {metric} needs 30 daily returns and the training window "
                          "has "), err  # fmt: skip
    assert "(fold 1's training window)" in err and not (tmp_path / "out.json").exists()
