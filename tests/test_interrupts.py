"""A Ctrl-C that Python drops (raised inside a finalizer the garbage collector
runs) is not lost: `raise_if_interrupted` raises it at the next check, under
`noting_ctrl_c` (as ``python -m optimizer`` runs its commands). Each case runs in a
fresh interpreter: pytest itself catches what finalizers raise."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

SCRIPT = textwrap.dedent("""
    import gc, os, signal, sys
    from optimizer.interrupts import noting_ctrl_c, raise_if_interrupted

    class InterruptedWhileCollected:
        # sends this process SIGINT from its finalizer: the handler's exception is
        # raised inside __del__, where Python prints it as "ignored" and drops it
        def __init__(self):
            self.cycle = self  # collected by the cyclic collector, not at once
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(1000))  # bytecodes after the signal: its handler runs here

    def drop_a_ctrl_c():
        InterruptedWhileCollected()
        gc.collect()
        print("went on", flush=True)  # Python dropped it

    def check():
        try:
            raise_if_interrupted()
        except KeyboardInterrupt:
            print("raised", flush=True)

    if sys.argv[1] == "noted":
        with noting_ctrl_c():
            drop_a_ctrl_c()
            check()
            check()  # once: it was raised
    else:
        drop_a_ctrl_c()
        check()
""")


def _run(mode: str) -> tuple[list[str], str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(), done.stderr


def test_a_ctrl_c_dropped_in_a_finalizer_is_raised_at_the_next_check():
    out, err = _run("noted")
    assert "KeyboardInterrupt" in err and "ignored" in err, err  # Python dropped it...
    assert out == ["went", "on", "raised"], out  # ...and the next check raised it, once


def test_without_the_handler_python_loses_it():
    out, err = _run("plain")
    assert "KeyboardInterrupt" in err and "ignored" in err, err
    assert out == ["went", "on"], out  # nothing noted: the interrupt is gone (why the handler exists)


def test_the_handler_is_restored_after():
    from optimizer.interrupts import noting_ctrl_c

    before = signal.getsignal(signal.SIGINT)
    with noting_ctrl_c():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
