"""The robustness statistics' own cost (issue 15): PBO over many candidates, Monte Carlo, DSR.

    python -m bench.robustness [--candidates 10000] [--blocks 16] [--bars 4000] [--elite 20]
                               [--resamples 1000] [--repeat 3]

What is timed (median of R runs after a warm-up that compiles the numba kernel):

* PBO: `pbo_from_blocks` over ``--candidates`` candidates with S = ``--blocks``
  (C(16, 8) = 12,870 splits): the run process's part, from the per-block sums the
  workers return. Target: under 5 s for 10,000 candidates and S = 16.
* the worker's part per evaluation: `returns_moments` and `block_sums` of one
  evaluation's ``--bars`` per-bar returns.
* the elite's part: `monte_carlo` (``--resamples`` reshuffles and bootstraps)
  and `deflated_sharpe_ratio`, `probabilistic_sharpe_ratio` and
  `min_track_record_length` for each of ``--elite`` members.

The candidates are random long-or-flat position series over real EURUSD hourly
returns (`bench.common.tiled_candles`): in a position for stretches of random
length, flat (zero returns) between them, as a search's evaluations are; their
trades are the compounded returns of those stretches.

* the whole analysis in a run (``--whole``, issue 15's 15 % budget): the bundled
  example (`examples/eurusd-sma.json`: EURUSD 1h, population 64 x 30 generations,
  2 workers) on its first objective with an elite of 20, 1,000 Monte Carlo
  resamplings and 30 neighbours each, run as ``python -m optimizer run`` does
  (in this process) with the robustness statistics and without
  (``robustness.enabled`` false), alternately, ``--repeat`` times each: the
  median wall time of each, the analysis' own time as the run logs it (its
  neighbours and cost stress are evaluations through the run's pool) and its
  share of the run's wall time; the difference of the wall times too (noisier:
  it includes the pool's start).
"""

from __future__ import annotations

import argparse
import logging
import math
import time

import numpy as np

from bench.common import best_of, tiled_candles
from optimizer.robustness import (
    block_sums,
    deflated_sharpe_ratio,
    min_track_record_length,
    monte_carlo,
    pbo_from_blocks,
    probabilistic_sharpe_ratio,
    returns_moments,
)

log = logging.getLogger("bench.robustness")


def _positions(rng: np.random.Generator, bars: int, candidates: int) -> np.ndarray:
    """(bars x candidates) 0/1 positions: on and off for geometric stretches of mean 20 and 30 bars."""
    flips = rng.random((bars, candidates)) < np.where(rng.random(candidates) < 0.5, 1 / 20, 1 / 30)
    return (np.cumsum(flips, axis=0) % 2).astype(np.float64)


def candidate_blocks(
    market: np.ndarray, candidates: int, blocks: int, seed: int = 0, chunk: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-block sums of ``candidates`` random long-or-flat strategies on ``market`` returns, as a run keeps them."""
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, candidates, chunk):
        columns = min(chunk, candidates - start)
        parts.append(block_sums(_positions(rng, len(market), columns) * market[:, None], blocks))
    return tuple(np.concatenate([p[i] for p in parts], axis=1) for i in range(3))


def trades_of(market: np.ndarray, position: np.ndarray) -> np.ndarray:
    """The compounded return of each stretch in a position (fractions)."""
    edges = np.flatnonzero(np.diff(np.r_[0.0, position, 0.0]))
    growth = np.cumprod(np.r_[1.0, 1.0 + market * position])
    return growth[edges[1::2]] / growth[edges[0::2]] - 1.0


def whole_run(repeat: int, neighbours: int = 30, elite: int = 20) -> dict[str, float]:
    """The example run with its robustness analysis and without (see the module
    docstring, ``--whole``), in this process (`optimizer.cli.main`): median wall
    seconds of each, the analysis' own seconds as the run logs them, its elite size."""
    import json
    import statistics
    import sys
    import tempfile
    from pathlib import Path

    from bench.common import ROOT
    from optimizer.cli import main as cli

    example = json.loads((ROOT / "examples" / "eurusd-sma.json").read_text())
    example["data"] = {"path": str(ROOT / "data" / "EURUSD-1h.csv")}
    example["objectives"] = example["objectives"][:1]  # one objective: a hall of fame of `elite` distinct values
    example["ga"] = {**example["ga"], "elite_size": elite}
    analysis: list[float] = []
    members: list[int] = []

    class Seconds(logging.Handler):  # "robustness of %d elite members in %.2f s"
        def emit(self, record: logging.LogRecord) -> None:
            members.append(record.args[0])
            analysis.append(record.args[1])

    watcher = logging.getLogger("optimizer.run_robustness")
    watcher.addHandler(Seconds(level=logging.INFO))
    watcher.setLevel(logging.INFO)
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for enabled in (True, False):
            config = {**example, "robustness": {"enabled": enabled, "neighbours": neighbours, "monte_carlo": 1000}}
            (Path(tmp) / f"{enabled}.json").write_text(json.dumps(config))
        for _ in range(repeat):
            for enabled in (True, False):
                sys.argv = ["optimizer", "run", str(Path(tmp) / f"{enabled}.json"), "--json", str(Path(tmp) / "out.json")]
                start = time.perf_counter()
                try:
                    cli()
                except SystemExit as exit:
                    if exit.code not in (0, None):
                        raise
                times[enabled].append(time.perf_counter() - start)
    return {"with": statistics.median(times[True]), "without": statistics.median(times[False]),
            "analysis": statistics.median(analysis), "elite": members[-1]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whole", action="store_true", help="the whole analysis in a run of the example instead")
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=16)
    parser.add_argument("--bars", type=int, default=4_000)
    parser.add_argument("--elite", type=int, default=20)
    parser.add_argument("--resamples", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.whole:
        r = whole_run(args.repeat)
        log.info("example run (EURUSD 1h, 64 x 30, 2 workers; elite %d, 1,000 resamplings, 30 neighbours): %.2f s "
                 "with the robustness analysis, %.2f s without; the analysis as the run logs it: %.2f s, %.1f %% of "
                 "the run's wall time (target <= 15 %%); the difference of the wall times: %.1f %%", r["elite"],
                 r["with"], r["without"], r["analysis"], r["analysis"] / r["with"] * 100,
                 (r["with"] - r["without"]) / r["with"] * 100)  # fmt: skip
        return

    candles = tiled_candles(args.bars + 1)
    market = np.diff(candles.close) / candles.close[:-1]
    start = time.perf_counter()
    sums, squares, counts = candidate_blocks(market, args.candidates, args.blocks)
    log.info("data: %d candidates x %d bars of real EURUSD 1h returns, block sums in %.2f s",
             args.candidates, args.bars, time.perf_counter() - start)  # fmt: skip

    result = pbo_from_blocks(sums, squares, counts)
    seconds = best_of(lambda: pbo_from_blocks(sums, squares, counts), args.repeat)
    log.info("PBO: %d candidates, S = %d (%d splits): %.2f s (target < 5 s); pbo %.3f, slope %s, P(OOS loss) %.3f",
             args.candidates, args.blocks, result["splits"], seconds, result["pbo"],
             f"{result['degradation_slope']:.3f}" if result["degradation_slope"] is not None else "n/a",
             result["prob_oos_loss"])  # fmt: skip

    rng = np.random.default_rng(1)
    one = _positions(rng, len(market), 1)[:, 0] * market
    worker = best_of(lambda: (returns_moments(one), block_sums(one, args.blocks)), max(args.repeat, 20))
    log.info("worker, per evaluation: moments and %d block sums of %d returns: %.3f ms",
             args.blocks, args.bars, worker * 1e3)  # fmt: skip

    members = [trades_of(market, _positions(rng, len(market), 1)[:, 0]) for _ in range(args.elite)]
    returns = [_positions(rng, len(market), 1)[:, 0] * market for _ in range(args.elite)]
    moments = [returns_moments(r) for r in returns]
    sharpes = [m.sharpe for m in moments if m.sharpe is not None]
    trials_variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0

    def elite() -> None:
        for index, (trades, m) in enumerate(zip(members, moments, strict=True)):
            monte_carlo(trades, resamples=args.resamples, seed=index)
            deflated_sharpe_ratio(m.sharpe, m.bars, m.skewness, m.kurtosis, args.candidates, trials_variance)
            probabilistic_sharpe_ratio(m.sharpe, m.bars, m.skewness, m.kurtosis)
            min_track_record_length(m.sharpe, m.skewness, m.kurtosis)

    seconds = best_of(elite, args.repeat)
    log.info("elite of %d: Monte Carlo (%d resamples, ~%d trades each) and DSR/PSR/MinTRL: %.2f s",
             args.elite, args.resamples, round(np.mean([len(t) for t in members])), seconds)  # fmt: skip
    if not math.isfinite(result["pbo"]):
        raise SystemExit("PBO is not a number")


if __name__ == "__main__":
    main()
