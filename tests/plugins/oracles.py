"""Test-only signal kinds for the robustness statistics' end-to-end test.

* ``coin_flip``: a seeded coin flip per bar (``seed`` is the gene): no skill at
  all, so a search over seeds is pure selection bias.
* ``oracle_up``: 1 on bar i when i is a multiple of ``period`` and the next bar
  closes higher; ``oracle_down``: 1 when the next bar closes lower. They look
  ahead on purpose: the look-ahead self-check (`optimizer.lookahead`) refuses
  them, so the test builds its `Optimizer` directly (as `prepare_run` does, less
  the check) rather than through `prepare_run`.
"""

from __future__ import annotations

import numpy as np

from optimizer.signals import SIGNAL_KINDS, Param, SignalKind, register_signal_kind


def _coin_flip(src, params) -> np.ndarray:
    n = len(src.candles.close)
    return (np.random.default_rng(int(params["seed"])).random(n) < 0.5).astype(np.float64)


def _oracle_up(src, params) -> np.ndarray:
    close = src.candles.close
    out = np.zeros(len(close))
    out[:-1] = close[1:] > close[:-1]
    out[np.arange(len(close)) % int(params["period"]) != 0] = 0.0
    return out


def _oracle_down(src, params) -> np.ndarray:
    close = src.candles.close
    out = np.zeros(len(close))
    out[:-1] = close[1:] < close[:-1]
    return out


_KINDS = (
    ("coin_flip", "seed", "a seeded coin flip (for tests)", _coin_flip),
    ("oracle_up", "period", "every period-th bar, the next bar closes higher (looks ahead: for tests)", _oracle_up),
    ("oracle_down", "period", "the next bar closes lower (looks ahead: for tests)", _oracle_down),
)
for _name, _param, _text, _fn in _KINDS:
    if _name not in SIGNAL_KINDS:
        register_signal_kind(SignalKind(_name, (Param(_param, True, 1, None, "a gene"),), False, _text, _fn))
