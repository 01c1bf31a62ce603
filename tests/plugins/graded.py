"""A test-only signal kind whose values lie between 0 and 1, in a plugin's own dtype.

* ``close_rank``: where the close sits in the range of the ``period`` bars up to
  and including it (0 at their lowest low, 1 at their highest high), as float32,
  NaN until ``period`` bars exist. The engine keeps a plugin's values as float64
  (a built-in kind's are 0/1 bytes), so a rule that mixes the two, and a
  fractional threshold, reach the kernels' float path (`tests/test_engine_equality.py`).
"""

from __future__ import annotations

import numpy as np

from optimizer.signals import SIGNAL_KINDS, Param, SignalKind, register_signal_kind


def _close_rank(src, params) -> np.ndarray:
    c = src.candles
    period = int(params["period"])
    out = np.full(len(c.close), np.nan, np.float32)
    for i in range(period - 1, len(c.close)):
        low, high = c.low[i - period + 1 : i + 1].min(), c.high[i - period + 1 : i + 1].max()
        out[i] = (c.close[i] - low) / (high - low) if high > low else 0.5
    return out


if "close_rank" not in SIGNAL_KINDS:
    register_signal_kind(SignalKind("close_rank", (Param("period", True, 1, None, "look-back in bars"),), False,
                                    "the close's place in its period's range (for tests)", _close_rank))  # fmt: skip
