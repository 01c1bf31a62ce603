"""``python -m optimizer backtest|run|check``: as a user runs it (a real subprocess), and in-process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from optimizer.cli import main
from tests.conftest import EURUSD, ROOT, candles_of, sma_cross_config, write_json


def _run(*args, cwd=ROOT, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
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


# ------------------------------------------------ check, and data.timestamps


def _peeking(tmp_path, timeframe: str | None = "4h") -> Path:
    doc = sma_cross_config(5, 20)
    doc["strategy"]["signals"]["cheat"] = {"kind": "peek_ahead", "params": {"period": {"min": 1, "max": 9, "type": "int"}}}
    if timeframe:
        doc["strategy"]["signals"]["cheat"]["timeframe"] = timeframe
    doc["strategy"]["entry"]["weights"]["cheat"] = 1.0
    return write_json(tmp_path / "peek.json", doc)


@pytest.fixture
def peeking_plugin(monkeypatch):
    monkeypatch.setenv("OPTIMIZER_PLUGINS", "tests.plugins.peeking")


def test_check_passes_a_built_in_config(tmp_path, capsys, caplog):
    config = write_json(tmp_path / "c.json", sma_cross_config({"min": 3, "max": 9, "type": "int"}, 30))
    with caplog.at_level("INFO", logger="optimizer"):
        assert main(["check", str(config)]) == 0
    assert "no look-ahead in 2 signals (sma_cross_down, sma_cross_up) on 5000 bars" in caplog.text


def test_check_fails_on_a_kind_that_looks_ahead_with_exit_2(tmp_path, capsys, peeking_plugin):
    assert main(["check", str(_peeking(tmp_path))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: strategy.signals.cheat: kind peek_ahead on 4h looks ahead:")
    assert re.search(r"its value at bar \d+ \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\) changed", err[0])


def test_a_backtest_of_a_kind_that_looks_ahead_is_refused(tmp_path, capsys, peeking_plugin):
    out = tmp_path / "out.json"
    params = write_json(tmp_path / "p.json", {"strategy.signals.cheat.params.period": 3})
    assert main(["backtest", str(_peeking(tmp_path, None)), "--params", str(params), "--json", str(out)]) == 2
    assert "strategy.signals.cheat: kind peek_ahead looks ahead" in capsys.readouterr().err
    assert not out.exists()


def test_a_run_that_fails_the_check_does_not_start(tmp_path, capsys, peeking_plugin):
    out = tmp_path / "out.json"
    code = main(["run", str(_peeking(tmp_path, None)), "--workers", "1", "--json", str(out)])
    assert code == 2
    assert "strategy.signals.cheat: kind peek_ahead looks ahead" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "out.checkpoint").exists()


@pytest.mark.slow
def test_check_command_as_a_user_runs_it(tmp_path):
    ok = _run("check", "examples/eurusd-sma.json")
    assert ok.returncode == 0 and "no look-ahead" in ok.stderr, ok.stderr
    env_peek = _run("check", _peeking(tmp_path), env={"OPTIMIZER_PLUGINS": "tests.plugins.peeking"})
    assert env_peek.returncode == 2 and env_peek.stderr.count("\n") == 1, env_peek.stderr
    assert "kind peek_ahead on 4h looks ahead" in env_peek.stderr


def test_close_timestamps_in_the_config_give_the_same_backtest(tmp_path):
    """EURUSD stamped by its bars' closes, with data.timestamps "close": the very
    trades of the open-stamped file; without the setting, every time is one bar late."""
    c = candles_of(EURUSD)
    frame = pd.DataFrame({"date": pd.to_datetime(c.time + c.bar_ns, unit="ns", utc=True), "open": c.open,
                          "high": c.high, "low": c.low, "close": c.close})  # fmt: skip
    frame.to_csv(tmp_path / "closes.csv", index=False)
    results = {}
    for name, data in (("open", {"path": str(EURUSD)}), ("close", {"path": "closes.csv", "timestamps": "close"}),
                       ("unset", {"path": "closes.csv"})):  # fmt: skip
        doc = sma_cross_config(5, 20, stop_loss=0.005)
        doc["data"] = data
        assert main(["backtest", str(write_json(tmp_path / f"{name}.json", doc)), "--json", str(tmp_path / f"{name}.out")]) == 0
        results[name] = json.loads((tmp_path / f"{name}.out").read_text())["trades"]
    assert len(results["open"]) > 20
    assert results["close"] == results["open"]
    late = pd.Timestamp(results["unset"][0]["entry_time"]) - pd.Timestamp(results["open"][0]["entry_time"])
    assert late == pd.Timedelta(hours=1)


def test_a_bad_timestamps_setting_is_named(tmp_path, capsys):
    doc = sma_cross_config(5, 20)
    doc["data"]["timestamps"] = "end"
    assert main(["backtest", str(write_json(tmp_path / "c.json", doc)), "--json", str(tmp_path / "o.json")]) == 2
    assert capsys.readouterr().err.strip() == 'error: data.timestamps: "end" is not one of open, close'
