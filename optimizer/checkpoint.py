"""Checkpoints: a run's whole state after a generation, as one JSON file.

JSON, not pickle: loading a checkpoint runs no code, whatever the file holds.
Floats round-trip exactly through JSON, so a resumed run continues bit for bit.
The file is written atomically (a temporary file in the same folder, flushed
and renamed), so a run killed at any moment leaves the previous checkpoint or
the new one, never a torn file. A checkpoint is loaded only from the run's own
folder and only for the same configuration and data (its fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from optimizer.config import RunConfig
from optimizer.errors import ConfigError

CHECKPOINT = "checkpoint.json"
VERSION = 1


def run_fingerprint(config: RunConfig, data_fingerprint: str) -> str:
    """SHA-256 of the normalized configuration and the data: a checkpoint's identity.

    The number of workers is left out: it never changes a result.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps({k: v for k, v in config.raw.items() if k != "workers"}, sort_keys=True).encode())
    digest.update(data_fingerprint.encode())
    return digest.hexdigest()


def save_checkpoint(folder: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically to ``folder/checkpoint.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / CHECKPOINT
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"version": VERSION, **state}, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_checkpoint(folder: Path, fingerprint: str) -> dict[str, Any]:
    """The state in ``folder/checkpoint.json``; `ConfigError` if there is none or it
    belongs to another configuration or dataset."""
    path = Path(folder) / CHECKPOINT
    if not path.is_file():
        raise ConfigError(f"resume: no checkpoint in {folder}")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"resume: {path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise ConfigError(f"resume: {path} is not a checkpoint of this version")
    if state.get("fingerprint") != fingerprint:
        raise ConfigError(f"resume: {path} belongs to another configuration or dataset")
    return state


def has_checkpoint(folder: str | Path) -> bool:
    """Whether ``folder`` holds a checkpoint."""
    return (Path(folder) / CHECKPOINT).is_file()
