"""Ctrl-C that is never lost.

Python raises `KeyboardInterrupt` in whatever the main thread runs when SIGINT
arrives. When that is a finalizer (a ``__del__`` or weakref callback the garbage
collector calls while a worker's reply is unpickled) the exception is printed as
"ignored" and dropped; a C extension that clears errors can drop it too. The run
then goes on to its end as if the user had not asked it to stop.

`noting_ctrl_c` installs a SIGINT handler that raises as Python's does and also
notes the interrupt; `raise_if_interrupted`, called where a long computation comes
back to us (every round of a map's replies, every generation), raises a noted
interrupt that was dropped on the way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_noted = threading.Event()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _noted.set()
    raise KeyboardInterrupt


@contextmanager
def noting_ctrl_c() -> Iterator[None]:
    """Within: Ctrl-C raises `KeyboardInterrupt` and is noted for `raise_if_interrupted`.
    Only the main thread can install it; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _noted.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _noted.clear()


def raise_if_interrupted() -> None:
    """Raise `KeyboardInterrupt` once for a Ctrl-C that was noted (see `noting_ctrl_c`)."""
    if _noted.is_set():
        _noted.clear()
        raise KeyboardInterrupt
