"""``python -m optimizer backtest`` as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import EURUSD, ROOT, sma_cross_config, write_json


def _run(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_demo_command_of_the_readme(tmp_path):
    out = tmp_path / "demo.json"
    done = _run("backtest", "examples/eurusd-sma.json", "--params", "examples/eurusd-sma.params.json", "--json", out)
    assert done.returncode == 0, done.stderr
    stats = json.loads(out.read_text())
    assert stats["total_trades"] > 0 and stats["trades"][0]["reason"] in {"signal_exit", "stop_loss", "take_profit"}
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_relative_data_path_is_read_from_the_config_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "prices.csv").write_bytes(EURUSD.read_bytes())
    doc = sma_cross_config(5, 20)
    doc["data"] = {"path": "prices.csv"}
    config = write_json(tmp_path / "sub" / "c.json", doc)
    done = _run("backtest", config, "--json", tmp_path / "o.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def _bad_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-01,1,2,0.5,1.5\n2024-01-02,1,x,0.5,1.5\n")
    return path


BAD = {
    "missing config": (lambda t: ["backtest", t / "nope.json", "--json", t / "o.json"], "no such configuration file"),
    "not JSON": (lambda t: ["backtest", _text(t, "c.json", "{oops"), "--json", t / "o.json"], "not valid JSON"),
    "invalid field": (
        lambda t: ["backtest", write_json(t / "c.json", sma_cross_config("x", 20)), "--json", t / "o.json"],
        "strategy.signals.up.params.fast:",
    ),
    "bad data row": (
        lambda t: [
            "backtest",
            write_json(t / "c.json", sma_cross_config(5, 20)),
            "--data",
            _bad_csv(t),
            "--json",
            t / "o.json",
        ],
        "bad.csv line 3 (row 2), column 'High'",
    ),
    "missing data file": (
        lambda t: [
            "backtest",
            write_json(t / "c.json", sma_cross_config(5, 20)),
            "--data",
            t / "x.csv",
            "--json",
            t / "o.json",
        ],
        "no such data file",
    ),
    "missing range value": (
        lambda t: [
            "backtest",
            write_json(t / "c.json", sma_cross_config({"min": 2, "max": 9, "type": "int"}, 20)),
            "--json",
            t / "o.json",
        ],
        "strategy.signals.down.params.fast",
    ),
    "every problem named": (  # the one line names each problem, not only the first
        lambda t: ["backtest", write_json(t / "c.json", {"ga": {"population": "x"}, "strategy": {}}), "--json",
                   t / "o.json"],
        "ga.population:",
    ),
    "no --json": (lambda t: ["backtest", "examples/eurusd-sma.json"], "--json"),
    "unknown command": (lambda t: ["optimise"], "invalid choice"),
}


def _text(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    make_args, expected = BAD[case]
    done = _run(*make_args(tmp_path))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o.json").exists()
