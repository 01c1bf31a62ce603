"""Keeping numba's on-disk cache of a compiled caller in step with its helpers' modules.

numba keys a cached function on its own source file only: a compiled caller
(`optimizer.one_pass.run_pass`) keeps the code of the helpers from other modules
it was compiled with, and once they change it runs their old code, or crashes
when their types changed. `drop_stale_cache` stamps the caller's cache with a
hash of those modules' sources and deletes its compiled code when they change.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)


def drop_stale_cache(caller: Path, helpers: Sequence[ModuleType], cache_dir: Path | None = None) -> bool:
    """Delete the compiled code of the module at ``caller`` from numba's cache
    (``__pycache__`` beside it, or ``cache_dir``) when one of the ``helpers``
    modules has changed since the stamp was written; returns whether it deleted
    anything. Call it when the caller's module is imported, before its first call."""
    cache_dir = cache_dir or caller.parent / "__pycache__"
    digest = hashlib.sha256()
    for module in helpers:
        digest.update(Path(module.__file__).read_bytes())
    stamp = cache_dir / f"{caller.stem}.helpers-sha256"
    try:
        if stamp.read_text() == digest.hexdigest():
            return False
    except OSError:
        pass
    stale = [*cache_dir.glob(f"{caller.stem}.*.nbi"), *cache_dir.glob(f"{caller.stem}.*.nbc")]
    for path in stale:
        path.unlink(missing_ok=True)
    try:
        cache_dir.mkdir(exist_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:  # a read-only installation: numba caches elsewhere or not at all
        log.debug("cannot write %s", stamp)
    return bool(stale)
