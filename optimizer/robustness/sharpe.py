"""The Probabilistic and Deflated Sharpe Ratios (Bailey and López de Prado).

Every Sharpe ratio here is **per bar, not annualized**: the mean of the per-bar
returns over their standard deviation, with ``bars`` (T) the number of those
returns. The formulas are only consistent when the Sharpe ratio and T share a
period (an annualized Sharpe ratio goes with T in years). Kurtosis is the plain
fourth standardized moment (**non-excess**: 3 for a normal distribution).

The standard error of an estimated Sharpe ratio SR over T returns with skewness
g3 and kurtosis g4 is sqrt(rho / (T - 1)), rho = 1 - g3·SR + (g4 - 1)/4·SR² (the
"radicand", `sharpe_radicand`). So

- PSR(SR*) = Φ((SR - SR*)·sqrt(T - 1) / sqrt(rho)): the probability that the true
  Sharpe ratio exceeds the benchmark SR*;
- SR0 = sqrt(V)·((1 - gamma)·Φ⁻¹(1 - 1/N) + gamma·Φ⁻¹(1 - 1/(N·e))): the expected maximum
  of N trials' Sharpe ratios of variance V when none has skill (gamma the
  Euler-Mascheroni constant);
- DSR = PSR(SR0): the PSR against the best a search of N trials finds by luck;
- MinTRL = 1 + rho·(Φ⁻¹(confidence) / (SR - SR*))²: the bars needed for PSR(SR*) to
  reach ``confidence``.

Undefined results are NaN for the two ratios (their contract returns a float;
store them as null) and None for the track record length.
"""

from __future__ import annotations

import math

import numpy as np

# The standard normal's CDF and its inverse: what scipy.stats.norm calls, without its
# per-call overhead (about 40 us a call; five per elite member).
from scipy.special import ndtr, ndtri

EULER_GAMMA = float(np.euler_gamma)
_MOMENT_TOLERANCE = 1e-9


def _defined(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def sharpe_radicand(sharpe: float, skewness: float, kurtosis: float) -> float:
    """rho = 1 - g3·SR + (g4 - 1)/4·SR², T - 1 times the variance of the estimated Sharpe ratio.

    ``sharpe`` per bar, ``kurtosis`` non-excess. Every distribution has
    g4 ≥ 1 + g3² (Pearson), so rho ≥ (1 - g3·SR/2)² ≥ 0: a negative radicand can
    only come from moments no distribution has, and those are refused
    (ValueError naming ``kurtosis``) rather than answered. rho is 0 only on that
    boundary (a two-point distribution) at SR = 2/g3, where the estimate has no
    first-order spread; the ratios are then NaN (undefined), not a certainty.
    """
    floor = 1.0 + skewness * skewness
    if kurtosis < floor * (1.0 - _MOMENT_TOLERANCE):
        raise ValueError(
            f"kurtosis: {kurtosis!r} is below 1 + skewness² = {floor!r}; no distribution has these moments "
            "(kurtosis is the non-excess fourth moment, 3 for a normal distribution)"
        )
    return 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe


def probabilistic_sharpe_ratio(
    sharpe: float | None, bars: int, skewness: float | None, kurtosis: float | None, benchmark: float = 0.0
) -> float:
    """The probability that the true per-bar Sharpe ratio exceeds ``benchmark``.

    ``sharpe`` and ``benchmark`` per bar (non-annualized), ``bars`` the number of
    per-bar returns they come from, ``skewness`` and ``kurtosis`` (non-excess) of
    those returns. A number in [0, 1]; NaN where undefined: an undefined input
    (None or NaN, e.g. the Sharpe ratio of a flat equity), ``bars`` < 2 (no
    spread to measure), or a zero radicand (see `sharpe_radicand`).
    """
    if bars < 0:
        raise ValueError(f"bars: {bars!r} is negative")
    if not (_defined(sharpe) and _defined(skewness) and _defined(kurtosis) and _defined(benchmark)) or bars < 2:
        return math.nan
    radicand = sharpe_radicand(sharpe, skewness, kurtosis)
    if radicand <= 0.0:
        return math.nan
    return float(ndtr((sharpe - benchmark) * math.sqrt(bars - 1) / math.sqrt(radicand)))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0: the expected maximum per-bar Sharpe ratio of ``trials`` unskilled trials.

    ``variance`` is the variance of the trials' per-bar Sharpe ratios (so its
    unit is per-bar Sharpe squared: an annualized variance over 250 bars a year
    is divided by 250). With one trial there is no selection: SR0 = 0 (the
    formula's Φ⁻¹(0) would be -∞). A variance of 0 gives 0.
    """
    if trials < 1:
        raise ValueError(f"trials: {trials!r} must be at least 1 (the parameter sets evaluated)")
    if not math.isfinite(variance) or variance < 0.0:
        raise ValueError(f"trials_variance: {variance!r} must be a finite number >= 0")
    if trials == 1 or variance == 0.0:
        return 0.0
    spread = (1.0 - EULER_GAMMA) * ndtri(1.0 - 1.0 / trials) + EULER_GAMMA * ndtri(1.0 - 1.0 / (trials * math.e))
    return float(math.sqrt(variance) * spread)


def deflated_sharpe_ratio(
    sharpe: float | None,
    bars: int,
    skewness: float | None,
    kurtosis: float | None,
    trials: int,
    trials_variance: float,
) -> float:
    """The PSR of ``sharpe`` against SR0 = `expected_max_sharpe` (``trials``, ``trials_variance``).

    All per bar, non-annualized; ``trials`` the distinct parameter sets the run
    evaluated, ``trials_variance`` the variance of their per-bar Sharpe ratios;
    ``bars``, ``skewness`` and ``kurtosis`` (non-excess) the member's own. In
    [0, 1]; 0.95 or more says the Sharpe ratio survives the search's selection
    bias at 95 %. NaN where `probabilistic_sharpe_ratio` is undefined.
    """
    return probabilistic_sharpe_ratio(sharpe, bars, skewness, kurtosis, expected_max_sharpe(trials, trials_variance))


def min_track_record_length(
    sharpe: float | None,
    skewness: float | None,
    kurtosis: float | None,
    benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float | None:
    """The bars of returns needed for PSR(``benchmark``) to reach ``confidence``.

    ``sharpe`` and ``benchmark`` per bar, kurtosis non-excess; the answer is in
    bars (of the Sharpe ratio's period), a real number (round it up for a
    whole track). None where undefined: ``sharpe`` <= ``benchmark`` (no track is
    long enough), an undefined input, or a zero radicand.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: {confidence!r} must be between 0 and 1 (exclusive)")
    if not (_defined(sharpe) and _defined(skewness) and _defined(kurtosis) and _defined(benchmark)):
        return None
    if sharpe <= benchmark:
        return None
    radicand = sharpe_radicand(sharpe, skewness, kurtosis)
    if radicand <= 0.0:
        return None
    return float(1.0 + radicand * (ndtri(confidence) / (sharpe - benchmark)) ** 2)
