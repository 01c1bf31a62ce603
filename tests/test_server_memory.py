"""The serving process's threads share at most `server.MALLOC_ARENAS` malloc
arenas (`server.limit_malloc_arenas`): counted by glibc itself (``malloc_stats``)
in a real process whose threads all allocate at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from visualization_apps.server import MALLOC_ARENAS

ROOT = Path(__file__).resolve().parent.parent
THREADS = 12
PROGRAM = f"""
import ctypes, sys, threading
from visualization_apps.server import limit_malloc_arenas
limited = limit_malloc_arenas() if sys.argv[1] == "limit" else None
barrier = threading.Barrier({THREADS} + 1)
def work():
    kept = [bytearray(20_000) for _ in range(50)]  # beyond pymalloc: glibc's malloc, in this thread's arena
    barrier.wait()
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range({THREADS})]
for t in threads: t.start()
barrier.wait()
print(limited, flush=True)
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" block per arena, on stderr
barrier.wait()
for t in threads: t.join()
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas")


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=ROOT, env={**environ, **env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout.strip(), sum(line.startswith("Arena ") for line in done.stderr.splitlines())


def test_the_serving_process_shares_few_malloc_arenas_between_its_threads():
    unlimited = _arenas("plain")[1]
    limited, arenas = _arenas("limit")
    assert unlimited > MALLOC_ARENAS  # glibc's default: an arena per thread, up to eight per core
    assert limited == "True" and 1 <= arenas <= MALLOC_ARENAS, (limited, arenas)


def test_malloc_arena_max_in_the_environment_is_left_to_rule():
    said, arenas = _arenas("limit", MALLOC_ARENA_MAX="3")
    assert said == "False" and arenas <= 3
