"""The command line: ``python -m optimizer backtest|run|check ...`` (DESIGN.md, "Command line").

Exit status 0 on success, 2 on bad input with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from optimizer.config import load_config
from optimizer.engine import Engine
from optimizer.errors import InputError
from optimizer.evaluation.pool import WorkerStartError
from optimizer.files import data_path, read_json, write_json
from optimizer.interrupts import noting_ctrl_c
from optimizer.plugins import load_plugins
from optimizer.prepare import load_checked
from optimizer.run_command import run
from optimizer.split import holdout_start
from optimizer.strategy import check_params

log = logging.getLogger("optimizer")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m optimizer", description="Backtest and optimize trading strategies.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    bt = sub.add_parser("backtest", help="one backtest of a configuration's fixed values (training and test "
                        "period with a split)")  # fmt: skip
    bt.add_argument("config", help="run configuration (JSON)")
    bt.add_argument("--data", help="OHLCV file (CSV or Parquet); overrides the configuration's data.path")
    bt.add_argument("--params", help="JSON object gene name -> value for the configuration's ranges")
    bt.add_argument("--json", required=True, dest="out", help="where to write the statistics (JSON)")
    run = sub.add_parser("run", help="a whole optimization, with a progress bar")
    run.add_argument("config", help="run configuration (JSON)")
    run.add_argument("--data", help="OHLCV file (CSV or Parquet); overrides the configuration's data.path")
    run.add_argument("--workers", type=int, help="worker processes (0: one per CPU); overrides the configuration")
    run.add_argument("--executor", help="sequential, process or dask://HOST:PORT (default: process, or "
                     "sequential with 1 worker)")  # fmt: skip
    run.add_argument("--seed", type=int, help="random seed; overrides ga.seed")
    run.add_argument("--checkpoint", help="folder for the checkpoint written after each generation "
                     "(default: OUT.json's name + .checkpoint)")  # fmt: skip
    run.add_argument("--resume", help="resume the run whose checkpoint is in this folder")
    run.add_argument("--json", required=True, dest="out", help="where to write generations and elite (JSON)")
    check = sub.add_parser("check", help="the look-ahead self-check of every signal the configuration uses")
    check.add_argument("config", help="run configuration (JSON)")
    check.add_argument("--data", help="OHLCV file (CSV or Parquet); overrides the configuration's data.path")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        load_plugins()
        with noting_ctrl_c():
            if args.command == "backtest":
                return backtest(args)
            if args.command == "run":
                return run(args)
            if args.command == "check":
                return check(args)
    except InputError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except WorkerStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse requires a command


def backtest(args: argparse.Namespace) -> int:
    """One backtest of the configuration's fixed values (``--params`` for its ranges):
    its statistics, over the training period when the configuration has a
    ``split``, with the test period's under ``test`` (as a run reports its elite)."""
    config = load_config(args.config)
    path = data_path(config, args.config, args.data)
    params = check_params(config, read_json(args.params, "params") if args.params else {})
    market, report = load_checked(config, path)
    log.debug("%s", report.summary())  # a peeking signal's numbers are not results: refused
    split = holdout_start(config, market)
    stats = Engine(config, market, stop=split).evaluate(params)  # the training period (all bars without a split)
    document = stats.to_dict()
    if split is not None:  # as a run evaluates its elite: the held-out period warmed up by the bars before it
        document["test"] = Engine(config, market, start=split).evaluate(params).to_dict()
    write_json(args.out, document)
    log.info(
        "%d trades, total return %.2f%% (buy and hold %.2f%%), max drawdown %.2f%% -> %s",
        stats.total_trades, stats.total_return_pct, stats.market_return_pct, stats.max_drawdown_pct, args.out,
    )  # fmt: skip
    return 0


def check(args: argparse.Namespace) -> int:
    """The look-ahead self-check (`optimizer.lookahead`): 0 when it passes; a
    failure raises `LookaheadError` (exit 2, naming the signal and the bar)."""
    config = load_config(args.config)
    _, report = load_checked(config, data_path(config, args.config, args.data))
    log.info("%s", report.summary())
    return 0
