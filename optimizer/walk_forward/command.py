"""``python -m optimizer run`` of a configuration with a ``walk_forward`` section.

One progress bar over the generations of all folds (``fold 2/5`` in its text),
the ETA over all of them. Each fold checkpoints in ``fold-K/`` of the checkpoint
folder after every generation: Ctrl-C (or a kill) loses at most the generation
under way, and ``--resume`` ends with exactly the uninterrupted result. OUT.json
holds what a run's does (its ``generations`` tagged with their ``fold``; ``elite``
and ``robustness`` are the last fold's) and ``walk_forward``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from optimizer.config import RunConfig
from optimizer.files import write_json
from optimizer.walk_forward.loop import WalkForward, has_fold_checkpoint
from optimizer.walk_forward.prepare import prepare_walk_forward

log = logging.getLogger("optimizer")


def run_walk_forward(config: RunConfig, args: argparse.Namespace, folder: Path, data: Path) -> int:
    """Run (or resume) the walk-forward of ``config`` and write its JSON result."""
    from optimizer.run_command import not_checkpointed, stopped

    try:
        with prepare_walk_forward(config, data, checkpoint_dir=folder, resume=bool(args.resume),
                                  executor=args.executor) as prepared:  # fmt: skip
            return _drive(prepared.walk_forward, config, args)
    except KeyboardInterrupt:
        if not has_fold_checkpoint(folder):
            return not_checkpointed(args, folder)
        return stopped(args, folder, "each fold's last finished generation is")


def _drive(walk: WalkForward, config: RunConfig, args: argparse.Namespace) -> int:
    from optimizer.run_command import BAR, _fmt, _width, duration

    metric = config.objectives[0].metric
    total = len(walk.windows) * (1 if not config.genes else config.ga.generations)
    with (
        logging_redirect_tqdm(),
        tqdm(total=total, unit="gen", file=sys.stderr, disable=None, bar_format=BAR, **_width()) as bar,
    ):
        for step in walk.run():
            bar.total = step.total
            bar.n = step.done
            event = step.event
            bar.set_postfix_str(
                f"fold {step.fold}/{step.folds} | best {metric} {_fmt(event.objectives[0].best)} | "
                f"{_fmt(event.evals_per_second)} evals/s | ETA {duration(step.eta_seconds)}",
                refresh=False,
            )  # fmt: skip
            bar.refresh()
    result = walk_forward_output(walk, config)
    write_json(args.out, result)
    summary = result["walk_forward"]
    log.info(
        "%d folds, %d evaluations (%d failed); out of sample %s%% (efficiency %s); criteria: %s -> %s",
        len(walk.windows), result["evaluations"], result["failed_evaluations"],
        _fmt(summary["stitched"]["total_return_pct"]), _fmt(summary["efficiency"]),
        "passed" if summary["passed"] else "failed", args.out,
    )  # fmt: skip
    return 0


def walk_forward_output(walk: WalkForward, config: RunConfig) -> dict[str, Any]:
    """The JSON output of a finished walk-forward: a run's keys, and ``walk_forward``."""
    last = walk.optimizer
    assert last is not None and walk.finished
    summary = walk.summary()
    return {
        "name": config.name,
        "config": config.raw,
        "data_fingerprint": last.data_fingerprint,
        "seed": config.ga.seed,
        "genes": [gene.name for gene in config.genes],
        "evaluations": summary["evaluations"],
        "failed_evaluations": summary["failed_evaluations"],
        "test_evaluations": summary["test_evaluations"],
        "stopped_early": any(f["stopped_early"] for f in summary["folds"]),
        "generations": walk.generations,
        "elite": last.elite_stats(),
        "robustness": last.run_robustness,
        "walk_forward": summary,
    }
