"""``python -m optimizer run``: killed, interrupted and resumed as a user would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EURUSD, ROOT, sma_cross_config, write_json


def _config(tmp_path, generations=6):
    doc = sma_cross_config({"min": 3, "max": 30, "type": "int"}, {"min": 31, "max": 150, "type": "int"},
                           stop_loss={"min": 0.002, "max": 0.05})  # fmt: skip
    doc["data"] = {"path": str(EURUSD)}
    # A weight-0 signal that sleeps on each new period: generations take long enough to be killed in.
    doc["strategy"]["signals"]["pause"] = {
        "kind": "slow",
        "params": {"period": {"min": 1, "max": 100000, "type": "int"}},
    }
    doc["strategy"]["entry"]["weights"]["pause"] = 0.0
    doc["ga"] = {"population": 12, "generations": generations, "seed": 5}
    doc["split"] = {"test_fraction": 0.25}
    return write_json(tmp_path / "config.json", doc)


def _env(sleep="0.03"):
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPTIMIZER_PLUGINS": "tests.plugins.faulty", "FAULTY_SLEEP": sleep}


def _start(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "optimizer", "run", *map(str, args)], cwd=ROOT, env=env or _env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _finish(process, timeout=300):
    _out, err = process.communicate(timeout=timeout)
    return process.returncode, err


def _wait_for_generation(folder, k, process, timeout=120):
    deadline = time.monotonic() + timeout
    path = folder / "checkpoint.json"
    while time.monotonic() < deadline:
        if path.exists() and json.loads(path.read_text())["generation"] >= k:
            return json.loads(path.read_text())["generation"]
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.01)
    raise AssertionError(f"generation {k} never checkpointed")


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pids: list[int]) -> bool:
    return any(Path(f"/proc/{pid}").exists() for pid in pids)


def _shm_files() -> set[str]:
    return {p.name for p in Path("/dev/shm").glob("optimizer-*")} if Path("/dev/shm").is_dir() else set()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    config = _config(tmp)
    code, err = _finish(_start(config, "--workers", "2", "--json", tmp / "out.json", env=_env("0")))
    assert code == 0, err
    return json.loads((tmp / "out.json").read_text())


@pytest.mark.slow
def test_the_output_holds_generations_and_elite(uninterrupted):
    assert [g["generation"] for g in uninterrupted["generations"]] == [1, 2, 3, 4, 5, 6]
    summary = uninterrupted["generations"][0]
    assert set(summary) >= {"generation", "evaluations", "failed_evaluations", "best", "mean", "worst"}
    assert summary["evaluations"] == 12
    elite = uninterrupted["elite"]
    assert elite and elite[0]["fitness"][0] == max(e["fitness"][0] for e in elite)
    assert elite[0]["trades"] and elite[0]["test"]["bars"] > 0
    assert all(e["ties"] >= 1 and set(e["tie_ranges"]) == set(uninterrupted["genes"]) for e in elite)
    assert len({tuple(e["fitness"]) for e in elite}) == len(elite)  # one entry per distinct fitness


@pytest.mark.slow
def test_killed_after_generation_k_then_resumed_gives_the_uninterrupted_result(tmp_path, uninterrupted):
    config = _config(tmp_path)
    folder = tmp_path / "ckpt"
    process = _start(config, "--workers", "2", "--checkpoint", folder, "--json", tmp_path / "out.json")
    shm_before = _shm_files()
    k = _wait_for_generation(folder, 2, process)
    workers = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert k < 6 and not (tmp_path / "out.json").exists()
    assert len(workers) >= 2
    deadline = time.monotonic() + 30
    while _alive(workers) and time.monotonic() < deadline:  # orphaned workers see their pipe close and exit
        time.sleep(0.05)
    assert not _alive(workers)
    assert _shm_files() <= shm_before  # the data and reply files had no name: nothing is left behind
    code, err = _finish(_start(config, "--workers", "2", "--resume", folder, "--json", tmp_path / "out.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "out.json").read_text()) == uninterrupted


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_resumes(tmp_path, uninterrupted):
    config = _config(tmp_path)
    out = tmp_path / "out.json"
    process = _start(config, "--workers", "1", "--json", out)
    folder = tmp_path / "out.checkpoint"
    _wait_for_generation(folder, 1, process)
    process.send_signal(signal.SIGINT)
    code, err = _finish(process)
    assert code == 130, err
    assert "Traceback" not in err and "--resume" in err
    code, err = _finish(_start(config, "--resume", folder, "--json", out))
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["config"].pop("workers") == 0  # 1 worker, then one per CPU: the same result
    assert result == {**uninterrupted, "config": {k: v for k, v in uninterrupted["config"].items() if k != "workers"}}


@pytest.mark.slow
def test_ctrl_c_inside_a_compiled_function_stops_the_run_and_fails_no_individual(tmp_path):
    """With one worker the run evaluates in its own process, where Ctrl-C can arrive
    while numba's dispatcher runs; Python then raises a SystemError caused by the
    interrupt (the plugin raises exactly that). The run must stop as for any Ctrl-C,
    not record the individual as failed and go on (it did: exit 0, one failure)."""
    doc = json.loads(_config(tmp_path).read_text())
    doc["strategy"]["signals"]["pause"] = {
        "kind": "interrupted",
        "params": {"period": {"min": 1, "max": 3, "type": "int"}},
    }
    config = write_json(tmp_path / "config.json", doc)
    env = {**_env(), "FAULTY_PERIOD": "2"}
    code, err = _finish(_start(config, "--workers", "1", "--json", tmp_path / "out.json", env=env))
    assert code == 130, err
    assert "Traceback" not in err  # stopped as for any Ctrl-C: where to resume, or that nothing was checkpointed yet
    assert "--resume" in err or "nothing was checkpointed yet" in err, err
    assert "failed" not in err and not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--executor", "gpu"], "executor: 'gpu' is not one of"),
        (["--workers", "-1"], "--workers: -1 is negative"),
        pytest.param(["--resume", "nowhere"], "resume: no checkpoint in nowhere", marks=pytest.mark.slow),  # ~4 s
    ],
)
def test_bad_run_input_exits_2_with_one_line(tmp_path, args, expected):
    config = _config(tmp_path, generations=1)
    code, err = _finish(_start(config, *args, "--json", tmp_path / "o.json"))
    assert code == 2, err
    assert err.strip().count("\n") == 0 and expected in err


@pytest.mark.slow
def test_a_config_without_ranges_is_a_single_backtest(tmp_path):
    doc = sma_cross_config(5, 20)
    doc["split"] = {"test_fraction": 0.25}
    config = write_json(tmp_path / "fixed.json", doc)
    code, err = _finish(_start(config, "--json", tmp_path / "o.json"))
    assert code == 0, err
    result = json.loads((tmp_path / "o.json").read_text())
    assert result["evaluations"] == 1 and result["test_evaluations"] == 1 and not result["stopped_early"]
    assert len(result["generations"]) == 1 and [e["id"] for e in result["elite"]] == [0]
    assert result["elite"][0]["ties"] == 1 and result["elite"][0]["test"]["total_trades"] > 0


def test_a_plugin_that_cannot_be_imported_is_named(tmp_path):
    config = _config(tmp_path, generations=1)
    env = {**_env(), "OPTIMIZER_PLUGINS": "tests.plugins.faulty,no_such_plugin_module"}
    code, err = _finish(_start(config, "--json", tmp_path / "o.json", env=env))
    assert code == 2 and "Traceback" not in err
    assert "OPTIMIZER_PLUGINS: cannot import no_such_plugin_module" in err


@pytest.mark.slow
def test_workers_that_cannot_start_end_the_run_with_a_message(tmp_path):
    config = _config(tmp_path, generations=1)
    env = {**_env(), "FAULTY_BROKEN_IN_WORKERS": "1"}
    code, err = _finish(_start(config, "--workers", "2", "--json", tmp_path / "o.json", env=env), timeout=120)
    assert code == 1 and "Traceback" not in err
    assert "worker processes exit before they are ready" in err.strip().splitlines()[-1]


def test_the_progress_bar_tells_durations_as_a_reader_would():
    from optimizer.run_command import duration

    assert [duration(s) for s in (None, 8.24, 185, 8040)] == ["-", "8.2 s", "3 min 05 s", "2 h 14 min"]
