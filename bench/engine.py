"""One full evaluation at 5,000 to 1,000,000 bars, next to a fused numba loop and vectorbt.

    python -m bench.engine [--bars N] [--repeat R] [--no-vectorbt]

What is timed (median of R runs after a warm-up that compiles and fills caches; ours, the
reference path and the fused loop taken in turn, so that the machine's drift weighs on each alike):

* ours: `Engine.evaluate` of an SMA(10)/SMA(50) cross with a 2 % stop-loss, a 4 %
  take-profit and commission: signals from the indicator cache, the compiled plan's
  one kernel call (simulation and every per-bar statistic in one pass), and every
  statistic (trades, distributions, Sharpe, downsampled equity, return moments and
  the block sums of the robustness statistics).
* the reference path: `optimizer.reference_eval.reference_evaluate`, the previous
  implementation kept for the equality test (signals, boolean rule arrays, the
  simulation kernel, then `compute_stats` walking the equity again).
* fused: the least work that can give the same strategy's final equity: one numba
  loop that updates both rolling sums, detects crosses, fills at the next open and
  checks the stops. A floor, not a product: no trades list, no statistics.
* vectorbt (at N bars only): `MA.run` x2, crossed signals shifted one bar and
  filled at the open, `Portfolio.from_signals` with the same stops (checked on high
  and low) and fees, and `Portfolio.stats()` (its full statistics).

Printed in one run: the N-bar evaluation against the fused loop (target <= 2x) and
against vectorbt (target >= 100x); the 5,000-bar evaluation (the bundled EURUSD
itself) against the fused loop on the same bars (target <= 5x); evaluations per
second per process at 5k, 100k and N bars, and the fixed cost per evaluation and
the cost per bar through the smallest and largest (t = fixed + bars x per bar).

The long series are real EURUSD hourly bars repeated into a continuous series
(`bench.common.tiled_candles`). Final equities are printed to show the runs do the
same work; vectorbt's stop handling differs in details (it sizes and checks stops
its own way), so its figure is close, not equal.
"""

from __future__ import annotations

import argparse
import logging
import warnings

import numpy as np
from numba import njit

from bench.common import DATA, best_of, interleaved, sma_cross_config, tiled_candles
from optimizer.config import parse_config
from optimizer.data import MarketData, load_candles
from optimizer.engine import Engine
from optimizer.reference_eval import reference_evaluate

FAST, SLOW, SL, TP, FEE = 10, 50, 0.02, 0.04, 0.0005


@njit(cache=True)
def fused_sma_cross(o, h, lo, c, fast, slow, sl, tp, fee):  # pragma: no cover - compiled
    """Final equity of the strategy in one pass (next-open fills, stops checked intrabar)."""
    n = len(c)
    sum_f = 0.0
    sum_s = 0.0
    prev_f = np.nan
    prev_s = np.nan
    equity = 1.0
    units = 0.0
    entry = 0.0
    pending = 0
    in_pos = False
    for i in range(n):
        if pending == 1:
            entry = o[i]
            units = equity * (1 - fee) / entry
            in_pos = True
        elif pending == -1:
            equity = units * o[i] * (1 - fee)
            in_pos = False
        pending = 0
        if in_pos:
            stop, target = entry * (1 - sl), entry * (1 + tp)
            price = np.nan
            if o[i] <= stop or o[i] >= target:
                price = o[i]
            elif lo[i] <= stop:
                price = stop
            elif h[i] >= target:
                price = target
            if price == price:
                equity = units * price * (1 - fee)
                in_pos = False
        sum_f += c[i]
        sum_s += c[i]
        if i >= fast:
            sum_f -= c[i - fast]
        if i >= slow:
            sum_s -= c[i - slow]
        f = sum_f / fast if i >= fast - 1 else np.nan
        s = sum_s / slow if i >= slow - 1 else np.nan
        if i < n - 1:
            if in_pos and prev_f >= prev_s and f < s:
                pending = -1
            elif not in_pos and prev_f <= prev_s and f > s:
                pending = 1
        prev_f, prev_s = f, s
    if in_pos:
        equity = units * c[n - 1] * (1 - fee)
    return equity


def _config() -> dict:
    return {
        **sma_cross_config(FAST, SLOW, "bench", stop_loss=SL, take_profit=TP),
        "execution": {"commission": FEE},
    }


def _vectorbt_run(frame, freq):
    import vectorbt as vbt

    close = frame["close"]
    fast = vbt.MA.run(close, FAST)
    slow = vbt.MA.run(close, SLOW)
    entries = fast.ma_crossed_above(slow).vbt.fshift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).vbt.fshift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        close, entries, exits, price=frame["open"], open=frame["open"], high=frame["high"], low=frame["low"],
        sl_stop=SL, tp_stop=TP, fees=FEE, freq=freq,
    )  # fmt: skip
    return portfolio.stats()


def _timed(candles, repeat: int) -> dict[str, float]:
    """Seconds per evaluation of ours, the reference path and the fused loop on ``candles``."""
    market = MarketData(candles)
    engine = Engine(parse_config(_config()), market)
    c = candles
    return interleaved({
        "ours": lambda: engine.evaluate({}),
        "reference": lambda: reference_evaluate(engine, {}),
        "fused": lambda: fused_sma_cross(c.open, c.high, c.low, c.close, FAST, SLOW, SL, TP, FEE),
    }, repeat)  # fmt: skip


def _fit(sizes: list[int], seconds: list[float]) -> tuple[float, float]:
    """(fixed seconds, seconds per bar) of t = fixed + bars x per bar through the
    smallest and the largest size (a least-squares fit is led by the large sizes'
    noise to a negative fixed cost)."""
    per_bar = (seconds[-1] - seconds[0]) / (sizes[-1] - sizes[0])
    return seconds[0] - sizes[0] * per_bar, per_bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--no-vectorbt", action="store_true", help="skip vectorbt (not installed, or quick runs)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    candles = tiled_candles(args.bars)
    market = MarketData(candles)
    engine = Engine(parse_config(_config()), market)
    c = candles
    large = _timed(candles, args.repeat)
    ours, reference, fused = large["ours"], large["reference"], large["fused"]
    stats = engine.evaluate({})
    fused_equity = fused_sma_cross(c.open, c.high, c.low, c.close, FAST, SLOW, SL, TP, FEE)
    theirs = vbt_stats = None
    if not args.no_vectorbt:
        import pandas as pd

        frame = pd.DataFrame({"open": c.open, "high": c.high, "low": c.low, "close": c.close},
                             index=pd.to_datetime(c.time))  # fmt: skip
        freq = pd.Timedelta(c.bar_ns, "ns")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = best_of(lambda: _vectorbt_run(frame, freq), max(1, args.repeat // 2))
            vbt_stats = _vectorbt_run(frame, freq)

    print(f"bars: {args.bars:,} (real EURUSD hourly bars, tiled); strategy SMA({FAST})/SMA({SLOW}) cross, "
          f"SL {SL:.0%}, TP {TP:.0%}, fee {FEE}")  # fmt: skip
    print(f"{'run':<38}{'ms':>10}{'trades':>10}{'final equity':>15}")
    print(f"{'ours: full evaluation + stats':<38}{ours * 1e3:>10.2f}{stats.total_trades:>10}"
          f"{1 + stats.total_return_pct / 100:>15.4f}")  # fmt: skip
    print(f"{'reference path (previous engine)':<38}{reference * 1e3:>10.2f}{stats.total_trades:>10}"
          f"{1 + stats.total_return_pct / 100:>15.4f}")  # fmt: skip
    print(f"{'fused numba loop (floor)':<38}{fused * 1e3:>10.2f}{'-':>10}{fused_equity:>15.4f}")
    if theirs is not None:
        print(f"{'vectorbt from_signals + stats':<38}{theirs * 1e3:>10.2f}{int(vbt_stats['Total Trades']):>10}"
              f"{1 + vbt_stats['Total Return [%]'] / 100:>15.4f}")  # fmt: skip
    print(f"ours / fused at {args.bars:,} bars:      {ours / fused:6.2f}x   (target <= 2x; reference path "
          f"{reference / fused:.2f}x)")  # fmt: skip
    if theirs is not None:
        print(f"vectorbt / ours at {args.bars:,} bars:   {theirs / ours:6.1f}x   (target >= 100x)")

    small = _timed(load_candles(DATA / "EURUSD-1h.csv"), max(args.repeat, 200))
    print(f"ours / fused at 5,000 bars (bundled EURUSD): {small['ours'] / small['fused']:6.2f}x   (target <= 5x; "
          f"ours {small['ours'] * 1e6:.1f} us, fused {small['fused'] * 1e6:.1f} us, reference path "
          f"{small['reference'] * 1e6:.1f} us = {small['reference'] / small['fused']:.1f}x)")  # fmt: skip

    sizes = sorted({5_000, 100_000, args.bars})
    timings = {5_000: small, args.bars: {"ours": ours, "reference": reference, "fused": fused}}
    for size in sizes:
        if size not in timings:
            timings[size] = _timed(tiled_candles(size), max(3, args.repeat * 1_000_000 // (size * 10)))
    print(f"{'evaluations / s / process':<28}" + "".join(f"{size:>12,}" for size in sizes) + f"{'fixed us':>11}"
          f"{'ns / bar':>10}")  # fmt: skip
    for name in ("ours", "reference", "fused"):
        seconds = [timings[size][name] for size in sizes]
        fixed, per_bar = _fit(sizes, seconds) if len(sizes) > 1 else (float("nan"), float("nan"))
        print(f"{name:<28}" + "".join(f"{1 / t:>12,.0f}" for t in seconds) + f"{fixed * 1e6:>11.1f}"
              f"{per_bar * 1e9:>10.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
