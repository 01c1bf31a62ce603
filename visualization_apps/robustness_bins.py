"""The run's per-split robustness arrays as the run page's two charts draw them:
binned once on the server (``GET /api/runs/<id>/robustness?bins=N``).

The arrays hold one value per CSCV split (12,870 each with 16 blocks: 0.8 MB of
JSON); the page shows them as a histogram of the logits and a density of each
split's selection (in-sample against out-of-sample Sharpe), for which a few
kilobytes of counts say the same. Nothing is computed here but counts: the
statistics are the run's, as stored.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import numpy as np

from visualization_apps.summaries import RUN_ROBUSTNESS_ARRAYS

DEFAULT_BINS = 40
MAX_BINS = 200


def _defined(value: float | None) -> bool:
    """A stored value that counts: not null (an undefined statistic), finite."""
    return value is not None and math.isfinite(value)


def logit_histogram(logits: list[float | None], bins: int) -> dict[str, Any] | None:
    """The finite logits in equal bins of which one edge is 0 (no bin straddles the
    PBO's line λ = 0): ``edges`` (one more than the bins; bin k holds [edges[k],
    edges[k + 1])), ``below`` the count of λ ≤ 0 in each bin, ``above`` of λ > 0.
    None without a finite logit."""
    values = np.array([v for v in logits if _defined(v)], dtype=np.float64)
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    size = max((high - low) / bins, 1e-9)
    start = math.floor(low / size)  # edges at multiples of `size`, so that 0 is one
    if start * size > low:  # rounding
        start -= 1
    count = math.floor(high / size) - start + 1
    if (start + count) * size <= high:
        count += 1
    edges = (start + np.arange(count + 1)) * size
    index = np.searchsorted(edges, values, side="right") - 1  # bin k: [edges[k], edges[k + 1])
    return {
        "edges": edges.tolist(),
        "below": np.bincount(index[values <= 0], minlength=count).tolist(),
        "above": np.bincount(index[values > 0], minlength=count).tolist(),
    }


def selection_density(is_sharpe: list[float | None], oos_sharpe: list[float | None], bins: int) -> dict[str, Any] | None:
    """Each split's selection (its in-sample and out-of-sample Sharpe, both defined)
    counted on a ``bins`` x ``bins`` grid over their ranges: ``is_edges``,
    ``oos_edges`` and ``counts`` (a row per out-of-sample bin, a column per
    in-sample bin; the last bin of each axis holds its right edge). None without a pair."""
    pairs = np.array([(x, y) for x, y in zip(is_sharpe, oos_sharpe, strict=True)
                      if _defined(x) and _defined(y)],
                     dtype=np.float64).reshape(-1, 2)  # fmt: skip
    if not len(pairs):
        return None
    counts, is_edges, oos_edges = np.histogram2d(pairs[:, 0], pairs[:, 1], bins=bins)
    return {"is_edges": is_edges.tolist(), "oos_edges": oos_edges.tolist(),
            "counts": counts.T.astype(np.int64).tolist()}  # fmt: skip


def binned(robustness: dict[str, Any], bins: int) -> dict[str, Any]:
    """``robustness`` (as stored) without its per-split arrays, with
    ``logit_histogram``, ``selection_density`` and ``is_sharpe_range`` ([min, max]
    of the defined in-sample Sharpe ratios: where the degradation line is drawn)."""
    out = {k: v for k, v in robustness.items() if k not in RUN_ROBUSTNESS_ARRAYS}
    logits = robustness.get("logits") or []
    is_sharpe = robustness.get("is_sharpe") or []
    oos_sharpe = robustness.get("oos_sharpe") or []
    defined = [v for v in is_sharpe if _defined(v)]
    out["logit_histogram"] = logit_histogram(logits, bins)
    out["selection_density"] = selection_density(is_sharpe, oos_sharpe, bins) if len(is_sharpe) == len(oos_sharpe) else None
    out["is_sharpe_range"] = [min(defined), max(defined)] if defined else None
    out["bins"] = bins
    return out


@functools.lru_cache(maxsize=16)
def binned_json(stored: str, bins: int) -> str:
    """`binned` of the stored robustness JSON text, as JSON (kept: a run's robustness
    never changes once written, and each page load of a finished run asks for it)."""
    robustness = json.loads(stored)
    return "null" if robustness is None else json.dumps(binned(robustness, bins))
