"""The compiled kernels of `optimizer.robustness.cscv` (see its docstring for the rules).

- `_subset_sums`: the sums of every subset of one side's S/2 blocks.
- `_half_sharpe`, `_halves`: a split's half's per-bar Sharpe ratios, for every column,
  and its complement's (the pair's other split).
- `_cscv`: every split's selection and rank from the whole tables (`_choice`, `_pair`).
- `_select_chunk`, `_rank_chunk`: the same a chunk of columns at a time, in passes
  carried over the chunks (`_track`, `_resolve`, `_count`, `_settle`), for runs whose
  whole tables would be too large (`optimizer.robustness.cscv._cscv_chunked`).

They are in one module so that numba's cache of each stays consistent with the helpers
it inlines.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

TINY = 1e-300  # the floor of a half's spread, and of a tie margin's scale


@njit(cache=True)
def _subset_sums(values):  # pragma: no cover - compiled
    """(2^h x columns) sums of every subset of the h rows of ``values`` (h x columns); subset m
    holds row i where bit i of m is set, summed as subset m without its lowest bit plus that
    row. Compiled rather than numpy row by row: the tables are large (2^8 x candidates for 16
    blocks), and numpy asks for huge pages for them, which a fragmented machine's kernel can
    take four times as long to fault in as plain pages."""
    h, columns = values.shape
    out = np.empty((1 << h, columns))
    out[0] = 0.0
    for m in range(1, 1 << h):
        low = m & -m
        row = 0
        while (1 << row) != low:
            row += 1
        rest = m ^ low
        for j in range(columns):
            out[m, j] = out[rest, j] + values[row, j]
    return out


@njit(cache=True, inline="always")
def _half_sharpe(a, b, first_s, first_q, first_c, second_s, second_q, second_c, out):  # pragma: no cover
    """Per-bar Sharpe ratios (ddof 1) into ``out`` (one per candidate) of the half made of first-side
    subset ``a`` and second-side subset ``b``: mean / sd = s·sqrt((n - 1) / n) / sqrt(n·q - s²). The
    spread is floored at 1e-150, so a half of zero returns (s = 0) has Sharpe ratio 0. The counts
    have one column (a window shared by every candidate) or one per candidate."""
    if first_c.shape[1] == 1:
        n = first_c[a, 0] + second_c[b, 0]
        factor = np.sqrt((n - 1.0) / n)
        for j in range(len(out)):
            total = first_s[a, j] + second_s[b, j]
            spread = (first_q[a, j] + second_q[b, j]) * n - total * total
            out[j] = total * factor / np.sqrt(max(spread, TINY))
    else:
        for j in range(len(out)):
            n = first_c[a, j] + second_c[b, j]
            total = first_s[a, j] + second_s[b, j]
            spread = (first_q[a, j] + second_q[b, j]) * n - total * total
            out[j] = total * np.sqrt((n - 1.0) / n) / np.sqrt(max(spread, TINY))


@njit(cache=True, inline="always")
def _halves(first_s, first_q, first_c, second_s, second_q, second_c, a, b):  # pragma: no cover - compiled
    """The per-bar Sharpe ratios of every column in the half of first-side subset ``a`` and
    second-side subset ``b``, and in its complement (the other split of the pair)."""
    columns = first_s.shape[1]
    full = first_s.shape[0] - 1
    inside = np.empty(columns)
    outside = np.empty(columns)
    _half_sharpe(a, b, first_s, first_q, first_c, second_s, second_q, second_c, inside)
    _half_sharpe(full - a, full - b, first_s, first_q, first_c, second_s, second_q, second_c, outside)
    return inside, outside


@njit(cache=True, inline="always")
def _choice(inside, outside, best, second, choice, tolerance):  # pragma: no cover - compiled
    """The selected column of a split whose in-sample best is ``inside[choice]`` = ``best`` and
    whose other candidates' best is ``second``: among those within the tie tolerance of the
    best, the lowest out of sample (the first such column)."""
    level = best - tolerance * max(abs(best), TINY)
    if not second >= level:  # no tie (the usual case): no pass over the candidates
        return choice
    lowest = np.inf
    pick = choice
    for j in range(len(inside)):
        if inside[j] >= level and outside[j] < lowest:
            lowest, pick = outside[j], j
    return pick


@njit(cache=True, inline="always")
def _pair(inside, outside, copies, candidates, tolerance):  # pragma: no cover - compiled
    """Splits k and N - 1 - k from their halves' Sharpe ratios (``inside`` is k's in-sample half and
    N - 1 - k's out-of-sample half), one per distinct column, column j standing for ``copies[j]``
    of the ``candidates``: for each split, ω, the selection's IS and OOS Sharpe ratios and its
    column (the module docstring's rules). Two passes over the columns serve both splits: the
    in-sample best (first column of the greatest value) and the best of the others, then the
    ranks out of sample."""
    columns = len(inside)
    best_k, second_k, choice_k = inside[0], -np.inf, 0
    best_o, second_o, choice_o = outside[0], -np.inf, 0
    for j in range(1, columns):
        x = inside[j]
        if x > best_k:
            second_k, best_k, choice_k = best_k, x, j
        elif x > second_k:
            second_k = x
        y = outside[j]
        if y > best_o:
            second_o, best_o, choice_o = best_o, y, j
        elif y > second_o:
            second_o = y
    choice_k = _choice(inside, outside, best_k, second_k, choice_k, tolerance)
    choice_o = _choice(outside, inside, best_o, second_o, choice_o, tolerance)
    value_k, value_o = outside[choice_k], inside[choice_o]
    margin_k = tolerance * max(abs(value_k), TINY)
    margin_o = tolerance * max(abs(value_o), TINY)
    below_k = at_most_k = below_o = at_most_o = 0
    for j in range(columns):
        x, y, w = outside[j], inside[j], copies[j]
        if x < value_k - margin_k:
            below_k += w
        if x <= value_k + margin_k:
            at_most_k += w
        if y < value_o - margin_o:
            below_o += w
        if y <= value_o + margin_o:
            at_most_o += w
    omega_k = (below_k + (at_most_k - below_k + 1) / 2.0) / (candidates + 1.0)
    omega_o = (below_o + (at_most_o - below_o + 1) / 2.0) / (candidates + 1.0)
    return omega_k, inside[choice_k], value_k, choice_k, omega_o, outside[choice_o], value_o, choice_o


@njit(cache=True, parallel=True)
def _cscv(first_s, first_q, first_c, second_s, second_q, second_c, masks_a, masks_b, copies, tolerance):  # pragma: no cover
    """ω (the relative rank whose logit is λ), the selection's IS and OOS per-bar Sharpe ratios and
    its column for every split, from the subset sums of each side (2^h rows x candidates; the
    counts' columns 1 or candidates; column j stands for ``copies[j]`` identical candidates).
    Split k's out-of-sample half is split N - 1 - k's in-sample half (`_split_masks`): each pair
    of splits computes its two halves' Sharpe ratios once and serves both (`_pair`). Pairs are
    independent: run in parallel, the same result."""
    splits = len(masks_a)
    candidates = copies.sum()
    omegas = np.empty(splits)
    chosen_in = np.empty(splits)
    chosen_out = np.empty(splits)
    selected = np.empty(splits, dtype=np.int64)
    for k in prange(splits // 2):
        inside, outside = _halves(first_s, first_q, first_c, second_s, second_q, second_c, masks_a[k], masks_b[k])
        o = splits - 1 - k
        (omegas[k], chosen_in[k], chosen_out[k], selected[k],
         omegas[o], chosen_in[o], chosen_out[o], selected[o]) = _pair(inside, outside, copies, candidates, tolerance)  # fmt: skip
    return omegas, chosen_in, chosen_out, selected


@njit(cache=True, inline="always")
def _track(chosen, other, offset, s, best, second, choice, value):  # pragma: no cover - compiled
    """Split ``s``'s in-sample best (first column of the greatest ``chosen`` value), the best of
    the others and the best's ``other`` value, carried on over one chunk of columns (global
    column ``offset`` first): `_pair`'s first pass, a chunk at a time."""
    start = 0
    if offset == 0:
        best[s], second[s], choice[s], value[s] = chosen[0], -np.inf, 0, other[0]
        start = 1
    b, sc, ch, v = best[s], second[s], choice[s], value[s]
    for j in range(start, len(chosen)):
        x = chosen[j]
        if x > b:
            sc, b, ch, v = b, x, offset + j, other[j]
        elif x > sc:
            sc = x
    best[s], second[s], choice[s], value[s] = b, sc, ch, v


@njit(cache=True, inline="always")
def _resolve(chosen, other, offset, s, level, lowest, choice, best, value):  # pragma: no cover - compiled
    """A tied split's selection over one chunk: among the columns within the tie ``level`` of the
    best, the lowest ``other`` value (its first column), as `_choice` picks; ``best`` and ``value``
    take the pick's in-sample and out-of-sample values."""
    for j in range(len(chosen)):
        if chosen[j] >= level and other[j] < lowest[s]:
            lowest[s], choice[s], best[s], value[s] = other[j], offset + j, chosen[j], other[j]


@njit(cache=True, inline="always")
def _settle(chosen, other, offset, copies, s, tied, ranking, levels, lowest, choice, best, value, below, at_most,
            tolerance):  # pragma: no cover - compiled  # fmt: skip
    """Split ``s``'s part of `_rank_chunk`."""
    if tied[s] and not ranking:
        _resolve(chosen, other, offset, s, levels[s], lowest, choice, best, value)
    elif tied[s] == ranking:
        _count(other, copies, s, value, tolerance, below, at_most)


@njit(cache=True, inline="always")
def _count(other, copies, s, value, tolerance, below, at_most):  # pragma: no cover - compiled
    """The columns of one chunk below and at most split ``s``'s selected ``other`` value
    (within the tie tolerance), each counted ``copies`` times: `_pair`'s second pass."""
    v = value[s]
    margin = tolerance * max(abs(v), TINY)
    low = high = 0
    for j in range(len(other)):
        x = other[j]
        if x < v - margin:
            low += copies[j]
        if x <= v + margin:
            high += copies[j]
    below[s] += low
    at_most[s] += high


@njit(cache=True, parallel=True)
def _select_chunk(first_s, first_q, first_c, second_s, second_q, second_c, masks_a, masks_b, offset,
                  best, second, choice, value):  # pragma: no cover - compiled  # fmt: skip
    """Pass 1 of the chunked CSCV over one chunk of columns (``offset`` its first): every split's
    running in-sample best, the best of the others, its column and out-of-sample value."""
    splits = len(masks_a)
    for k in prange(splits // 2):
        inside, outside = _halves(first_s, first_q, first_c, second_s, second_q, second_c, masks_a[k], masks_b[k])
        _track(inside, outside, offset, k, best, second, choice, value)
        _track(outside, inside, offset, splits - 1 - k, best, second, choice, value)


@njit(cache=True, parallel=True)
def _rank_chunk(first_s, first_q, first_c, second_s, second_q, second_c, masks_a, masks_b, offset, copies,
                tied, ranking, levels, lowest, choice, best, value, below, at_most, tolerance):  # pragma: no cover  # fmt: skip
    """Pass 2 (``ranking`` False) or 3 (True) of the chunked CSCV over one chunk of columns: pass 2
    resolves the tied splits' selections and counts the ranks of the others; pass 3 (only when a
    split was tied) counts the tied splits' ranks."""
    splits = len(masks_a)
    for k in prange(splits // 2):
        inside, outside = _halves(first_s, first_q, first_c, second_s, second_q, second_c, masks_a[k], masks_b[k])
        _settle(inside, outside, offset, copies, k, tied, ranking, levels, lowest, choice, best, value, below,
                at_most, tolerance)  # fmt: skip
        _settle(outside, inside, offset, copies, splits - 1 - k, tied, ranking, levels, lowest, choice, best, value,
                below, at_most, tolerance)  # fmt: skip
