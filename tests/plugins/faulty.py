"""A plugin of misbehaving signal kinds, for fault-tolerance tests.

Each kind's value is always 0 (give it weight 0 and it changes no trade); what
it does besides depends on its ``period`` parameter and on files in the folder
named by ``FAULTY_DIR``:

* ``die_once``: with period == ``FAULTY_PERIOD``, the process kills itself
  (SIGKILL) the first time only (a marker file remembers).
* ``die_always``: with period == ``FAULTY_PERIOD``, the process kills itself.
* ``raises``: with period == ``FAULTY_PERIOD``, raises ValueError.
* ``interrupted``: with period == ``FAULTY_PERIOD``, raises what Python raises when
  Ctrl-C arrives while numba's dispatcher runs: ``SystemError`` caused by the
  `KeyboardInterrupt` (the dispatcher returns with the interrupt set).
* ``slow``: sleeps ``FAULTY_SLEEP`` seconds (default 0.02) per evaluation.

With ``FAULTY_BROKEN_IN_WORKERS`` set, importing this module fails in any child
process (a plugin that works where the run starts but not where it evaluates).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np

from optimizer.signals import SIGNAL_KINDS, Param, SignalKind, register_signal_kind

if os.environ.get("FAULTY_BROKEN_IN_WORKERS") and multiprocessing.parent_process() is not None:
    raise ImportError("this plugin is broken in worker processes")

PERIOD = Param("period", True, 1, None, "the trigger parameter")


def _hit(params) -> bool:
    return int(params["period"]) == int(os.environ.get("FAULTY_PERIOD", "-1"))


def _zeros(src) -> np.ndarray:
    return np.zeros(len(src.candles))


def _die_once(src, params):
    marker = Path(os.environ["FAULTY_DIR"]) / "died"
    if _hit(params) and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return _zeros(src)


def _die_always(src, params):
    if _hit(params):
        os.kill(os.getpid(), signal.SIGKILL)
    return _zeros(src)


def _raises(src, params):
    if _hit(params):
        raise ValueError(f"period {params['period']} is cursed")
    return _zeros(src)


def _interrupted(src, params):
    if _hit(params):
        raise SystemError("CPUDispatcher(<function _simulate>) returned a result with an exception set") from (
            KeyboardInterrupt()
        )
    return _zeros(src)


def _slow(src, params):
    time.sleep(float(os.environ.get("FAULTY_SLEEP", "0.02")))
    return _zeros(src)


_KINDS = (("die_once", _die_once), ("die_always", _die_always), ("raises", _raises), ("interrupted", _interrupted),
          ("slow", _slow))  # fmt: skip
for _name, _compute in _KINDS:
    if _name not in SIGNAL_KINDS:
        register_signal_kind(SignalKind(_name, (PERIOD,), False, "test plugin", _compute))
