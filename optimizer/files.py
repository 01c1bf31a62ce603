"""Files the command line reads and writes: the data file a configuration names,
JSON documents in, JSON results out (atomically)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from optimizer.config import RunConfig
from optimizer.errors import ConfigError, InputError


def data_path(config: RunConfig, config_path: str, override: str | None) -> Path:
    """The data file: ``--data`` as given, else ``data.path`` relative to the
    configuration file's folder."""
    if override:
        return Path(override)
    if config.data.path is None:
        raise ConfigError("data.path: is required on the command line (or pass --data); data.dataset is for the API")
    path = Path(config.data.path).expanduser()
    return path if path.is_absolute() else Path(config_path).resolve().parent / path


def read_json(path: str, what: str) -> Any:
    """A JSON document from a file, as `ConfigError` naming the file when unreadable."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: no such {what} file")
    try:
        return json.loads(file.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file.name}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file.name}: not UTF-8 text") from exc


def write_json(path: str | Path, document: Any) -> None:
    """Write JSON atomically: to a temporary file beside ``path``, then rename."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, allow_nan=False)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
