"""The coordinating process's own cost: CPU time per generation with no workers.

``python -m bench.coordinator [--population 512] [--generations 20] [--checkpoint] [--config FILE]
[--early 5]``

One run of the optimizer's benchmark configuration (`bench.optimizer`) is made
once with real evaluations, each recorded; the same run is then replayed with an
executor that answers every task from the record (unpickling each reply, as the
pool's coordinator does, and dropping the series the elite's bar does not keep,
as the workers do). What is left is the coordinator's work alone: selection and
variation (DEAP), the ledger, the elite, the logbook, the events (and, with
``--checkpoint``, the checkpoint). It is CPU time (``time.process_time``), so a
busy machine moves it much less than the wall-clock figures of `bench.optimizer`.

It also prints what must stay flat as a run grows (issue 14): the coordinator's
time at an early generation (``--early``) and at the last one, the checkpoint's
size (``checkpoint.json`` and the whole folder) at both, and the size of the
run's OUT.json (as ``python -m optimizer run`` writes it). ``--config`` replays
another configuration (e.g. ``examples/eurusd-sma.json``, two objectives: its
Pareto front) with its population and generations overridden by the options.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import DATA
from bench.optimizer import _config
from optimizer.config import RunConfig, parse_config
from optimizer.data import MarketData, load_candles
from optimizer.evaluation import OnResult, RunSpec, SequentialExecutor, SeriesFilter, Task
from optimizer.ga import Optimizer
from optimizer.run_command import _result
from optimizer.stats import IndividualStats


class _Recorded:
    """An executor answering from recorded replies (``record``: evaluate and record)."""

    workers = 1

    def __init__(self, spec: RunSpec, market: MarketData) -> None:
        self.evaluator = SequentialExecutor(spec, market.candles)
        self.replies: dict[Task, bytes] = {}
        self.record = True

    def map(
        self, tasks: Sequence[Task], *, on_result: OnResult | None = None, keep: SeriesFilter | None = None
    ) -> list[IndividualStats]:
        results = []
        for index, task in enumerate(tasks):
            if self.record:
                self.replies[task] = pickle.dumps(self.evaluator.map([task])[0], protocol=pickle.HIGHEST_PROTOCOL)
            stats = pickle.loads(self.replies[task])
            if keep is not None and not keep.keeps(stats):
                stats.drop_series()
            if on_result is not None:
                on_result(index, stats)
            results.append(stats)
        return results

    def close(self) -> None:
        self.evaluator.close()


def _generation_times(
    optimizer: Optimizer, detail: bool, folder: Path | None = None
) -> tuple[list[float], list[tuple[int, int]]]:
    """CPU seconds of each generation (its event rendered to JSON with ``detail``),
    and with a checkpoint ``folder``, its sizes after each generation in bytes
    (``checkpoint.json``, the whole folder)."""
    times = []
    sizes = []
    started = time.process_time()
    for event in optimizer.generations():
        if detail:
            event.to_json()
        now = time.process_time()
        times.append(now - started)
        if folder is not None:  # measured outside the timed span
            files = [f for f in folder.iterdir() if f.is_file()]
            sizes.append(((folder / "checkpoint.json").stat().st_size, sum(f.stat().st_size for f in files)))
        started = time.process_time()
    return times, sizes


def _load(args: argparse.Namespace) -> tuple[RunConfig, Path]:
    if args.config is None:
        return parse_config(_config(args.population, args.generations, str(DATA / "EURUSD-1h.csv"))), DATA / "EURUSD-1h.csv"
    path = Path(args.config)
    doc: dict[str, Any] = json.loads(path.read_text())
    data = (path.parent / doc["data"]["path"]).resolve()
    doc["data"] = {**doc["data"], "path": str(data)}
    doc["ga"] = {**doc.get("ga", {}), "population": args.population, "generations": args.generations}
    doc.pop("split", None)  # the replay's executor answers training tasks only
    return parse_config(doc), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=512)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--checkpoint", action="store_true", help="checkpoint every generation, as the CLI does")
    parser.add_argument("--detail", action="store_true", help="render each event with its individuals (dashboard)")
    parser.add_argument("--config", help="a run configuration to replay instead of the benchmark's own")
    parser.add_argument("--early", type=int, default=5, help="the early generation to compare the last one with")
    args = parser.parse_args()
    config, data = _load(args)
    market = MarketData(load_candles(data))
    executor = _Recorded(RunSpec(config.raw, None), market)
    _generation_times(Optimizer(config, market, executor), args.detail)
    executor.record = False
    medians, earlies, lasts = [], [], []
    sizes: list[tuple[int, int]] = []
    out_bytes = 0
    early = min(args.early, args.generations) - 1
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            optimizer = Optimizer(config, market, executor, checkpoint_dir=folder if args.checkpoint else None)
            times, sizes = _generation_times(optimizer, args.detail, Path(folder) if args.checkpoint else None)
            out_bytes = len(json.dumps(_result(optimizer, config), allow_nan=False).encode())
        medians.append(statistics.median(times[1:] or times) * 1e3)
        earlies.append(times[early] * 1e3)
        lasts.append(times[-1] * 1e3)
    print(f"coordinator CPU per generation of {config.ga.population} (median over generations "
          f"2..{len(times)}, median of {args.repeats} replays): {statistics.median(medians):.1f} ms "
          f"(replays {min(medians):.1f} to {max(medians):.1f}); generation {early + 1}: "
          f"{statistics.median(earlies):.1f} ms, generation {len(times)}: {statistics.median(lasts):.1f} ms"
          f"{'; checkpointed' if args.checkpoint else ''}{'; events rendered' if args.detail else ''}")  # fmt: skip
    print(f"elite entries: {len(optimizer.elite)} of {optimizer.evaluations} evaluations; "
          f"OUT.json: {out_bytes / 1e6:.2f} MB")
    if sizes:
        print(f"checkpoint.json / whole checkpoint folder: generation {early + 1}: {sizes[early][0] / 1e3:.1f} kB / "
              f"{sizes[early][1] / 1e6:.2f} MB; generation {len(sizes)}: {sizes[-1][0] / 1e3:.1f} kB / "
              f"{sizes[-1][1] / 1e6:.2f} MB (the folder's evaluation log grows by each generation's new evaluations)")


if __name__ == "__main__":
    main()
