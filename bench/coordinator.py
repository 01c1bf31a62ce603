"""The coordinating process's own cost: CPU time per generation with no workers.

``python -m bench.coordinator [--population 512] [--generations 20] [--checkpoint]``

One run of the optimizer's benchmark configuration (`bench.optimizer`) is made
once with real evaluations, each recorded; the same run is then replayed with an
executor that answers every task from the record (unpickling each reply, as the
pool's coordinator does, and dropping the series the elite's bar does not keep,
as the workers do). What is left is the coordinator's work alone: selection and
variation (DEAP), the ledger, the elite, the logbook, the events (and, with
``--checkpoint``, the checkpoint). It is CPU time (``time.process_time``), so a
busy machine moves it much less than the wall-clock figures of `bench.optimizer`.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from collections.abc import Sequence

from bench.common import DATA
from bench.optimizer import _config
from optimizer.config import parse_config
from optimizer.data import MarketData, load_candles
from optimizer.evaluation import OnResult, RunSpec, SequentialExecutor, SeriesFilter, Task
from optimizer.ga import Optimizer
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


def _generation_times(optimizer: Optimizer, detail: bool) -> list[float]:
    """CPU seconds of each generation (its event rendered to JSON with ``detail``)."""
    times = []
    started = time.process_time()
    for event in optimizer.generations():
        if detail:
            event.to_json()
        now = time.process_time()
        times.append(now - started)
        started = now
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=512)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--checkpoint", action="store_true", help="checkpoint every generation, as the CLI does")
    parser.add_argument("--detail", action="store_true", help="render each event with its individuals (dashboard)")
    args = parser.parse_args()
    config = parse_config(_config(args.population, args.generations, str(DATA / "EURUSD-1h.csv")))
    market = MarketData(load_candles(DATA / "EURUSD-1h.csv"))
    executor = _Recorded(RunSpec(config.raw, None), market)
    _generation_times(Optimizer(config, market, executor), args.detail)
    executor.record = False
    medians, lasts = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            optimizer = Optimizer(config, market, executor, checkpoint_dir=folder if args.checkpoint else None)
            times = _generation_times(optimizer, args.detail)
        medians.append(statistics.median(times[1:]) * 1e3)
        lasts.append(times[-1] * 1e3)
    print(f"coordinator CPU per generation of {args.population} (median over generations 2..{args.generations}, "
          f"median of {args.repeats} replays): {statistics.median(medians):.1f} ms "
          f"(replays {min(medians):.1f} to {max(medians):.1f}); last generation {statistics.median(lasts):.1f} ms"
          f"{'; checkpointed' if args.checkpoint else ''}{'; events rendered' if args.detail else ''}")  # fmt: skip


if __name__ == "__main__":
    main()
