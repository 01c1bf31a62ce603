"""``python -m optimizer run``: a whole optimization from the command line.

A progress bar shows the generation, the best fitness, evaluations per second and
the time left. The state is checkpointed after every generation (by default in
``OUT.checkpoint/`` beside the output), so Ctrl-C stops at once, keeps the last
finished generation, and ``--resume`` goes on from it to exactly the result of an
uninterrupted run.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from optimizer.checkpoint import has_checkpoint
from optimizer.config import RunConfig, load_config, parse_config
from optimizer.errors import ConfigError
from optimizer.files import data_path, write_json
from optimizer.ga import Optimizer
from optimizer.prepare import prepare_run

log = logging.getLogger("optimizer")
INTERRUPTED = 130


def run(args: argparse.Namespace) -> int:
    """Run (or resume) an optimization and write its JSON result."""
    config = _with_overrides(load_config(args.config), args)
    folder = Path(args.resume or args.checkpoint or f"{Path(args.out).with_suffix('')}.checkpoint")
    if config.settings.walk_forward is not None:
        from optimizer.walk_forward.command import run_walk_forward

        return run_walk_forward(config, args, folder, data_path(config, args.config, args.data))
    try:
        with prepare_run(
            config, data_path(config, args.config, args.data), checkpoint_dir=folder, resume=bool(args.resume),
            executor=args.executor,
        ) as prepared:  # fmt: skip
            return _drive(prepared.optimizer, config, args)
    except KeyboardInterrupt:
        if not has_checkpoint(folder):
            return not_checkpointed(args, folder)
        return stopped(args, folder, "the last finished generation is")


def not_checkpointed(args: argparse.Namespace, folder: Path) -> int:
    """Say, after Ctrl-C before any generation was checkpointed, that nothing was
    (and where it would have been); the exit code."""
    log.warning(
        "stopped before the first generation finished: nothing was checkpointed yet (the checkpoint would be in %s). "
        "Start again with: python -m optimizer run %s --json %s",
        folder, args.config, args.out,
    )  # fmt: skip
    return INTERRUPTED


def stopped(args: argparse.Namespace, folder: Path, what: str) -> int:
    """Say, after Ctrl-C, where ``what`` (what is checkpointed) is and how to resume; the exit code."""
    log.warning(
        "stopped; %s checkpointed in %s. Resume with: python -m optimizer run %s --resume %s --json %s",
        what, folder, args.config, folder, args.out,
    )  # fmt: skip
    return INTERRUPTED


def _drive(optimizer: Optimizer, config: RunConfig, args: argparse.Namespace) -> int:
    total = optimizer.generations_total
    metric = config.objectives[0].metric
    with (
        logging_redirect_tqdm(),
        tqdm(total=total, unit="gen", file=sys.stderr, disable=None, bar_format=BAR, **_width()) as bar,
    ):
        for event in optimizer.generations():
            bar.n = event.generation
            best = event.objectives[0].best
            rate = event.evals_per_second
            bar.set_postfix_str(
                f"best {metric} {_fmt(best)} | {_fmt(rate)} evals/s | ETA {duration(event.eta_seconds)}",
                refresh=False,
            )
            bar.refresh()
    result = _result(optimizer, config)
    write_json(args.out, result)
    log.info(
        "%d generations, %d evaluations (%d failed); best %s %s -> %s",
        optimizer.generation, optimizer.evaluations, optimizer.failed_evaluations, metric,
        _fmt(result["generations"][-1]["best"][0]), args.out,
    )  # fmt: skip
    return 0


def _result(optimizer: Optimizer, config: RunConfig) -> dict[str, Any]:
    return {
        "name": config.name,
        "config": config.raw,
        "data_fingerprint": optimizer.data_fingerprint,
        "seed": config.ga.seed,
        "genes": [gene.name for gene in config.genes],
        "evaluations": optimizer.evaluations,
        "failed_evaluations": optimizer.failed_evaluations,
        "test_evaluations": optimizer.test_evaluations,
        "stopped_early": optimizer.generation < optimizer.generations_total,
        "generations": [optimizer.summary(row) for row in optimizer.logbook],
        "elite": optimizer.elite_stats(),
        "robustness": optimizer.run_robustness,
    }


def _with_overrides(config: RunConfig, args: argparse.Namespace) -> RunConfig:
    raw = config.to_json()
    if args.seed is not None:
        raw["ga"]["seed"] = args.seed
    if args.workers is not None:
        if args.workers < 0:
            raise ConfigError(f"--workers: {args.workers} is negative")
        raw["workers"] = args.workers
    return parse_config(raw) if raw != config.raw else config


BAR = "{l_bar}{bar}| {n_fmt}/{total_fmt} gen [{elapsed}{postfix}]"
"""The progress bar without tqdm's own time left: the optimizer's ETA (wall time
of recent generations, `optimizer.ga.rates`) is the one shown."""


def _width() -> dict[str, Any]:
    """The terminal's width as it changes; 100 columns where it says 0 (a pty
    whose size was never set), in which tqdm would draw nothing."""
    return {"dynamic_ncols": True} if shutil.get_terminal_size((100, 24)).columns > 0 else {"ncols": 100}


def duration(seconds: float | None) -> str:
    """``seconds`` for a reader: "8.2 s", "3 min 05 s", "2 h 14 min"; "-" for None."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
