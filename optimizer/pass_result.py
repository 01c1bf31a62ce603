"""What `optimizer.one_pass.run_pass` returns after its loop: the trades, the
return moments and block sums, and every array packed.

`pack_result` runs on the trades only, except the per-bar returns' moments and
block sums (issue 15), defined as numpy's two-pass computations: the returns'
sum, then the deviations' powers, and ``np.add.reduceat``'s block sums, which
`optimizer.pairwise` computes in numpy's order, so they are numpy's floats exactly.
The arrays are packed as `optimizer.stats_codec` packs them (one uint8 array):
`optimizer.plan` builds the `IndividualStats` from them without a numpy array
per field.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from optimizer.pairwise import DEVIATIONS, SQUARES, SUM, pairwise_in, workspace
from optimizer.stats_kernels import histogram, trade_summary


@njit(cache=True)
def _put(blob, offset, values):  # pragma: no cover - compiled
    raw = values.view(np.uint8)
    blob[offset : offset + len(raw)] = raw
    return offset + len(raw)


@njit(cache=True)
def pack_result(out, time, start, n, k, ti, tf, m, eq_t, eq_v, returns, blocks, abs_max):  # pragma: no cover
    """The ``k`` trades (``ti`` / ``tf`` rows as `optimizer.backtest._record`
    writes them, bars relative to ``start`` of ``time``), their summary into
    ``out[8:16]``, the ``n`` per-bar ``returns``' moments, ``abs_max`` and
    first non-finite return into ``out[16:23]`` (the figures of
    `optimizer.one_pass.OUT`), ``blocks`` block sums, and the ``m`` equity
    points ``eq_t`` / ``eq_v``: returns (the packed arrays' lengths, the
    packed arrays)."""
    entry_time = np.empty(k, np.int64)
    exit_time = np.empty(k, np.int64)
    side8 = np.empty(k, np.int8)
    reason8 = np.empty(k, np.int8)
    held = np.empty(k, np.int64)
    entry_price = np.empty(k)
    exit_price = np.empty(k)
    pct = np.empty(k)
    history = np.empty(k)
    held_sum = 0
    cumulative = 0.0
    for j in range(k):
        entry_time[j] = time[start + ti[j, 0]]
        exit_time[j] = time[start + ti[j, 1]]
        side8[j] = ti[j, 2]
        reason8[j] = ti[j, 3]
        held[j] = max(ti[j, 1] - ti[j, 0], 1)
        held_sum += held[j]
        entry_price[j] = tf[j, 0]
        exit_price[j] = tf[j, 1]
        pct[j] = tf[j, 2] * 100.0
        cumulative = tf[j, 3] if j == 0 else cumulative + tf[j, 3]
        history[j] = cumulative * 100.0
    n_win, n_loss, sum_win, sum_loss, best_pct, worst_pct, total_pct = trade_summary(pct)
    out[8], out[9], out[10], out[11] = n_win, n_loss, sum_win, sum_loss
    out[12], out[13], out[14], out[15] = best_pct, worst_pct, total_pct, held_sum
    win_edges, win_counts = histogram(pct[pct > 0])
    loss_edges, loss_counts = histogram(pct[pct < 0])

    # The moments and block sums of the per-bar returns, in numpy's order.
    out[21] = -1.0
    stack, partial = workspace()
    total_returns = pairwise_in(returns, 0, n, SUM, 0.0, stack, partial)[0]
    if not np.isfinite(total_returns):  # the first return that is not finite: refused, as returns_moments does
        for i in range(n):
            if not np.isfinite(returns[i]):
                out[21] = i
                out[22] = returns[i]
                break
    mean_returns = total_returns / n
    out[16] = mean_returns
    out[17], out[18], out[19] = pairwise_in(returns, 0, n, DEVIATIONS, mean_returns, stack, partial)
    out[20] = abs_max
    s = blocks if blocks > 0 and n >= blocks else 0
    block_sums = np.empty(s)
    block_squares = np.empty(s)
    block_counts = np.empty(s, np.int64)
    for q in range(s):
        b_lo = q * n // s
        b_hi = (q + 1) * n // s
        # np.add.reduceat's order: the first value, plus the pairwise sum of the rest
        rest_squares, rest, _ = pairwise_in(returns, b_lo + 1, b_hi - b_lo - 1, SQUARES, 0.0, stack, partial)
        block_sums[q] = returns[b_lo] + rest
        block_squares[q] = returns[b_lo] * returns[b_lo] + rest_squares
        block_counts[q] = b_hi - b_lo

    # Packed as `optimizer.stats_codec` packs them: the series, then the distributions.
    lengths = np.array([k, k, k, k, k, k, k, k, k, m, m, len(win_edges), len(win_counts), len(loss_edges),
                        len(loss_counts), s, s, s], np.int64)  # fmt: skip
    size = 8 * (7 * k + 2 * m + len(win_edges) + len(win_counts) + len(loss_edges) + len(loss_counts) + 3 * s) + 2 * k
    blob = np.empty(size, np.uint8)
    at = _put(blob, 0, entry_time)
    at = _put(blob, at, exit_time)
    at = _put(blob, at, side8)
    at = _put(blob, at, entry_price)
    at = _put(blob, at, exit_price)
    at = _put(blob, at, pct)
    at = _put(blob, at, reason8)
    at = _put(blob, at, held)
    at = _put(blob, at, history)
    at = _put(blob, at, eq_t[:m].copy())
    at = _put(blob, at, eq_v[:m].copy())
    at = _put(blob, at, win_edges)
    at = _put(blob, at, win_counts)
    at = _put(blob, at, loss_edges)
    at = _put(blob, at, loss_counts)
    at = _put(blob, at, block_sums)
    at = _put(blob, at, block_squares)
    at = _put(blob, at, block_counts)
    return lengths, blob
