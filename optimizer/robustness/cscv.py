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

from optimizer.robustness.cscv_kernels import TINY, _cscv, _rank_chunk, _select_chunk, _subset_sums
from optimizer.robustness.moments import block_sums

MAX_BLOCKS = 20  # C(20, 10) = 184,756 splits (14 times S = 16's); subset sums 4 x 2^10 x candidates floats
TIE_TOLERANCE = 1e-9
TABLE_BYTES = 64 << 20  # the most one CSCV's subset tables take; beyond it, candidates in chunks of a quarter


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


def _counts_tables(counts: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The subset tables of the bar counts' two sides."""
    return _subset_sums(counts[:h]), _subset_sums(counts[h:])


def _tables(
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    h: int,
    start: int = 0,
    stop: int | None = None,
    shared: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[np.ndarray]:
    """The six subset tables `_cscv` takes (sums, squares and counts of the first side, then of
    the second) of the columns ``start:stop`` of ``parts``; ``shared``: the counts' tables when
    every candidate shares the window (made once), else made from the columns' own counts."""
    sums, squares = parts[0][:, start:stop], parts[1][:, start:stop]
    counts = shared if shared is not None else _counts_tables(parts[2][:, start:stop], h)
    return [_subset_sums(sums[:h]), _subset_sums(squares[:h]), counts[0],
            _subset_sums(sums[h:]), _subset_sums(squares[h:]), counts[1]]  # fmt: skip


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
    shared = _counts_tables(parts[2], h) if parts[2].shape[1] == 1 else None

    def tables(start: int, stop: int) -> list[np.ndarray]:
        return _tables(parts, h, start, stop, shared)

    best, second, value = np.empty(splits), np.empty(splits), np.empty(splits)
    choice = np.empty(splits, np.int64)
    chunks = range(0, columns, chunk)
    for start in chunks:
        _select_chunk(*tables(start, start + chunk), masks_a, masks_b, start, best, second, choice, value)
    levels = best - TIE_TOLERANCE * np.maximum(np.abs(best), TINY)
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
        omega, is_sharpe, oos_sharpe, chosen = _cscv(*_tables(parts, h), *_split_masks(blocks), copies, TIE_TOLERANCE)
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
