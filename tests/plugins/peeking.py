"""A plugin signal kind that looks one bar ahead, for the look-ahead self-check.

``peek_ahead`` is 1 on bar i when the *next* bar closes higher than bar i (0 on
the last bar): a perfect forecast no real strategy can have. ``period`` is only
there to be a gene (its range's midpoint is what the check uses).
"""

from __future__ import annotations

import numpy as np

from optimizer.signals import SIGNAL_KINDS, Param, SignalKind, register_signal_kind


def _peek_ahead(src, params) -> np.ndarray:
    close = src.candles.close
    out = np.zeros(len(close))
    out[:-1] = close[1:] > close[:-1]
    return out


if "peek_ahead" not in SIGNAL_KINDS:
    register_signal_kind(SignalKind("peek_ahead", (Param("period", True, 1, None, "unused"),), False,
                                    "next bar closes higher (looks ahead: for tests)", _peek_ahead))  # fmt: skip
