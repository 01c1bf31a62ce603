"""The Probability of Backtest Overfitting by CSCV (Bailey, Borwein, López de Prado and Zhu).

Combinatorially symmetric cross-validation over S contiguous blocks of the
training window: each of the C(S, S/2) ways to pick S/2 blocks as the in-sample
half (the other S/2 out of sample) is a split. In each split the candidate with
the best in-sample Sharpe ratio is selected, and its out-of-sample Sharpe ratio
is ranked among all candidates': relative rank ω = r / (N + 1) (r from 1, the
worst, to N, the best), logit λ = ln(ω / (1 - ω)). PBO is the share of splits
with λ <= 0: how often the in-sample best is at or below the median out of
sample. Over pure noise it is about 0.5; a real edge drives it to 0.

Everything is computed from per-block sums (sum of returns, sum of squares,
bar count), which is all the run keeps of an evaluation: a half's Sharpe ratio
is mean / standard deviation (ddof 1) of its bars, per bar, not annualized,
exactly as if its blocks' returns were concatenated.

Rules:
- **Order of splits**: in-sample halves in the order of
  ``itertools.combinations(range(S), S // 2)`` (lexicographic); ``logits``,
  ``is_sharpe``, ``oos_sharpe`` and ``selected`` follow it.
- **Ties**: Sharpe ratios within a relative `TIE_TOLERANCE` of each other are
  equal (the block sums' rounding must not decide). Among candidates tied for
  the best in-sample Sharpe ratio, the one with the lowest out-of-sample Sharpe
  ratio is selected (a tie never flatters the search, and the answer does not
  depend on the candidates' order). Out of sample, ties share their mid-rank:
  r = (number below) + (number tied, itself included, + 1) / 2.
- **Zero variance in a half**: a half whose returns are all 0 (a flat equity:
  no position held in those blocks) has Sharpe ratio 0 — no return for no
  risk, above a loser and below a winner. (A constant non-zero return, which no
  backtest's equity gives, would have an unbounded Sharpe ratio of its sign:
  its spread is floored at 1e-150.)

Compiled: a half is a subset of the first S/2 blocks joined with a subset of
the last S/2, so the sums of all 2^(S/2) subsets of each side are computed once
(4 x 2^(S/2) x candidates floats: 82 MB for 10,000 candidates at S = 16; beyond
`TABLE_BYTES` the candidates are taken in chunks, `_cscv_chunked`, with the same
results) and each half's sums are one addition per candidate. One compiled pass per split
computes both halves' Sharpe ratios, the selection and its rank (a count of the
candidates below it and tied with it: no sort). A split's out-of-sample half is
another split's in-sample half (in combinations order, split N - 1 - k is split
k's complement), so each pair of splits shares its two halves' Sharpe ratios; the
pairs run in parallel threads, each independent of the others (the same result on
any thread count). Candidates whose block sums are equal byte for byte (a GA's
parameter sets whose trades are the same: a third of a run's evaluations) are
computed once and counted as often as they occur (`distinct_columns`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np
from numba import njit, prange

from optimizer.robustness.moments import block_sums

MAX_BLOCKS = 20  # C(20, 10) = 184,756 splits (14 times S = 16's); subset sums 4 x 2^10 x candidates floats
TIE_TOLERANCE = 1e-9
TABLE_BYTES = 64 << 20  # the most one CSCV's subset tables take; beyond it, candidates in chunks of a quarter
_TINY = 1e-300


def split_halves(blocks: int) -> np.ndarray:
    """The (C(S, S/2) x S) boolean membership of each split's in-sample half, in combinations order."""
    check_blocks(blocks)
    chosen = np.array(list(combinations(range(blocks), blocks // 2)), dtype=np.int64)
    halves = np.zeros((len(chosen), blocks), dtype=bool)
    np.put_along_axis(halves, chosen, True, axis=1)
    return halves


def check_blocks(blocks: int) -> None:
    """Refuse a block count CSCV cannot use (odd, under 2, or over `MAX_BLOCKS`)."""
    if not isinstance(blocks, int | np.integer) or blocks < 2 or blocks % 2 or blocks > MAX_BLOCKS:
        raise ValueError(f"blocks: {blocks!r} must be an even whole number from 2 to {MAX_BLOCKS}")


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


@lru_cache(maxsize=8)
def _split_masks(blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """For each split in `split_halves` order, the bit masks of its in-sample blocks among the
    first S/2 blocks and among the last S/2 (block h + i is bit i of the second mask). The same
    for every run of S blocks: built once per process (read only)."""
    h = blocks // 2
    chosen = list(combinations(range(blocks), h))
    first = np.array([sum(1 << i for i in c if i < h) for c in chosen], dtype=np.int64)
    second = np.array([sum(1 << (i - h) for i in c if i >= h) for c in chosen], dtype=np.int64)
    full = (1 << h) - 1
    if not ((first[::-1] == full - first) & (second[::-1] == full - second)).all():  # pragma: no cover - a law
        raise AssertionError("split N - 1 - k is not split k's complement")  # what `_cscv` relies on
    first.flags.writeable = second.flags.writeable = False
    return first, second


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
            out[j] = total * factor / np.sqrt(max(spread, _TINY))
    else:
        for j in range(len(out)):
            n = first_c[a, j] + second_c[b, j]
            total = first_s[a, j] + second_s[b, j]
            spread = (first_q[a, j] + second_q[b, j]) * n - total * total
            out[j] = total * np.sqrt((n - 1.0) / n) / np.sqrt(max(spread, _TINY))


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
    level = best - tolerance * max(abs(best), _TINY)
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
    margin_k = tolerance * max(abs(value_k), _TINY)
    margin_o = tolerance * max(abs(value_o), _TINY)
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
    margin = tolerance * max(abs(v), _TINY)
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


def _cscv_chunked(
    parts: tuple[np.ndarray, np.ndarray, np.ndarray], copies: np.ndarray, blocks: int, chunk: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_cscv`'s results from the distinct columns' (sums, squares, counts) ``parts`` taken
    ``chunk`` columns at a time, so that the subset tables stay at 4 x 2^(S/2) x ``chunk``
    floats whatever the candidates: pass 1 finds every split's in-sample best column by
    column in order (the same rule, so the same column), pass 2 resolves the splits whose
    best is tied and ranks the others' selections, pass 3 (only after a tie) ranks the tied
    splits'. Each half's Sharpe ratios are computed two or three times instead of once: the
    price of a bounded memory, paid only by runs whose tables would outgrow `TABLE_BYTES`
    (8,192 distinct candidates at S = 16; 1 % to 25 % slower at 50,000, which the whole tables
    would hold in 410 MB: a chunk's tables stay in the caches)."""
    h = blocks // 2
    masks_a, masks_b = _split_masks(blocks)
    splits = len(masks_a)
    columns = parts[0].shape[1]
    shared_counts = parts[2].shape[1] == 1
    counts_tables = (_subset_sums(parts[2][:h]), _subset_sums(parts[2][h:])) if shared_counts else None

    def tables(start: int, stop: int) -> list[np.ndarray]:
        sums, squares = parts[0][:, start:stop], parts[1][:, start:stop]
        counts = counts_tables if counts_tables is not None else (_subset_sums(parts[2][:h, start:stop]),
                                                                  _subset_sums(parts[2][h:, start:stop]))  # fmt: skip
        return [_subset_sums(sums[:h]), _subset_sums(squares[:h]), counts[0],
                _subset_sums(sums[h:]), _subset_sums(squares[h:]), counts[1]]  # fmt: skip

    best, second, value = np.empty(splits), np.empty(splits), np.empty(splits)
    choice = np.empty(splits, np.int64)
    chunks = range(0, columns, chunk)
    for start in chunks:
        _select_chunk(*tables(start, start + chunk), masks_a, masks_b, start, best, second, choice, value)
    levels = best - TIE_TOLERANCE * np.maximum(np.abs(best), _TINY)
    tied = second >= levels
    lowest = np.full(splits, np.inf)
    below, at_most = np.zeros(splits, np.int64), np.zeros(splits, np.int64)
    for ranking in (False, True) if tied.any() else (False,):
        for start in chunks:
            _rank_chunk(*tables(start, start + chunk), masks_a, masks_b, start, copies[start : start + chunk], tied,
                        ranking, levels, lowest, choice, best, value, below, at_most, TIE_TOLERANCE)  # fmt: skip
    omega = (below + (at_most - below + 1) / 2.0) / (copies.sum() + 1.0)
    return omega, best, value, choice


def _validated(
    block_sums_: np.ndarray, block_squares: np.ndarray, block_counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sums = np.asarray(block_sums_, dtype=np.float64)
    squares = np.asarray(block_squares, dtype=np.float64)
    if sums.ndim != 2:
        raise ValueError(f"block_sums: expected an (S blocks x candidates) array, got shape {sums.shape}")
    if squares.shape != sums.shape:
        raise ValueError(f"block_squares: shape {squares.shape} differs from block_sums' {sums.shape}")
    counts = np.asarray(block_counts)
    if counts.shape not in (sums.shape, sums.shape[:1]):
        raise ValueError(f"block_counts: shape {counts.shape} fits neither {sums.shape} nor {sums.shape[:1]}")
    blocks, candidates = sums.shape
    check_blocks(blocks)
    if candidates < 2:
        raise ValueError(f"candidates: {candidates} given, PBO compares at least 2")
    for name, values in (("block_sums", sums), ("block_squares", squares)):
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:
            block, column = (int(i) for i in bad[0])
            raise ValueError(f"{name}: block {block} of candidate {column} is {values[block, column]!r}, not finite")
    if (squares < 0).any():
        block, column = (int(i) for i in np.argwhere(squares < 0)[0])
        raise ValueError(f"block_squares: block {block} of candidate {column} is negative")
    if not np.issubdtype(counts.dtype, np.integer) and not (counts == np.round(counts)).all():
        raise ValueError("block_counts: bar counts must be whole numbers")
    counts = counts.astype(np.float64)
    if (counts < 1).any():
        raise ValueError("block_counts: every block needs at least 1 bar")
    if counts.ndim == 2 and (counts == counts[:, :1]).all():
        counts = counts[:, 0]  # one window for every candidate: one count per half
    if (np.sort(counts, axis=0)[: blocks // 2].sum(axis=0) < 2).any():
        raise ValueError("block_counts: every half of S/2 blocks needs at least 2 bars (a standard deviation)")
    return sums, squares, counts


def distinct_columns(*matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns that stand for all (the first of each set of columns equal in every one of
    ``matrices``, byte for byte; a matrix of one column is shared by all), ascending, and how many
    columns each stands for. Candidates with the same block sums (parameters whose trades are the
    same: a stop never reached) have the same Sharpe ratios in every half: CSCV computes each
    once and counts it as many times, with the same result."""
    rows = [m for m in matrices if m.shape[1] != 1]
    stacked = np.ascontiguousarray(np.vstack([np.asarray(m, np.float64) for m in rows]).T)
    keys = stacked.view(np.dtype((np.void, stacked.shape[1] * 8))).ravel()
    _, first, copies = np.unique(keys, return_index=True, return_counts=True)
    order = np.argsort(first)
    return first[order], copies[order].astype(np.int64)


def pbo_from_blocks(block_sums: np.ndarray, block_squares: np.ndarray, block_counts: np.ndarray) -> dict[str, Any]:
    """PBO and its companions from per-block sums of every candidate.

    ``block_sums`` and ``block_squares``: (S x candidates) sums of per-bar
    returns and of their squares over each block (`block_sums` of each
    evaluation, one column per candidate); ``block_counts``: the bars in each
    block, (S x candidates) or (S,) when all candidates share the window. S even
    (2 to `MAX_BLOCKS`); at least 2 candidates.

    Returns a JSON-ready dict: ``pbo`` (share of splits with λ <= 0), ``logits``
    (λ of each split, in `split_halves` order), ``is_sharpe`` and ``oos_sharpe``
    (the selected candidate's per-bar Sharpe ratio in and out of sample, each
    split), ``selected`` (its column), ``degradation_slope`` and
    ``degradation_intercept`` (least squares of OOS on IS Sharpe over the splits;
    None if the IS Sharpe ratios do not vary), ``prob_oos_loss`` (share of
    splits whose selection has an OOS Sharpe ratio below 0), ``splits``,
    ``candidates`` and ``blocks``.
    """
    sums, squares, counts = _validated(block_sums, block_squares, block_counts)
    blocks, candidates = sums.shape
    h = blocks // 2
    # Bar counts as (blocks x 1) when every candidate shares the window, else (blocks x candidates).
    counts_2d = counts[:, None] if counts.ndim == 1 else counts
    keep, copies = distinct_columns(sums, squares, counts_2d)
    parts = (sums[:, keep], squares[:, keep], counts_2d if counts_2d.shape[1] == 1 else counts_2d[:, keep])
    per_column = (4 if counts_2d.shape[1] == 1 else 6) * (1 << h) * 8  # bytes of its subset tables' columns
    if len(keep) * per_column <= TABLE_BYTES:
        first = [_subset_sums(part[:h]) for part in parts]
        second = [_subset_sums(part[h:]) for part in parts]
        omega, is_sharpe, oos_sharpe, chosen = _cscv(*first, *second, *_split_masks(blocks), copies, TIE_TOLERANCE)
    else:
        omega, is_sharpe, oos_sharpe, chosen = _cscv_chunked(parts, copies, blocks, TABLE_BYTES // 4 // per_column)
    selected = keep[chosen]
    logits = np.log(omega / (1.0 - omega))
    splits = len(logits)
    slope, intercept = _degradation(is_sharpe, oos_sharpe)
    return {
        "pbo": float(np.count_nonzero(logits <= 0.0) / splits),
        "logits": logits.tolist(),
        "degradation_slope": slope,
        "degradation_intercept": intercept,
        "prob_oos_loss": float(np.count_nonzero(oos_sharpe < 0.0) / splits),
        "is_sharpe": is_sharpe.tolist(),
        "oos_sharpe": oos_sharpe.tolist(),
        "selected": selected.tolist(),
        "splits": splits,
        "candidates": candidates,
        "blocks": blocks,
    }


def _degradation(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    """Least-squares slope and intercept of ``y`` on ``x``; (None, None) if ``x`` does not vary."""
    dx = x - x.mean()
    spread = float(dx @ dx)
    if not spread > 0.0 or not math.isfinite(spread):
        return None, None
    slope = float(dx @ (y - y.mean())) / spread
    return slope, float(y.mean() - slope * x.mean())


def pbo(returns: np.ndarray, blocks: int = 16) -> dict[str, Any]:
    """PBO over a (bars x candidates) array of per-bar returns (fractions), by CSCV.

    The bars are cut into ``blocks`` contiguous blocks (`block_sums`: sizes
    differ by at most one bar) and `pbo_from_blocks` does the rest; see it for
    the keys of the result.
    """
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"returns: expected a (bars x candidates) array, got shape {values.shape}")
    check_blocks(blocks)
    return pbo_from_blocks(*block_sums(values, blocks))
