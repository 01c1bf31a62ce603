"""Optimizer throughput against peers, worker scaling, and memory at 10M bars.

    python -m bench.optimizer [--generations G] [--population P] [--skip-memory]

The strategy family everywhere: long-only SMA(fast)/SMA(slow) cross on the bundled
EURUSD hourly bars (5,000 bars), fast 5..50, slow 20..200, a stop-loss of
0.5 %..5 % (a gene for ours, a grid for the peers), 0.02 % commission.

* ours: the GA (tournament + elitism) with the process pool, as
  ``python -m optimizer run`` drives it; an evaluation is a full backtest with
  every statistic; evaluations/s counts real evaluations (the parameter cache's
  hits are free and not counted). The pool is started before the clock starts
  (its start-up is printed apart); the first generation's indicator work is
  inside it. The median of 15 runs, interleaved with the other variants of ours.
  Printed too: the same with a checkpoint written after every generation (the
  CLI's and the dashboard's default), which the ratios below leave out; and the
  same GA with ``robustness.enabled`` false (every per-evaluation statistic, but
  no per-block sums and no run-end robustness analysis: PBO over every
  evaluation, neighbours, Monte Carlo, cost stress), the work the peers do: the
  ratios are printed for both. The analysis is a fixed cost per run (about a
  third of a second here), so its share is largest in a run as short as this.
* backtesting.py: ``Backtest.optimize`` over a random part of the same grid (it
  runs a process per CPU: 2 here), with its full statistics per run.
* vectorbt: one vectorized sweep over a grid of windows: MAs, crossings,
  ``Portfolio.from_signals`` of all columns, then total return, max drawdown and
  Sharpe of each column; the median of 3 timed sweeps after an untimed one.
* scaling: the same GA with 1 and with 2 workers, each repeat's two runs back to
  back (the median of the repeats' ratios); next to it, the machine's own
  scaling measured in the same repeats: two processes that only evaluate (the
  same list of individuals each, with our engine, no coordinating process, no
  GA) against one. On a machine with 2 cores that is what 2 workers could reach
  at best. Between the two, the pool alone: the GA's own maps (the same tasks
  and elite bars, recorded from one run) sent again through the pool with 2 and
  with 1 worker, with no GA work between them; what separates it from the GA's
  ratio is the coordinating process's work (selection, variation, bookkeeping).
* Dask (``--dask-only`` for this part alone): the same GA on 2 Dask workers
  (``dask scheduler`` and two ``dask worker --nworkers 1 --nthreads 1``: separate
  processes on this machine, `tests.dask_processes`) next to the 2-worker pool, at
  5,000 bars (the EURUSD file) and 1,000,000 (its bars repeated). Both executors
  are started, and one untimed run made on each (the workers' engines and caches
  built), before the clock; then the runs alternate, the median of the repeats.
  The data is scattered to the workers once; tasks carry gene batches.
* memory: ``python -m optimizer run`` on 10,000,000 bars with 2 workers; the peak
  of the summed proportional set size (PSS: shared pages counted once in all) of
  the run's process tree, plus what ``/dev/shm`` holds that no process maps (the
  workers' reply files), sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing as mp
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy

from bench.common import DATA, ROOT, sma_cross_config, tiled_candles
from optimizer.config import parse_config
from optimizer.data import MarketData, load_candles
from optimizer.evaluation import ProcessExecutor, RunSpec, Worker
from optimizer.ga import Optimizer

FAST = (5, 50)
SLOW = (20, 200)
STOP = (0.005, 0.05)
FEE = 0.0002
REPEATS = 15
EVALUATE_ONLY_TASKS = 4000
VECTORBT_REPEATS = 3  # timed sweeps of vectorbt (the median)


def _config(population: int, generations: int, data: str = str(DATA / "EURUSD-1h.csv")) -> dict:
    fast = {"min": FAST[0], "max": FAST[1], "type": "int"}
    slow = {"min": SLOW[0], "max": SLOW[1], "type": "int"}
    return {
        **sma_cross_config(fast, slow, data, stop_loss={"min": STOP[0], "max": STOP[1]}),
        "execution": {"commission": FEE},
        "ga": {"population": population, "generations": generations, "seed": 1},
    }


def _evaluate_only(conn, config: dict, tasks: list) -> None:  # pragma: no cover - a benchmark process
    """One process of the machine's own scaling: evaluate ``tasks`` whenever told."""
    worker = Worker(RunSpec(config, None), load_candles(DATA / "EURUSD-1h.csv"))
    worker.warm_up()
    worker.evaluate_batch(tasks)  # the indicator cache filled, as a pool worker's after its first run
    conn.send(None)
    while conn.recv():
        start = time.perf_counter()
        worker.evaluate_batch(tasks)
        conn.send(time.perf_counter() - start)


class _Recorder:
    """An executor that records each map's tasks and series filter (the elite's bar)
    before passing it on."""

    def __init__(self, inner: ProcessExecutor) -> None:
        self.inner = inner
        self.workers = inner.workers
        self.maps: list[tuple[list, object]] = []

    def map(self, tasks, *, on_result=None, keep=None):
        self.maps.append((list(tasks), keep))
        return self.inner.map(tasks, on_result=on_result, keep=keep)


def _replay(pool: ProcessExecutor, maps: list[tuple[list, object]]) -> float:
    """Evaluations per second of the recorded maps sent again through ``pool``."""
    start = time.perf_counter()
    for tasks, keep in maps:
        pool.map(tasks, keep=keep)
    return sum(len(tasks) for tasks, _ in maps) / (time.perf_counter() - start)


class EvaluateOnly:
    """``processes`` processes that each evaluate the same list of individuals with our
    engine and nothing else: no coordinating process, no GA, no replies."""

    def __init__(self, processes: int, config: dict, tasks: list) -> None:
        ctx = mp.get_context("spawn")
        self.tasks = tasks
        self.links = []
        for _ in range(processes):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_evaluate_only, args=(child, config, tasks), daemon=True)
            process.start()
            self.links.append((parent, process))
        for conn, _ in self.links:
            conn.recv()

    def rate(self) -> float:
        """Evaluations per second of all the processes together, started at once."""
        for conn, _ in self.links:
            conn.send(True)
        seconds = max(conn.recv() for conn, _ in self.links)
        return len(self.links) * len(self.tasks) / seconds

    def close(self) -> None:
        for conn, process in self.links:
            conn.send(False)
            process.join()


def ours(population: int, generations: int, repeats: int) -> dict[str, tuple[float, int, float]]:
    """Evaluations per second (median of ``repeats``), evaluations per run and pool
    start-up seconds of the GA with 2 workers, with 1 worker, and with 2 workers and
    a checkpoint written after every generation (as the CLI and the dashboard run
    it); the same GA with ``robustness.enabled`` false, 2 and 1 workers
    (``plain_two``, ``plain_one``: per-evaluation statistics only, no block sums and
    no run-end analysis: the work the peers do); of the pool alone (`_replay` of the
    GA's maps, 2 and 1 workers); and of the machine's own scaling (`EvaluateOnly`,
    2 and 1 processes). Scaling ratios (``scaling``, ``plain_scaling``,
    ``pool_scaling``, ``machine_scaling``): the median of each repeat's 2/1 ratio,
    whose two runs are back to back. The pools are started first and the runs
    interleaved, so that a machine that slows down or speeds up meanwhile weighs on
    every variant alike."""
    config = parse_config(_config(population, generations))
    plain = parse_config({**_config(population, generations), "robustness": {"enabled": False}})
    market = MarketData(load_candles(DATA / "EURUSD-1h.csv"))
    rng = random.Random(1)
    sample = [("train", tuple(rng.random() for _ in config.genes)) for _ in range(EVALUATE_ONLY_TASKS)]
    with contextlib.ExitStack() as stack:
        pools = {}
        startup = {}
        for kind, run_config in (("full", config), ("plain", plain)):
            for workers in (2, 1):
                start = time.perf_counter()
                pool = ProcessExecutor(RunSpec(run_config.raw, None), market.candles, workers)
                pools[kind, workers] = stack.enter_context(pool)
                pool.wait_ready()
                startup[kind, workers] = time.perf_counter() - start
        recorder = _Recorder(pools["full", 2])
        for _ in Optimizer(config, market, recorder).generations():
            pass
        for workers in (2, 1):  # the plain pools' caches warmed up as the full ones' were
            for _ in Optimizer(plain, market, pools["plain", workers]).generations():
                pass
        alone = {n: EvaluateOnly(n, config.raw, sample) for n in (2, 1)}
        for pool in alone.values():
            stack.callback(pool.close)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        variants = {"two": ("full", 2, None), "one": ("full", 1, None), "two_checkpoint": ("full", 2, folder),
                    "plain_two": ("plain", 2, None), "plain_one": ("plain", 1, None)}  # fmt: skip
        rates: dict[str, list[float]] = {
            name: [] for name in [*variants, "pool_two", "pool_one", "machine_two", "machine_one"]
        }
        evaluations = 0
        for repeat in range(repeats):
            for name, (kind, workers, checkpoint) in variants.items():
                optimizer = Optimizer(config if kind == "full" else plain, market, pools[kind, workers],
                                      checkpoint_dir=checkpoint)  # fmt: skip
                start = time.perf_counter()
                for _ in optimizer.generations():
                    pass
                rates[name].append(optimizer.evaluations / (time.perf_counter() - start))
                evaluations = optimizer.evaluations
            for n in (2, 1) if repeat % 2 else (1, 2):
                rates[f"pool_{'two' if n == 2 else 'one'}"].append(_replay(pools["full", n], recorder.maps))
                rates[f"machine_{'two' if n == 2 else 'one'}"].append(alone[n].rate())
    out = {name: (statistics.median(r), evaluations, startup[variants[name][:2]]) for name, r in rates.items()
           if name in variants}  # fmt: skip
    pairs = (("scaling", "two", "one"), ("plain_scaling", "plain_two", "plain_one"),
             ("pool_scaling", "pool_two", "pool_one"), ("machine_scaling", "machine_two", "machine_one"))  # fmt: skip
    for name, two, one in pairs:
        ratios = sorted(a / b for a, b in zip(rates[two], rates[one], strict=True))
        out[name] = (statistics.median(ratios), ratios[0], ratios[-1])
    out["machine_one"] = (statistics.median(rates["machine_one"]), len(sample), 0.0)
    return out


def walk_forward_rates(population: int, generations: int, repeats: int, folds: int = 5) -> dict[str, float]:
    """Evaluations per second (median of ``repeats``, 2 workers, no checkpoint) of a
    ``folds``-fold rolling walk-forward (training windows of half the bars, tests a
    tenth each) and of a plain run on the same data whose training window is as
    long (a 50 % test split: an evaluation costs about the same), the runs
    interleaved; each pool started and warmed up before the clock. Evaluations are
    the searches' (test-period evaluations of the elite are left out of both). A
    ratio near 1 says the loop adds nothing beyond the evaluations."""
    from optimizer.split import holdout_start
    from optimizer.walk_forward import WalkForward, fold_spec, fold_windows

    plain = parse_config({**_config(population, generations), "split": {"test_fraction": 0.5}})
    walk = parse_config({**_config(population, generations),
                         "walk_forward": {"folds": folds, "train": 0.5, "test": 0.1}})  # fmt: skip
    market = MarketData(load_candles(DATA / "EURUSD-1h.csv"))
    split = holdout_start(plain, market)
    windows = fold_windows(walk.settings.walk_forward, market.candles.time, market.bar_ns)
    rates: dict[str, list[float]] = {"plain": [], "walk_forward": []}
    with (
        ProcessExecutor(RunSpec(plain.raw, split), market.candles, 2) as plain_pool,
        ProcessExecutor(fold_spec(walk, windows), market.candles, 2) as walk_pool,
    ):
        for repeat in range(repeats + 1):  # the first of each warms its pool's caches up, unmeasured
            order = ("plain", "walk_forward") if repeat % 2 else ("walk_forward", "plain")
            for name in order:
                start = time.perf_counter()
                if name == "plain":
                    optimizer = Optimizer(plain, market, plain_pool, split=split)
                    for _ in optimizer.generations():
                        pass
                    evaluations = optimizer.evaluations
                else:
                    loop = WalkForward(walk, market, walk_pool, windows)
                    for _ in loop.run():
                        pass
                    loop.summary()  # the stitched results are part of its work
                    evaluations = sum(f.evaluations for f in loop.results)
                if repeat:
                    rates[name].append(evaluations / (time.perf_counter() - start))
    out = {name: statistics.median(r) for name, r in rates.items()}
    out["ratio"] = out["walk_forward"] / out["plain"]
    return out


class SmaCross(Strategy):
    """The family in backtesting.py's terms (module level: its pool pickles it)."""

    fast = 10
    slow = 30
    sl = 0.02

    def init(self):
        close = pd.Series(self.data.Close)
        self.a = self.I(lambda: close.rolling(self.fast).mean().to_numpy())
        self.b = self.I(lambda: close.rolling(self.slow).mean().to_numpy())

    def next(self):
        a0, a1, b0, b1 = self.a[-2], self.a[-1], self.b[-2], self.b[-1]
        if self.position:
            if a0 >= b0 and a1 < b1:
                self.position.close()
        elif a0 <= b0 and a1 > b1:
            self.buy(size=0.9999, sl=self.data.Close[-1] * (1 - self.sl))


def backtesting_py(tries: int) -> tuple[float, int]:
    frame = pd.read_csv(DATA / "EURUSD-1h.csv", index_col=0, parse_dates=True)
    bt = Backtest(frame, SmaCross, cash=1e9, commission=FEE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        _, heatmap = bt.optimize(fast=range(FAST[0], FAST[1] + 1), slow=range(SLOW[0], SLOW[1] + 1),
                                 sl=list(np.linspace(*STOP, 10)), constraint=lambda p: p.fast < p.slow,
                                 max_tries=tries, random_state=1, return_heatmap=True)  # fmt: skip
        seconds = time.perf_counter() - start
    return len(heatmap) / seconds, len(heatmap)


def vectorbt_sweep(step: int) -> tuple[float, int]:
    """vectorbt's own idiom: ``MA.run_combs`` over a list of windows gives every
    (fast, slow) pair with fast < slow as one column."""
    import vectorbt as vbt

    close = pd.read_csv(DATA / "EURUSD-1h.csv", index_col=0, parse_dates=True)["Close"]
    windows = list(range(FAST[0], SLOW[1] + 1, step))

    stops = np.linspace(*STOP, 5)

    def sweep():
        fast, slow = vbt.MA.run_combs(close, window=windows, r=2, short_names=["fast", "slow"])
        entries = fast.ma_crossed_above(slow).vbt.tile(len(stops))
        exits = fast.ma_crossed_below(slow).vbt.tile(len(stops))
        sl_stop = np.repeat(stops, entries.shape[1] // len(stops))[None, :]  # each stop with every pair
        pf = vbt.Portfolio.from_signals(close, entries, exits, sl_stop=sl_stop, fees=FEE, freq="1h")
        pf.total_return(), pf.max_drawdown(), pf.sharpe_ratio()
        return entries.shape[1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        columns = sweep()  # compile
        times = []
        for _ in range(VECTORBT_REPEATS):  # one sweep's time moved by a factor of two between runs
            start = time.perf_counter()
            sweep()
            times.append(time.perf_counter() - start)
    return columns / statistics.median(times), columns


def peak_memory(bars: int) -> tuple[float, float]:
    """(peak PSS in GiB of a 2-worker run on ``bars`` bars, seconds)."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        candles = tiled_candles(bars)
        path = Path(tmp) / "big.parquet"
        pd.DataFrame({"time": pd.to_datetime(candles.time, utc=True), "open": candles.open, "high": candles.high,
                      "low": candles.low, "close": candles.close, "volume": candles.volume}).to_parquet(path)  # fmt: skip
        del candles
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps(_config(8, 2, str(path))))
        shm = Path("/dev/shm").is_dir()
        shm_before = shutil.disk_usage("/dev/shm").used if shm else 0
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "optimizer",
                "run",
                str(config),
                "--workers",
                "2",
                "--json",
                str(Path(tmp) / "o.json"),
            ],
            cwd=ROOT,
        )
        peak = 0
        per_process: dict[int, int] = {}
        done = threading.Event()
        # Shared-memory files that no process maps (the workers' reply files) are in
        # no PSS: add what /dev/shm holds beyond the candles' file, which the workers map.
        candles_bytes = 8 * 6 * bars

        def unmapped_shm() -> int:
            return shutil.disk_usage("/dev/shm").used - shm_before - candles_bytes if shm else 0

        def sample():
            nonlocal peak
            parent = psutil.Process(process.pid)
            while not done.is_set():
                try:
                    tree = [parent, *parent.children(recursive=True)]
                    total = max(0, unmapped_shm())
                    for p in tree:
                        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                            pss = p.memory_full_info().pss
                            total += pss
                            per_process[p.pid] = max(per_process.get(p.pid, 0), pss)
                    peak = max(peak, total)
                except psutil.NoSuchProcess:
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=sample)
        start = time.perf_counter()
        thread.start()
        code = process.wait()
        done.set()
        thread.join()
        if code != 0:
            raise SystemExit(f"the 10M-bar run failed with exit status {code}")
        logging.getLogger(__name__).info(
            "peak PSS per process (MiB): %s", {pid: round(v / 2**20) for pid, v in per_process.items()}
        )
        return peak / 2**30, time.perf_counter() - start


@contextlib.contextmanager
def _dask_cluster(workers: int) -> Iterator[Any]:
    """``workers`` single-threaded ``dask worker`` processes and their scheduler on
    loopback, started with Dask's command lines and killed by their pids afterwards
    (the tests' `tests.dask_processes.DaskCluster`)."""
    from tests.dask_processes import DaskCluster

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as folder:
        cluster = DaskCluster(Path(folder))
        try:
            yield cluster.start(workers)
        finally:
            cluster.stop()


def dask_versus_pool(bars: int, population: int, generations: int, repeats: int) -> tuple[float, float, int]:
    """Evaluations per second of the GA on 2 Dask workers (separate processes) and on
    the 2-worker pool, at ``bars`` bars (median of ``repeats`` alternating runs each),
    and the evaluations of one run."""
    from optimizer.evaluation.dask_cluster import DaskExecutor

    config = parse_config(_config(population, generations))
    candles = load_candles(DATA / "EURUSD-1h.csv") if bars == 5000 else tiled_candles(bars)
    market = MarketData(candles)
    spec = RunSpec(config.raw, None)
    rates: dict[str, list[float]] = {"dask": [], "pool": []}
    evaluations = 0
    with (
        _dask_cluster(2) as cluster,
        DaskExecutor.connect(f"dask://{cluster.address}", spec, market.candles) as dask,
        ProcessExecutor(spec, market.candles, 2) as pool,
    ):
        pool.wait_ready()
        executors = {"dask": dask, "pool": pool}
        for executor in executors.values():  # untimed: engines built, indicator caches filled
            for _ in Optimizer(config, market, executor).generations():
                pass
        for repeat in range(repeats):
            for name in ("dask", "pool") if repeat % 2 else ("pool", "dask"):
                optimizer = Optimizer(config, market, executors[name])
                start = time.perf_counter()
                for _ in optimizer.generations():
                    pass
                rates[name].append(optimizer.evaluations / (time.perf_counter() - start))
                evaluations = optimizer.evaluations
    return statistics.median(rates["dask"]), statistics.median(rates["pool"]), evaluations


def print_dask(args: argparse.Namespace) -> None:
    """The Dask lines: 2 Dask workers against the 2-worker pool at each ``--dask-bars``."""
    for bars in args.dask_bars:
        population, generations = (args.population, args.generations) if bars <= 100_000 else (128, 4)
        dask, pool, evaluations = dask_versus_pool(bars, population, generations, args.dask_repeats)
        print(f"GA on 2 Dask workers vs the 2-worker pool, {bars:,} bars ({evaluations} evaluations per run):")
        print(f"  Dask, 2 worker processes : {dask:10.1f} evaluations/s")
        print(f"  pool, 2 workers          : {pool:10.1f} evaluations/s")
        print(f"  Dask / pool              : {dask / pool:10.2f}  (target >= 0.8 at 1,000,000 bars)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=512)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per variant of ours (median)")
    parser.add_argument("--bt-tries", type=int, default=200)
    parser.add_argument("--memory-bars", type=int, default=10_000_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--dask-bars", type=lambda t: [int(b) for b in t.split(",")], default=[5000, 1_000_000],
                        help="bar counts of the Dask-vs-pool lines (comma-separated)")  # fmt: skip
    parser.add_argument("--dask-repeats", type=int, default=5, help="runs per executor of the Dask lines (median)")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--dask-only", action="store_true", help="only the Dask-vs-pool lines")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.dask_only:
        print_dask(args)
        return

    runs = ours(args.population, args.generations, args.repeats)
    (two, n_two, startup), (one, n_one, _), (saved, _, _) = runs["two"], runs["one"], runs["two_checkpoint"]
    (plain_two, n_plain, _), (plain_one, _, _) = runs["plain_two"], runs["plain_one"]
    bt, n_bt = backtesting_py(args.bt_tries)
    vbt, n_vbt = vectorbt_sweep(5)
    print("SMA-cross family on EURUSD-1h (5,000 bars), evaluations per second:")
    print(f"  ours, GA, 2 workers, full statistics : {two:10.1f}  ({n_two} evaluations; with the run-end robustness)")
    print(f"  ours, GA, 1 worker                   : {one:10.1f}  ({n_one} evaluations)")
    print(f"  ours, 2 workers, checkpoint each gen.: {saved:10.1f}  (as the CLI and the dashboard run)")
    print(f"  ours, 2 workers, robustness off      : {plain_two:10.1f}  ({n_plain} evaluations; every per-evaluation "
          "statistic, no block sums, no run-end analysis: the peers' work)")  # fmt: skip
    print(f"  ours, 1 worker, robustness off       : {plain_one:10.1f}")
    print(f"  backtesting.py optimize (2 processes): {bt:10.1f}  ({n_bt} runs)")
    print(f"  vectorbt sweep (3 metrics per column): {vbt:10.1f}  ({n_vbt} columns)")
    print(f"  (ours: the 2-worker pool took {startup:.1f} s to start, before the clock)")
    print(f"ours / backtesting.py: {two / bt:8.1f}x  robustness off {plain_two / bt:.1f}x  (target >= 300x)")
    print(f"ours / vectorbt:       {two / vbt:8.1f}x  robustness off {plain_two / vbt:.1f}x  (target >= 40x)")
    (ratio, low, high), (machine, m_low, m_high) = runs["scaling"], runs["machine_scaling"]
    pool, p_low, p_high = runs["pool_scaling"]
    plain_ratio, pl_low, pl_high = runs["plain_scaling"]
    print(f"2 workers / 1 worker:  {ratio:8.2f}x  ({low:.2f}x to {high:.2f}x over the repeats); robustness off "
          f"{plain_ratio:.2f}x ({pl_low:.2f}x to {pl_high:.2f}x)")  # fmt: skip
    print(
        f"  the pool alone 2/1:    {pool:6.2f}x  ({p_low:.2f}x to {p_high:.2f}x; the GA's maps sent again, no GA work)"
    )
    print(
        f"  the machine's own 2/1: {machine:6.2f}x  ({m_low:.2f}x to {m_high:.2f}x; two processes that only "
        f"evaluate, vs one at {runs['machine_one'][0]:.0f}/s)"
    )
    print(f"  ours / the machine's:  {ratio / machine:6.2f}  robustness off {plain_ratio / machine:.2f}  "
          "(target >= 0.95)")  # fmt: skip
    walk = walk_forward_rates(args.population, args.generations, max(1, args.repeats // 3))
    print(f"walk-forward, 5 folds, 2 workers:      {walk['walk_forward']:10.1f}  evaluations/s; a plain run with a "
          f"training window as long {walk['plain']:.1f}/s: ratio {walk['ratio']:.3f} (target >= 0.9)")  # fmt: skip
    if not args.skip_dask:
        print_dask(args)
    if not args.skip_memory:
        peak, seconds = peak_memory(args.memory_bars)
        print(f"peak memory, {args.memory_bars:,} bars, 2 workers: {peak:.2f} GiB in all "
              f"(run took {seconds:.0f} s; target < 2 GB)")  # fmt: skip


if __name__ == "__main__":
    main()
