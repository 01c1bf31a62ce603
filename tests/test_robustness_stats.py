"""The robustness statistics (issue 15) against published values, independent references and properties."""

from __future__ import annotations

import math
from itertools import combinations, permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sstats

from optimizer.robustness import (
    FAN_POINTS,
    block_sums,
    compound_paths,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    monte_carlo,
    pbo,
    pbo_from_blocks,
    probabilistic_sharpe_ratio,
    returns_moments,
    split_halves,
)
from optimizer.robustness.cscv import (
    TABLE_BYTES,
    TIE_TOLERANCE,
    _cscv,
    _cscv_chunked,
    _split_masks,
    _subset_sums,
    distinct_columns,
)
from optimizer.robustness.montecarlo import _CHUNK_ELEMENTS

# --- Probabilistic and Deflated Sharpe Ratios -------------------------------------------------


def test_psr_published_value():
    # Bailey and López de Prado's PSR example: SR = 1.14 against SR* = 1 over T = 250 returns, normal
    # (skewness 0, kurtosis 3) gives 0.9573. The formula only holds with SR in the unit of one of the
    # T returns, so 1.14 and 1 are read as per-observation Sharpe ratios with T = 250 observations
    # (reading 1.14 as annualized over 250 daily returns, 1.14/sqrt(250) against 1/sqrt(250),
    # gives 0.555 instead). With sqrt(T - 1), as in the paper: 0.95728.
    assert probabilistic_sharpe_ratio(1.14, 250, 0.0, 3.0, benchmark=1.0) == pytest.approx(0.9573, abs=5e-5)


def test_dsr_paper_worked_example():
    # The DSR paper's example: N = 100 trials, T = 1,250 daily returns, annualized SR 2.5, annualized
    # variance of the trials' Sharpe ratios 0.5, skewness -3, kurtosis 10: DSR ~ 0.90. Per bar with
    # 250 days a year: SR = 2.5 / sqrt(250), V = 0.5 / 250 (a Sharpe ratio scales with sqrt(periods)).
    days = 250
    sr0 = expected_max_sharpe(100, 0.5 / days)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)  # the paper's E[max SR], per day
    assert expected_max_sharpe(100, 0.5) == pytest.approx(sr0 * math.sqrt(days))  # SR0 scales as sqrt(V)
    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(days), 1250, -3.0, 10.0, 100, 0.5 / days)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_expected_max_sharpe_against_simulated_maxima():
    # SR0 approximates E[max of N independent N(0, V)] (an asymptotic formula: 3.5 % high at N = 10).
    rng = np.random.default_rng(7)
    for trials in (10, 100, 1000):
        simulated = rng.normal(0.0, 0.3, (4000, trials)).max(axis=1).mean()
        assert expected_max_sharpe(trials, 0.09) == pytest.approx(simulated, rel=0.04)


def test_expected_max_sharpe_edges():
    assert expected_max_sharpe(1, 0.5) == 0.0  # one trial: no selection (Φ⁻¹(0) would be -inf)
    assert expected_max_sharpe(50, 0.0) == 0.0
    assert expected_max_sharpe(2, 1.0) > 0.0
    with pytest.raises(ValueError, match="trials"):
        expected_max_sharpe(0, 0.5)
    with pytest.raises(ValueError, match="trials_variance"):
        expected_max_sharpe(10, -0.1)
    with pytest.raises(ValueError, match="trials_variance"):
        deflated_sharpe_ratio(0.1, 100, 0.0, 3.0, 10, math.nan)


def test_psr_edges():
    assert math.isnan(probabilistic_sharpe_ratio(0.1, 1, 0.0, 3.0))  # bars < 2: no spread
    assert math.isnan(probabilistic_sharpe_ratio(0.1, 0, 0.0, 3.0))
    assert math.isnan(probabilistic_sharpe_ratio(None, 100, 0.0, 3.0))  # a flat equity's Sharpe ratio
    assert math.isnan(probabilistic_sharpe_ratio(math.nan, 100, 0.0, 3.0))
    # Radicand 0 on the moment boundary kurtosis = 1 + skewness² at SR = 2 / skewness: undefined.
    assert math.isnan(probabilistic_sharpe_ratio(2.0, 100, 1.0, 2.0))
    with pytest.raises(ValueError, match="kurtosis"):  # no distribution has kurtosis < 1 + skewness²
        probabilistic_sharpe_ratio(0.1, 100, 2.0, 3.0)
    with pytest.raises(ValueError, match="bars"):
        probabilistic_sharpe_ratio(0.1, -5, 0.0, 3.0)
    assert probabilistic_sharpe_ratio(0.0, 100, 0.0, 3.0) == 0.5
    assert probabilistic_sharpe_ratio(-0.1, 500, 0.0, 3.0) < 0.05
    assert deflated_sharpe_ratio(0.1, 500, 0.0, 3.0, 1, 0.01) == probabilistic_sharpe_ratio(0.1, 500, 0.0, 3.0)


def test_min_track_record_length_inverts_psr():
    for sharpe, skew, kurt, bench in ((0.1, 0.0, 3.0, 0.0), (0.08, -1.5, 9.0, 0.02), (0.3, 0.5, 4.0, 0.1)):
        bars = min_track_record_length(sharpe, skew, kurt, benchmark=bench, confidence=0.95)
        assert bars is not None and bars > 1
        assert probabilistic_sharpe_ratio(sharpe, bars, skew, kurt, benchmark=bench) == pytest.approx(0.95, abs=1e-9)
        assert probabilistic_sharpe_ratio(sharpe, math.ceil(bars), skew, kurt, benchmark=bench) >= 0.95
    # Normal returns, SR 0.1 per bar: 1 + (1 + 0.1²/2)·(1.6449/0.1)² bars.
    expected = 1 + (1 + 0.005) * (sstats.norm.ppf(0.95) / 0.1) ** 2
    assert min_track_record_length(0.1, 0.0, 3.0) == pytest.approx(expected)
    assert min_track_record_length(0.05, 0.0, 3.0, benchmark=0.05) is None
    assert min_track_record_length(-0.1, 0.0, 3.0) is None
    assert min_track_record_length(None, 0.0, 3.0) is None
    with pytest.raises(ValueError, match="confidence"):
        min_track_record_length(0.1, 0.0, 3.0, confidence=1.0)


@settings(max_examples=60, deadline=None)
@given(
    sharpe=st.floats(-0.2, 0.5),
    bars=st.integers(2, 100_000),
    skew=st.floats(-3, 3),
    excess=st.floats(0, 20),
    variance=st.floats(1e-6, 0.05),
    trials=st.integers(1, 10_000),
    more=st.integers(1, 10_000),
)
def test_dsr_falls_as_trials_grow(sharpe, bars, skew, excess, variance, trials, more):
    kurt = 1 + skew * skew + excess
    fewer = deflated_sharpe_ratio(sharpe, bars, skew, kurt, trials, variance)
    many = deflated_sharpe_ratio(sharpe, bars, skew, kurt, trials + more, variance)
    assert many <= fewer
    assert expected_max_sharpe(trials + more, variance) > expected_max_sharpe(trials, variance)
    if 1e-6 < fewer < 1 - 1e-6:
        assert many < fewer


# --- Moments and block sums ---------------------------------------------------------------------


def test_returns_moments_match_scipy():
    returns = np.random.default_rng(3).standard_t(4, 700) * 0.01 + 0.0005
    moments = returns_moments(returns)
    assert moments.bars == 700
    assert moments.mean == pytest.approx(returns.mean())
    assert moments.variance == pytest.approx(returns.var(ddof=1))
    assert moments.skewness == pytest.approx(sstats.skew(returns, bias=True))
    assert moments.kurtosis == pytest.approx(sstats.kurtosis(returns, fisher=False, bias=True))
    assert moments.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1))
    assert moments.kurtosis >= 1 + moments.skewness**2


def test_returns_moments_undefined():
    assert returns_moments(np.zeros(0)) == (0, None, None, None, None, None)
    assert returns_moments(np.array([0.01])) == (1, 0.01, None, None, None, None)
    flat = returns_moments(np.zeros(50))
    assert flat.variance == 0.0 and flat.sharpe is None and flat.skewness is None and flat.kurtosis is None
    assert returns_moments(np.full(50, 0.1)).sharpe is None  # constant: the spread is rounding
    with pytest.raises(ValueError, match="bar 3"):
        returns_moments(np.array([0.0, 0.1, 0.2, np.nan]))


def test_block_sums_spread_the_remainder():
    returns = np.random.default_rng(5).normal(0, 0.01, 103)
    sums, squares, counts = block_sums(returns, 16)
    assert counts.sum() == 103 and set(counts.tolist()) == {6, 7}
    assert np.flatnonzero(counts == 7).tolist() == [2, 4, 6, 9, 11, 13, 15]  # floor(i·103/16) boundaries
    bounds = np.r_[0, np.cumsum(counts)]
    for i in range(16):
        part = returns[bounds[i] : bounds[i + 1]]
        assert sums[i] == pytest.approx(part.sum()) and squares[i] == pytest.approx((part**2).sum())
    matrix = np.column_stack([returns, -returns])
    sums2, squares2, counts2 = block_sums(matrix, 16)
    assert sums2.shape == squares2.shape == counts2.shape == (16, 2)
    np.testing.assert_allclose(sums2[:, 0], sums)
    np.testing.assert_allclose(sums2[:, 1], -sums)
    with pytest.raises(ValueError, match="blocks"):
        block_sums(returns[:10], 16)
    with pytest.raises(ValueError, match="candidate 1"):
        block_sums(np.array([[0.0, 0.0], [0.0, np.inf]]), 2)


# --- PBO by CSCV ----------------------------------------------------------------------------------


def _reference_pbo(returns: np.ndarray, blocks: int) -> dict:
    """Plain CSCV: every combination of blocks, Sharpe ratios of the concatenated returns, ranks by scipy."""
    bounds = (np.arange(blocks + 1) * len(returns)) // blocks
    parts = [np.arange(bounds[i], bounds[i + 1]) for i in range(blocks)]
    logits, ins, outs = [], [], []
    candidates = returns.shape[1]
    for chosen in combinations(range(blocks), blocks // 2):
        rest = [i for i in range(blocks) if i not in chosen]
        train = returns[np.concatenate([parts[i] for i in chosen])]
        test = returns[np.concatenate([parts[i] for i in rest])]
        sr_in = train.mean(axis=0) / train.std(axis=0, ddof=1)
        sr_out = test.mean(axis=0) / test.std(axis=0, ddof=1)
        best = int(np.argmax(sr_in))
        omega = sstats.rankdata(sr_out)[best] / (candidates + 1)
        logits.append(math.log(omega / (1 - omega)))
        ins.append(sr_in[best])
        outs.append(sr_out[best])
    logits, ins, outs = np.array(logits), np.array(ins), np.array(outs)
    slope, intercept = np.polyfit(ins, outs, 1)
    return {
        "pbo": float(np.mean(logits <= 0)),
        "logits": logits,
        "is_sharpe": ins,
        "oos_sharpe": outs,
        "prob_oos_loss": float(np.mean(outs < 0)),
        "degradation_slope": slope,
        "degradation_intercept": intercept,
    }


@pytest.mark.parametrize(("bars", "candidates", "blocks", "seed"), [(203, 9, 8, 1), (120, 5, 6, 2), (64, 30, 4, 3)])
def test_pbo_agrees_with_a_plain_reference(bars, candidates, blocks, seed):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.01, (bars, candidates)) + rng.normal(0.0, 0.001, candidates)
    ours, theirs = pbo(returns, blocks=blocks), _reference_pbo(returns, blocks)
    assert ours["splits"] == math.comb(blocks, blocks // 2) == len(ours["logits"])
    assert ours["candidates"] == candidates and ours["blocks"] == blocks
    assert ours["pbo"] == theirs["pbo"]
    assert ours["prob_oos_loss"] == theirs["prob_oos_loss"]
    for key in ("logits", "is_sharpe", "oos_sharpe"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-9, atol=1e-12)
    assert ours["degradation_slope"] == pytest.approx(theirs["degradation_slope"], rel=1e-8)
    assert ours["degradation_intercept"] == pytest.approx(theirs["degradation_intercept"], rel=1e-8, abs=1e-12)


def test_pbo_of_noise_averages_one_half():
    values = []
    for seed in range(60):
        returns = np.random.default_rng(seed).normal(0.0, 0.01, (400, 40))
        values.append(pbo(returns, blocks=8)["pbo"])
    assert 0.4 < np.mean(values) < 0.6


def test_pbo_of_a_real_drift_is_zero():
    rng = np.random.default_rng(11)
    returns = rng.normal(0.0, 0.01, (1600, 200))
    returns[:, 57] += 0.004  # a per-bar Sharpe ratio of 0.4: found in sample, kept out of sample
    result = pbo(returns)
    assert result["pbo"] == 0.0
    assert result["prob_oos_loss"] == 0.0
    assert set(result["selected"]) == {57}
    assert min(result["logits"]) == pytest.approx(math.log(200 / 1))  # the best of 200: ω = 200/201


def test_pbo_zero_variance_and_tie_rules():
    rng = np.random.default_rng(4)
    losers = rng.normal(-0.003, 0.01, (320, 6))
    flat = np.zeros((320, 1))  # no position: Sharpe 0, above every loser
    result = pbo(np.hstack([losers, flat]), blocks=8)
    assert set(result["selected"]) == {6}
    assert set(result["is_sharpe"]) == {0.0} and set(result["oos_sharpe"]) == {0.0}
    assert result["pbo"] == 0.0
    # Two identical winners tie out of sample and share the mid-rank: r = (C - 2) + 3/2.
    winner = rng.normal(0.004, 0.01, (320, 1))
    result = pbo(np.hstack([losers, winner, winner]), blocks=8)
    assert set(result["selected"]) <= {6, 7}
    np.testing.assert_allclose(result["logits"], math.log(7.5 / 1.5))


@pytest.mark.parametrize("order", [[0, 1, 2], [1, 0, 2], [2, 1, 0]])
def test_pbo_in_sample_tie_selects_the_lower_out_of_sample(order):
    # S = 2: split 0 has block 0 in sample, split 1 block 1. Candidates A and B are identical in
    # block 0 (tied in sample in split 0); out of sample (block 1) A loses and B wins: A is selected.
    rng = np.random.default_rng(12)
    shared = rng.normal(0.01, 0.01, 30)
    a = np.r_[shared, rng.normal(-0.01, 0.01, 30)]
    b = np.r_[shared, rng.normal(0.01, 0.01, 30)]
    noise = rng.normal(-0.005, 0.01, 60)
    columns = np.column_stack([a, b, noise])[:, order]
    result = pbo(columns, blocks=2)
    assert result["selected"][0] == order.index(0)
    assert result["oos_sharpe"][0] == pytest.approx(a[30:].mean() / a[30:].std(ddof=1))
    assert result["logits"][0] == pytest.approx(math.log(0.25 / 0.75))  # A is the worst of 3 in block 1


def test_split_halves_follow_combinations():
    halves = split_halves(6)
    assert halves.shape == (20, 6) and halves.sum(axis=1).tolist() == [3] * 20
    assert [tuple(np.flatnonzero(row)) for row in halves] == list(combinations(range(6), 3))
    with pytest.raises(ValueError, match="blocks"):
        split_halves(22)


@pytest.mark.parametrize(("bars", "distinct", "blocks", "seed"), [(203, 7, 8, 4), (120, 4, 6, 5), (64, 12, 4, 6)])
def test_pbo_of_repeated_candidates_agrees_with_the_plain_reference(bars, distinct, blocks, seed):
    """Candidates with the same returns (a stop never reached) are computed once and counted as
    often as they occur: the same figures as the plain reference, which ranks every column."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 0.01, (bars, distinct)) + rng.normal(0.0, 0.001, distinct)
    columns = rng.integers(0, distinct, size=3 * distinct)
    returns = base[:, columns]
    ours, theirs = pbo(returns, blocks=blocks), _reference_pbo(returns, blocks)
    assert ours["candidates"] == 3 * distinct
    assert ours["pbo"] == theirs["pbo"] and ours["prob_oos_loss"] == theirs["prob_oos_loss"]
    for key in ("logits", "is_sharpe", "oos_sharpe"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-9, atol=1e-12)
    first_of = {int(c): int(np.flatnonzero(columns == c)[0]) for c in columns}
    assert all(first_of[int(columns[j])] == j for j in ours["selected"])  # the first of its copies


def test_distinct_columns_compare_bytes():
    sums = np.array([[1.0, 2.0, 1.0, 0.0, -0.0, 2.0], [3.0, 4.0, 3.0, 0.0, 0.0, 4.0]])
    squares = np.array([[1.0, 1.0, 1.0, 0.0, 0.0, 2.0], [1.0, 1.0, 1.0, 0.0, 0.0, 2.0]])
    keep, copies = distinct_columns(sums, squares, np.ones((2, 1)))
    assert keep.tolist() == [0, 1, 3, 4, 5] and copies.tolist() == [2, 1, 1, 1, 1]  # -0.0 is not 0.0
    counts = np.array([[5, 5, 6, 5, 5, 5], [5, 5, 5, 5, 5, 5]], dtype=np.float64)
    keep, copies = distinct_columns(sums, squares, counts)
    assert keep.tolist() == [0, 1, 2, 3, 4, 5] and copies.sum() == 6


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), candidates=st.integers(2, 25), duplicate=st.booleans())
def test_pbo_invariant_to_candidate_order(seed, candidates, duplicate):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.01, (96, candidates)) + rng.normal(0.0, 0.002, candidates)
    if duplicate:
        returns[:, -1] = returns[:, 0]  # different parameter sets with the same trades
    order = rng.permutation(candidates)
    first, second = pbo(returns, blocks=6), pbo(returns[:, order], blocks=6)
    assert first["pbo"] == second["pbo"]
    assert first["prob_oos_loss"] == second["prob_oos_loss"]
    for key in ("logits", "is_sharpe", "oos_sharpe"):
        np.testing.assert_allclose(first[key], second[key], rtol=1e-12, atol=1e-15)


def test_pbo_from_blocks_counts_shapes_and_errors():
    returns = np.random.default_rng(8).normal(0.0, 0.01, (100, 7))
    sums, squares, counts = block_sums(returns, 10)
    assert pbo_from_blocks(sums, squares, counts) == pbo_from_blocks(sums, squares, counts[:, 0]) == pbo(returns, 10)
    with pytest.raises(ValueError, match="blocks"):
        pbo(returns, blocks=7)
    with pytest.raises(ValueError, match="candidates"):
        pbo(returns[:, :1])
    with pytest.raises(ValueError, match="block_squares"):
        pbo_from_blocks(sums, -squares, counts)
    with pytest.raises(ValueError, match="block_sums: block 2 of candidate 3"):
        bad = sums.copy()
        bad[2, 3] = np.nan
        pbo_from_blocks(bad, squares, counts)
    with pytest.raises(ValueError, match="block_counts"):
        pbo_from_blocks(sums, squares, counts[:3])
    with pytest.raises(ValueError, match="block_counts"):
        pbo_from_blocks(sums, squares, counts * 0)


def test_pbo_with_per_candidate_windows_matches_the_block_formula():
    # Candidates with different bar counts per block (e.g. different warm-ups): each half's Sharpe
    # ratio from its own sums, checked against a direct reading of the formula.
    rng = np.random.default_rng(9)
    counts = rng.integers(5, 9, (6, 4))
    series = [[rng.normal(0.001 * j, 0.01, n) for n in counts[:, j]] for j in range(4)]
    sums = np.array([[s.sum() for s in col] for col in series]).T
    squares = np.array([[(s * s).sum() for s in col] for col in series]).T
    result = pbo_from_blocks(sums, squares, counts)
    for index, chosen in enumerate(combinations(range(6), 3)):
        rest = [i for i in range(6) if i not in chosen]
        sr_in = [np.concatenate([series[j][i] for i in chosen]) for j in range(4)]
        sr_out = [np.concatenate([series[j][i] for i in rest]) for j in range(4)]
        sr_in = np.array([x.mean() / x.std(ddof=1) for x in sr_in])
        sr_out = np.array([x.mean() / x.std(ddof=1) for x in sr_out])
        best = int(np.argmax(sr_in))
        omega = sstats.rankdata(sr_out)[best] / 5
        assert result["selected"][index] == best
        assert result["logits"][index] == pytest.approx(math.log(omega / (1 - omega)))
        assert result["oos_sharpe"][index] == pytest.approx(sr_out[best])


# --- Monte Carlo on trades ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    trades=st.lists(st.floats(-0.9, 2.0, allow_nan=False), min_size=1, max_size=60),
    seed=st.integers(0, 2**31),
)
def test_reshuffling_never_changes_the_final_return(trades, seed):
    result = monte_carlo(np.array(trades), resamples=50, seed=seed)
    final = (math.prod(1 + t for t in trades) - 1) * 100
    assert result["final_return_pct"] == pytest.approx(final, rel=1e-9, abs=1e-9)
    for value in result["shuffle_return_pct"]:
        assert value == pytest.approx(final, rel=1e-9, abs=1e-9)


def test_monte_carlo_drawdowns_within_the_permutations():
    trades = np.array([0.1, -0.2, 0.3, -0.15])

    def drawdown(order):
        equity = np.cumprod(np.r_[1.0, 1 + np.array(order)])
        return (1 - equity / np.maximum.accumulate(equity)).max() * 100

    every = [drawdown(order) for order in permutations(trades)]
    result = monte_carlo(trades, resamples=500, seed=1)
    low, mid, high = result["mc_drawdown_pct"]
    assert min(every) - 1e-9 <= low <= mid <= high <= max(every) + 1e-9
    assert result["ruin_probability"] == 0.0
    assert monte_carlo(trades, resamples=500, seed=1, ruin_drawdown=0.2)["ruin_probability"] == pytest.approx(
        1.0  # the -20 % trade alone is a 20 % drawdown in every order (1 - 0.8 rounds below 0.2)
    )


def test_monte_carlo_bootstrap_and_fan():
    constant = monte_carlo(np.full(50, 0.01), resamples=200, seed=3)
    expected = (1.01**50 - 1) * 100
    assert constant["mc_return_pct"] == pytest.approx([expected] * 3)
    assert constant["mc_drawdown_pct"] == [0.0, 0.0, 0.0]
    trades = np.random.default_rng(2).normal(0.002, 0.03, 400)
    result = monte_carlo(trades, resamples=300, seed=5, ruin_drawdown=0.3)
    fan = result["fan"]
    assert len(fan["trade"]) <= 100 and fan["trade"][0] == 0 and fan["trade"][-1] == 400
    assert fan["p5"][0] == fan["p50"][0] == fan["p95"][0] == 1.0
    assert all(a <= b <= c for a, b, c in zip(fan["p5"], fan["p50"], fan["p95"], strict=True))
    low, mid, high = result["mc_return_pct"]
    assert low < result["final_return_pct"] < high and low < mid < high
    # The bootstrap's final equities are the fan's last column.
    assert (fan["p50"][-1] - 1) * 100 == pytest.approx(mid)
    assert result == monte_carlo(trades, resamples=300, seed=5, ruin_drawdown=0.3)  # seeded
    assert result["mc_return_pct"] != monte_carlo(trades, resamples=300, seed=6)["mc_return_pct"]
    ruined = monte_carlo(np.r_[trades[:10], -0.6], resamples=100, seed=0)
    assert ruined["ruin_probability"] == 1.0  # a 60 % loss is a 50 % drawdown in every order


def test_monte_carlo_edges_and_errors():
    empty = monte_carlo(np.zeros(0), resamples=10)
    assert empty["mc_return_pct"] == empty["mc_drawdown_pct"] == [0.0, 0.0, 0.0]
    assert empty["ruin_probability"] == 0.0 and empty["trades"] == 0 and empty["fan"]["trade"] == [0]
    with pytest.raises(ValueError, match="trade 1"):
        monte_carlo(np.array([0.1, -1.5]))
    with pytest.raises(ValueError, match="trade 0"):
        monte_carlo(np.array([np.nan]))
    with pytest.raises(ValueError, match="resamples"):
        monte_carlo(np.array([0.1]), resamples=0)
    with pytest.raises(ValueError, match="ruin_drawdown"):
        monte_carlo(np.array([0.1]), ruin_drawdown=0.0)


def _monte_carlo_reference(trade_returns, resamples, seed, ruin_drawdown):
    """The same draws as `monte_carlo`, walked the plain way: every path as a matrix
    (`compound_paths`), its drawdown from numpy's running maximum, each percentile apart."""
    values = np.asarray(trade_returns, dtype=np.float64)
    trades = len(values)
    marks = np.unique(np.linspace(0, trades, min(trades + 1, FAN_POINTS)).round().astype(np.int64))
    shuffle_rng, boot_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    drawdowns, shuffled, boot, fan = [], [], [], []
    step = max(1, _CHUNK_ELEMENTS // max(trades, 1))
    for start in range(0, resamples, step):
        rows = min(step, resamples - start)
        paths = compound_paths(shuffle_rng.permuted(np.broadcast_to(values, (rows, trades)), axis=1))
        drawdowns.append((1.0 - paths / np.maximum.accumulate(paths, axis=1)).max(axis=1))
        shuffled.append(paths[:, -1])
        drawn = values[boot_rng.integers(0, trades, size=(rows, trades))] if trades else np.zeros((rows, 0))
        paths = compound_paths(drawn)
        boot.append(paths[:, -1])
        fan.append(paths[:, marks])
    drawdowns, shuffled, boot = (np.concatenate(x) for x in (drawdowns, shuffled, boot))
    bands = np.percentile(np.vstack(fan), (5.0, 50.0, 95.0), axis=0)

    def percentiles(x):
        return [float(v) * 100.0 for v in np.percentile(x, (5.0, 50.0, 95.0))]

    return {
        "mc_return_pct": percentiles(boot - 1.0),
        "mc_drawdown_pct": percentiles(drawdowns),
        "ruin_probability": float(np.count_nonzero(drawdowns >= ruin_drawdown - 1e-12) / resamples),
        "shuffle_return_pct": percentiles(shuffled - 1.0),
        "final_return_pct": (float(np.prod(1.0 + values)) - 1.0) * 100.0,
        "fan": {"trade": marks.tolist(), "p5": bands[0].tolist(), "p50": bands[1].tolist(), "p95": bands[2].tolist()},
        "resamples": resamples,
        "trades": trades,
        "seed": seed,
    }


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflowing case's inf / inf
@pytest.mark.parametrize("trades", [0, 1, 2, 7, 99, 100, 101, 400, 3000])
@pytest.mark.parametrize("resamples", [1, 10, 1000])
def test_monte_carlo_equals_the_plain_reference(trades, resamples):
    rng = np.random.default_rng(trades * 7 + resamples)
    cases = [rng.normal(0.001, 0.05, trades).clip(-1.0, None), np.full(trades, 1e300)]  # 1e300: paths overflow to inf
    if trades > 2:
        cases.append(np.r_[rng.normal(0.0, 0.01, trades - 1), -1.0])  # a total loss: the path ends at 0
    for seed, values in enumerate(cases):
        expected = _monte_carlo_reference(values, resamples, seed, 0.3)
        # repr: equal bit for bit, NaN included (a path that overflows has inf / inf drawdowns)
        assert repr(monte_carlo(values, resamples, seed, 0.3)) == repr(expected)


def test_subset_sums_hold_every_subset():
    values = np.random.default_rng(4).normal(size=(6, 9))
    sums = _subset_sums(values)
    assert sums.shape == (64, 9) and not sums[0].any()
    for m in range(64):
        rows = [i for i in range(6) if m >> i & 1]
        assert sums[m] == pytest.approx(values[rows].sum(axis=0), rel=1e-12, abs=1e-12)
        if len(rows) == 1:
            assert (sums[m] == values[rows[0]]).all()  # one row: itself, exactly
    assert (_subset_sums(values[:, :1]) == sums[:, :1]).all()  # a column is summed alone (one window's counts)


def _cscv_whole(parts, copies, blocks):
    h = blocks // 2
    first = [_subset_sums(p[:h]) for p in parts]
    second = [_subset_sums(p[h:]) for p in parts]
    return _cscv(*first, *second, *_split_masks(blocks), copies, TIE_TOLERANCE)


@pytest.mark.parametrize("trial", range(24))
def test_chunked_cscv_equals_the_whole_tables(trial):
    """The chunked walk (bounded memory) selects, ties and ranks as the whole tables do, bit for bit."""
    rng = np.random.default_rng(trial)
    blocks = int(rng.choice([2, 4, 8, 16]))
    candidates = int(rng.integers(2, 50))
    returns = rng.normal(0.0, 0.01, size=(blocks * int(rng.integers(3, 10)), candidates))
    if trial % 3 == 0:  # exact ties: repeated and flat candidates
        returns[:, 1::3] = returns[:, [0]]
        returns[:, 2::5] = 0.0
    elif trial % 3 == 1:
        returns = np.round(returns, 3)  # coarse returns: ties within the tolerance
    sums, squares, counts = block_sums(returns, blocks)
    counts = counts.astype(np.float64)
    if trial % 4 == 2:  # per-candidate windows
        counts = counts + (np.arange(candidates) % 2)
    keep, copies = distinct_columns(sums, squares, counts)
    if trial % 2:  # every column, ties included
        keep, copies = np.arange(candidates), np.ones(candidates, np.int64)
    counts = counts[:, :1] if (counts == counts[:, :1]).all() else counts[:, keep]
    parts = tuple(np.ascontiguousarray(p) for p in (sums[:, keep], squares[:, keep], counts))
    whole = _cscv_whole(parts, copies, blocks)
    for chunk in (1, 3, 7, len(keep)):
        chunked = _cscv_chunked(parts, copies, blocks, chunk)
        assert all(np.array_equal(a, b) for a, b in zip(whole, chunked, strict=True)), chunk


def test_pbo_of_many_candidates_equals_the_whole_tables():
    """Past `TABLE_BYTES` of subset tables (8,192 distinct candidates at 16 blocks), where
    `pbo_from_blocks` takes the candidates in chunks, its figures are the whole tables'."""
    rng = np.random.default_rng(9)
    sums = rng.normal(0.0, 0.05, size=(16, 9000))
    squares = sums**2 / 300 + rng.random((16, 9000)) * 1e-3
    counts = np.full(16, 300)
    found = pbo_from_blocks(sums, squares, counts)
    omega, is_sharpe, oos_sharpe, chosen = _cscv_whole((sums, squares, np.full((16, 1), 300.0)),
                                                       np.ones(9000, np.int64), 16)  # fmt: skip
    assert TABLE_BYTES < 9000 * 4 * 256 * 8  # the chunked walk's case
    assert found["logits"] == np.log(omega / (1.0 - omega)).tolist()
    assert found["is_sharpe"] == is_sharpe.tolist() and found["oos_sharpe"] == oos_sharpe.tolist()
    assert found["selected"] == chosen.tolist()
